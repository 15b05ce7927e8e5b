package stix

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// This file decides what a parsed pattern means to proxywatch.
//
// An observation expression "[...]" is put in disjunctive normal form; each
// conjunction of comparisons then gives one outcome:
//
//   - an address conjunction: exactly one of ipv4-addr:value,
//     ipv6-addr:value, domain-name:value, network-traffic:dst_ref.value or
//     network-traffic:src_ref.value compared with "=", "IN (...)" or
//     "ISSUBSET" (a CIDR), optionally ANDed with the matching
//     "network-traffic:dst_ref.type" / "src_ref.type" (which must agree with
//     the value), the port on the same end ("dst_port" with "dst_ref",
//     "src_port" with "src_ref"), kept as evidence, and
//     "network-traffic:protocols[*]", kept as the protocol. It gives one
//     atom per value.
//   - a conjunction with no address path at all: excluded as "hash" when
//     every path is a hash, else as "other-type".
//   - anything else, such as an address ANDed with a file hash, a URL or a
//     second address, a NOT, or another operator: refused as unsupported,
//     never reduced to a bare address.
//
// Observation expressions joined by OR are taken one by one, as each alone
// would match. AND and FOLLOWEDBY between observations, and the REPEATS
// and START/STOP qualifiers, ask for more than one sighting or a time
// window and are refused as unsupported. WITHIN is accepted on a single
// observation, where it is always satisfied.

// maxDisjuncts bounds the normal form of one observation.
const maxDisjuncts = 1024

// An atom is one indicator a pattern yields.
type atom struct {
	subject proxywatch.Subject
	port    uint16
	proto   string
}

// An outcome is what one part of a pattern gives: atoms, or a refusal or
// exclusion.
type outcome struct {
	atoms    []atom
	reason   string
	excluded bool
	err      error
	text     string
}

// evalPattern returns the outcomes of the pattern e.
func evalPattern(e obsExpr) []outcome {
	switch o := e.(type) {
	case *obsOp:
		if o.op == "OR" {
			var out []outcome
			for _, it := range o.items {
				out = append(out, evalPattern(it)...)
			}
			return out
		}
		return []outcome{nonAtomic(e, fmt.Errorf("%s between observations", o.op))}
	case *obsQualified:
		for _, q := range o.quals {
			if q.kind != "WITHIN" {
				return []outcome{nonAtomic(e, fmt.Errorf("qualifier %s", q.kind))}
			}
		}
		if o.inner != nil {
			if len(o.quals) > 0 {
				if _, multi := o.inner.(*obsOp); multi {
					return []outcome{nonAtomic(e, errors.New("qualifier on several observations"))}
				}
			}
			return evalPattern(o.inner)
		}
		return evalComparison(o.cmp)
	}
	return []outcome{{reason: intel.ReasonUnsupported, err: errors.New("unknown expression")}}
}

// nonAtomic is the outcome of a construct proxywatch does not evaluate:
// an exclusion when it names no address at all, else a refusal.
func nonAtomic(e obsExpr, why error) outcome {
	var paths []objectPath
	collectPaths(e, &paths)
	if out, ok := withoutAddress(paths, patternString(e)); ok {
		return out
	}
	return outcome{reason: intel.ReasonUnsupported, err: why, text: patternString(e)}
}

func collectPaths(e obsExpr, paths *[]objectPath) {
	switch o := e.(type) {
	case *obsOp:
		for _, it := range o.items {
			collectPaths(it, paths)
		}
	case *obsQualified:
		if o.inner != nil {
			collectPaths(o.inner, paths)
			return
		}
		collectCmpPaths(o.cmp, paths)
	}
}

func collectCmpPaths(c cmpExpr, paths *[]objectPath) {
	switch x := c.(type) {
	case *cmpOp:
		for _, it := range x.items {
			collectCmpPaths(it, paths)
		}
	case *test:
		*paths = append(*paths, x.path)
	}
}

// withoutAddress returns the exclusion for a set of paths that names no
// address, and false when some path does.
func withoutAddress(paths []objectPath, text string) (outcome, bool) {
	hashes := true
	for _, p := range paths {
		if pathRole(p) != roleOther {
			return outcome{}, false
		}
		if !isHashPath(p) {
			hashes = false
		}
	}
	reason := intel.ReasonOtherType
	if hashes && len(paths) > 0 {
		reason = intel.ReasonHash
	}
	return outcome{reason: reason, excluded: true, text: text}, true
}

func isHashPath(p objectPath) bool {
	for _, c := range p.parts {
		if c == "hashes" {
			return true
		}
	}
	return false
}

// evalComparison returns the outcomes of one "[...]".
func evalComparison(c cmpExpr) []outcome {
	conj, ok := dnf(c)
	if !ok {
		return []outcome{{reason: intel.ReasonUnsupported, err: fmt.Errorf("more than %d alternatives", maxDisjuncts)}}
	}
	out := make([]outcome, 0, len(conj))
	for _, tests := range conj {
		out = append(out, evalConjunction(tests))
	}
	return out
}

// dnf returns c as an OR of AND-groups of tests.
func dnf(c cmpExpr) ([][]*test, bool) {
	switch x := c.(type) {
	case *test:
		return [][]*test{{x}}, true
	case *cmpOp:
		if x.op == "OR" {
			var out [][]*test
			for _, it := range x.items {
				d, ok := dnf(it)
				if !ok || len(out)+len(d) > maxDisjuncts {
					return nil, false
				}
				out = append(out, d...)
			}
			return out, true
		}
		out := [][]*test{nil}
		for _, it := range x.items {
			d, ok := dnf(it)
			if !ok || len(out)*len(d) > maxDisjuncts {
				return nil, false
			}
			next := make([][]*test, 0, len(out)*len(d))
			for _, a := range out {
				for _, b := range d {
					g := make([]*test, 0, len(a)+len(b))
					next = append(next, append(append(g, a...), b...))
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// Path roles.
const (
	roleOther = iota
	roleAddr  // an address or domain value
	roleType  // network-traffic:*_ref.type
	rolePort  // network-traffic:*_port
	roleProto // network-traffic:protocols[*]
)

// pathRole says what a path means to proxywatch, and for network-traffic
// paths which end ("dst" or "src") it is about.
func pathRole(p objectPath) int {
	role, _ := pathRoleEnd(p)
	return role
}

func pathRoleEnd(p objectPath) (role int, end string) {
	switch p.key() {
	case "ipv4-addr:value", "ipv6-addr:value", "domain-name:value":
		return roleAddr, ""
	case "network-traffic:dst_ref.value":
		return roleAddr, "dst"
	case "network-traffic:src_ref.value":
		return roleAddr, "src"
	case "network-traffic:dst_ref.type":
		return roleType, "dst"
	case "network-traffic:src_ref.type":
		return roleType, "src"
	case "network-traffic:dst_port":
		return rolePort, "dst"
	case "network-traffic:src_port":
		return rolePort, "src"
	case "network-traffic:protocols[*]":
		return roleProto, ""
	}
	return roleOther, ""
}

// evalConjunction returns the outcome of tests joined by AND.
func evalConjunction(tests []*test) outcome {
	text := func() string { return conjString(tests) }
	paths := make([]objectPath, len(tests))
	for i, t := range tests {
		paths[i] = t.path
	}
	if out, ok := withoutAddress(paths, ""); ok {
		out.text = text()
		return out
	}
	unsupported := func(format string, args ...any) outcome {
		return outcome{reason: intel.ReasonUnsupported, err: fmt.Errorf(format, args...), text: text()}
	}
	var (
		addr     *test
		addrEnd  string
		refType  string
		typeEnd  string
		port     uint16
		portEnd  string
		proto    string
		objType  = tests[0].path.objType
		haveType bool
	)
	for _, t := range tests {
		if t.path.objType != objType {
			return unsupported("comparisons on %s and %s in one observation", objType, t.path.objType)
		}
		if t.not {
			return unsupported("NOT on %s", t.path)
		}
		role, end := pathRoleEnd(t.path)
		switch role {
		case roleOther:
			return unsupported("address ANDed with %s", t.path)
		case roleAddr:
			if addr != nil {
				return unsupported("two addresses ANDed")
			}
			addr, addrEnd = t, end
		case roleType:
			s, ok := stringEquals(t)
			if !ok || haveType {
				return unsupported("%s %s", t.path, t.op)
			}
			refType, typeEnd, haveType = s, end, true
		case rolePort:
			if t.op != "=" || t.values[0].kind != 'i' || port != 0 {
				return unsupported("%s %s", t.path, t.op)
			}
			n, err := strconv.Atoi(t.values[0].text)
			if err != nil || n < 1 || n > 65535 {
				return outcome{reason: intel.ReasonBadPort, err: fmt.Errorf("port %s", t.values[0].text), text: text()}
			}
			port, portEnd = uint16(n), end
		case roleProto:
			s, ok := stringEquals(t)
			if !ok || proto != "" {
				return unsupported("%s %s", t.path, t.op)
			}
			proto = strings.ToLower(s)
		}
	}
	if addr == nil {
		// Only ports, reference types or protocols: no subject to list.
		return outcome{reason: intel.ReasonOtherType, excluded: true, text: text()}
	}
	if haveType && typeEnd != addrEnd {
		return unsupported("%s_ref.type with %s_ref.value", typeEnd, addrEnd)
	}
	if port != 0 && portEnd != addrEnd {
		return unsupported("%s_port with %s_ref.value", portEnd, addrEnd)
	}
	values, err := addrValues(addr)
	if err != nil {
		return unsupported("%v", err)
	}
	var out outcome
	for _, v := range values {
		s, err := subjectOf(addr.path, v, refType)
		if err != nil {
			return outcome{reason: intel.ReasonBadAddress, err: err, text: text()}
		}
		out.atoms = append(out.atoms, atom{subject: s, port: port, proto: proto})
	}
	return out
}

// stringEquals returns the string t compares for equality with.
func stringEquals(t *test) (string, bool) {
	if t.op != "=" || t.values[0].kind != 's' {
		return "", false
	}
	return t.values[0].text, true
}

// addrValues returns the values an address test accepts.
func addrValues(t *test) ([]string, error) {
	switch t.op {
	case "=", "ISSUBSET":
		if t.values[0].kind != 's' {
			return nil, fmt.Errorf("%s compared with a non-string", t.path)
		}
		return []string{t.values[0].text}, nil
	case "IN":
		vs := make([]string, 0, len(t.values))
		for _, v := range t.values {
			if v.kind != 's' {
				return nil, fmt.Errorf("%s IN a non-string", t.path)
			}
			vs = append(vs, v.text)
		}
		return vs, nil
	}
	return nil, fmt.Errorf("%s %s", t.path, t.op)
}

// subjectOf parses v as the value of path, checking it against the
// declared reference type (which may be empty).
func subjectOf(path objectPath, v, refType string) (proxywatch.Subject, error) {
	want := path.objType
	if path.objType == "network-traffic" {
		want = refType
	}
	switch want {
	case "domain-name":
		if !proxywatch.ValidDomain(v) {
			return proxywatch.Subject{}, fmt.Errorf("domain %q: %w", v, proxywatch.ErrInvalid)
		}
		return proxywatch.DomainSubject(v), nil
	case "ipv4-addr", "ipv6-addr", "":
		p, err := intel.ParsePrefix(v)
		if err != nil {
			if want == "" && proxywatch.ValidDomain(v) {
				return proxywatch.DomainSubject(v), nil
			}
			return proxywatch.Subject{}, fmt.Errorf("address %q: %w", v, err)
		}
		if want == "ipv4-addr" && !p.Addr().Is4() || want == "ipv6-addr" && !p.Addr().Is6() {
			return proxywatch.Subject{}, fmt.Errorf("address %q is not an %s", v, want)
		}
		return proxywatch.PrefixSubject(p), nil
	}
	return proxywatch.Subject{}, fmt.Errorf("reference type %q", refType)
}

func conjString(tests []*test) string {
	var b strings.Builder
	for i, t := range tests {
		if i > 0 {
			b.WriteString(" AND ")
		}
		t.cmpString(&b)
	}
	return b.String()
}
