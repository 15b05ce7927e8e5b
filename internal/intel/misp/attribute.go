package misp

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// attribute queues the outcome of attribute a, record n. o is its object,
// or nil.
func (r *Reader) attribute(n int, section string, evTags []string, a *attribute, o *object) {
	typ := strings.ToLower(strings.TrimSpace(a.Type))
	value := strings.TrimSpace(a.Value)
	text := a.Type + " " + value
	exclude := func(reason string) {
		r.queue = append(r.queue, item{err: intel.NewExclusion(r.feed, n, reason, text)})
	}
	refuse := func(reason string, err error) {
		r.queue = append(r.queue, item{err: intel.NewParseError(r.feed, n, reason, text, err)})
	}
	switch {
	case bool(a.Deleted) || o != nil && bool(o.Deleted):
		exclude(intel.ReasonDeleted)
		return
	case isHashType(typ):
		exclude(intel.ReasonHash)
		return
	case !networkTypes[typ]:
		exclude(intel.ReasonOtherType)
		return
	case !bool(a.ToIDS) && !r.ignoreID:
		exclude(intel.ReasonNotIDS)
		return
	}
	base, err := r.base(n, section, evTags, a, o)
	if err != nil {
		refuse(intel.ReasonBadValue, err)
		return
	}
	subjects, port, reason, err := parseValue(typ, value)
	if err != nil {
		refuse(reason, err)
		return
	}
	for _, s := range subjects {
		ind := base
		ind.Subject, ind.Port = s, port
		ind.Tags = append([]string(nil), base.Tags...)
		r.queue = append(r.queue, item{ind: ind})
	}
}

// networkTypes are the attribute types that give indicators.
var networkTypes = map[string]bool{
	"ip-src": true, "ip-dst": true, "ip-src|port": true, "ip-dst|port": true,
	"domain": true, "hostname": true, "domain|ip": true, "hostname|port": true,
	"as": true,
}

// isHashType reports whether t is a file or content hash type, alone or
// paired with a file name ("filename|sha256").
func isHashType(t string) bool {
	for _, part := range strings.Split(t, "|") {
		switch {
		case strings.HasPrefix(part, "md5"), strings.HasPrefix(part, "sha"),
			part == "ssdeep", part == "imphash", part == "tlsh", part == "impfuzzy",
			part == "authentihash", part == "vhash", part == "pehash", part == "cdhash",
			strings.HasPrefix(part, "x509-fingerprint"), strings.HasPrefix(part, "ja3"),
			strings.HasSuffix(part, "hash"):
			return true
		}
	}
	return false
}

// parseValue returns the subjects and port of a network attribute, or the
// reason and error for a value that does not parse.
func parseValue(typ, value string) ([]proxywatch.Subject, uint16, string, error) {
	switch typ {
	case "ip-src", "ip-dst":
		p, err := intel.ParsePrefix(value)
		if err != nil {
			return nil, 0, intel.ReasonBadAddress, err
		}
		return []proxywatch.Subject{proxywatch.PrefixSubject(p)}, 0, "", nil
	case "ip-src|port", "ip-dst|port":
		addr, port, ok := cutLast(value)
		if !ok {
			return nil, 0, intel.ReasonSyntax, fmt.Errorf("%q: want address|port", value)
		}
		p, err := intel.ParsePrefix(addr)
		if err != nil {
			return nil, 0, intel.ReasonBadAddress, err
		}
		n, err := parsePort(port)
		if err != nil {
			return nil, 0, intel.ReasonBadPort, err
		}
		return []proxywatch.Subject{proxywatch.PrefixSubject(p)}, n, "", nil
	case "domain", "hostname":
		if !proxywatch.ValidDomain(value) {
			return nil, 0, intel.ReasonBadAddress, fmt.Errorf("domain %q: %w", value, proxywatch.ErrInvalid)
		}
		return []proxywatch.Subject{proxywatch.DomainSubject(value)}, 0, "", nil
	case "hostname|port":
		host, port, ok := cutLast(value)
		if !ok {
			return nil, 0, intel.ReasonSyntax, fmt.Errorf("%q: want hostname|port", value)
		}
		if !proxywatch.ValidDomain(host) {
			return nil, 0, intel.ReasonBadAddress, fmt.Errorf("domain %q: %w", host, proxywatch.ErrInvalid)
		}
		n, err := parsePort(port)
		if err != nil {
			return nil, 0, intel.ReasonBadPort, err
		}
		return []proxywatch.Subject{proxywatch.DomainSubject(host)}, n, "", nil
	case "domain|ip":
		host, addr, ok := strings.Cut(value, "|")
		if !ok {
			return nil, 0, intel.ReasonSyntax, fmt.Errorf("%q: want domain|ip", value)
		}
		if !proxywatch.ValidDomain(host) {
			return nil, 0, intel.ReasonBadAddress, fmt.Errorf("domain %q: %w", host, proxywatch.ErrInvalid)
		}
		p, err := intel.ParsePrefix(addr)
		if err != nil {
			return nil, 0, intel.ReasonBadAddress, err
		}
		return []proxywatch.Subject{proxywatch.DomainSubject(host), proxywatch.PrefixSubject(p)}, 0, "", nil
	case "as":
		s := strings.TrimPrefix(strings.ToUpper(value), "AS")
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return nil, 0, intel.ReasonBadAddress, fmt.Errorf("AS number %q: %w", value, proxywatch.ErrInvalid)
		}
		return []proxywatch.Subject{proxywatch.ASNSubject(uint32(n))}, 0, "", nil
	}
	return nil, 0, intel.ReasonOtherType, fmt.Errorf("type %q", typ)
}

// cutLast splits s at its last "|".
func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '|')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	return uint16(n), nil
}

// base returns the fields every indicator of attribute a shares.
func (r *Reader) base(n int, section string, evTags []string, a *attribute, o *object) (proxywatch.Indicator, error) {
	ind := proxywatch.Indicator{Source: proxywatch.Source{Feed: r.feed, Section: section, Line: n}}
	first, last := a.FirstSeen, a.LastSeen
	var objComment string
	if o != nil {
		if first == "" {
			first = o.FirstSeen
		}
		if last == "" {
			last = o.LastSeen
		}
		objComment = o.Comment
	}
	var err error
	if ind.FirstSeen, err = parseTime("first_seen", string(first)); err != nil {
		return ind, err
	}
	if ind.LastSeen, err = parseTime("last_seen", string(last)); err != nil {
		return ind, err
	}
	if ind.LastSeen.IsZero() && a.Timestamp != "" {
		if ind.LastSeen, err = parseTime("timestamp", string(a.Timestamp)); err != nil {
			return ind, err
		}
	}
	attrTags := tagNames(a.Tag)
	ind.Tags = append(attrTags, evTags...)
	for _, s := range append([]string{a.Comment, objComment}, attrTags...) {
		if k := intel.KindFromText(s); k != proxywatch.KindUnknown {
			ind.Kind = k
			break
		}
	}
	comment := strings.TrimSpace(a.Comment)
	if comment == "" {
		comment = strings.TrimSpace(objComment)
	}
	switch {
	case a.Category != "" && comment != "":
		comment = a.Category + ": " + comment
	case a.Category != "":
		comment = a.Category
	}
	ind.Comment = intel.Truncate(comment, 200)
	return ind, nil
}

// parseTime reads a MISP time: Unix seconds, or an RFC 3339 time with or
// without fractional seconds.
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		if sec <= 0 || sec > 1<<40 {
			return time.Time{}, fmt.Errorf("%s %q: out of range", field, s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", field, s, err)
	}
	return t.UTC(), nil
}
