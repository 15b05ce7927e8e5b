package forwardauth

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Why a client address could not be determined. Each is a metric reason.
var (
	errNoPeer     = errors.New("no_peer")    // the connection's peer address is not an IP address
	errMissing    = errors.New("missing")    // a trusted proxy sent no client header
	errMalformed  = errors.New("malformed")  // the client header does not parse
	errObfuscated = errors.New("obfuscated") // the header names the client "unknown" or by an obfuscated identifier
)

// A resolver finds the client address of a request.
type resolver struct {
	trusted []netip.Prefix // unmapped, masked
	header  string         // canonical ClientHeader; "" means the peer only
}

func newResolver(trusted []netip.Prefix, header string) resolver {
	r := resolver{}
	r.header, _ = canonicalHeader(header)
	for _, p := range trusted {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

func (r *resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client returns the address to judge: the peer's own, unless the peer is
// trusted (or local, trustPeer) and a client header is configured; then
// the address the header gives.
func (r *resolver) client(peer netip.Addr, trustPeer bool, h http.Header) (netip.Addr, error) {
	if !trustPeer {
		if !peer.IsValid() {
			return netip.Addr{}, errNoPeer
		}
		peer = peer.Unmap().WithZone("")
		if r.header == "" || !r.isTrusted(peer) {
			return peer, nil
		}
	}
	switch r.header {
	case HeaderXForwardedFor:
		return r.fromList(h[HeaderXForwardedFor])
	case HeaderXRealIP:
		vs := h[HeaderXRealIP]
		if len(vs) == 0 {
			return netip.Addr{}, errMissing
		}
		// The nearest proxy's value is the last one.
		a, ok := parseNode(vs[len(vs)-1])
		if !ok {
			return netip.Addr{}, errMalformed
		}
		return a, nil
	case HeaderForwarded:
		return r.fromForwarded(h[HeaderForwarded])
	}
	if !peer.IsValid() {
		return netip.Addr{}, errNoPeer
	}
	return peer, nil
}

// fromList walks X-Forwarded-For from the right, through every line of
// the header, and returns the first address that is not a trusted proxy;
// the left-most when all are. It does not allocate.
func (r *resolver) fromList(lines []string) (netip.Addr, error) {
	var last netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		if strings.TrimSpace(rest) == "" {
			continue
		}
		for {
			j := strings.LastIndexByte(rest, ',')
			entry := rest[j+1:]
			a, ok := parseNode(entry)
			if !ok {
				return netip.Addr{}, errMalformed
			}
			if !r.isTrusted(a) {
				return a, nil
			}
			last = a
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	if !last.IsValid() {
		return netip.Addr{}, errMissing
	}
	return last, nil
}

// fromForwarded applies the rule of fromList to the for= parameters of
// Forwarded (RFC 7239).
func (r *resolver) fromForwarded(lines []string) (netip.Addr, error) {
	var nodes []forNode
	for _, l := range lines {
		var err error
		if nodes, err = parseForwarded(l, nodes); err != nil {
			return netip.Addr{}, errMalformed
		}
	}
	var last netip.Addr
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if !n.present {
			return netip.Addr{}, errMissing
		}
		if obfuscated(n.node) {
			return netip.Addr{}, errObfuscated
		}
		a, ok := parseNode(n.node)
		if !ok {
			return netip.Addr{}, errMalformed
		}
		if !r.isTrusted(a) {
			return a, nil
		}
		last = a
	}
	if !last.IsValid() {
		return netip.Addr{}, errMissing
	}
	return last, nil
}

// obfuscated reports whether an RFC 7239 node is "unknown" or an
// obfuscated identifier ("_hidden"), which name no address.
func obfuscated(node string) bool {
	return strings.EqualFold(node, "unknown") || strings.HasPrefix(node, "_")
}

// parseNode parses one hop as proxies write it: "203.0.113.7",
// "203.0.113.7:8080", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443",
// with a zone ("fe80::1%eth0") stripped, surrounding white space ignored,
// and an IPv4-mapped address unmapped. An RFC 7239 obfuscated port
// (":_p1") is accepted and ignored.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	host := s
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		if !strings.Contains(host, ":") {
			return netip.Addr{}, false // brackets hold IPv6 only
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// One colon: IPv4 with a port.
		if !validPort(s[i+1:]) {
			return netip.Addr{}, false
		}
		host = s[:i]
		if strings.IndexByte(host, '.') < 0 {
			return netip.Addr{}, false
		}
	}
	if i := strings.IndexByte(host, '%'); i >= 0 && strings.IndexByte(host[:i], ':') >= 0 {
		host = host[:i] // an IPv6 zone
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validPort reports whether p is a decimal port (0-65535) or an RFC 7239
// obfuscated port ("_" followed by letters, digits, '.', '_' or '-').
func validPort(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	if p[0] == '_' {
		for i := 1; i < len(p); i++ {
			if c := p[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
		return true
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
