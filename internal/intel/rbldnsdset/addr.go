package rbldnsdset

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// ip4Prefix parses rbldnsd's leading-octets form: "10", "10.1", "10.1.2"
// or "10.1.2.3", returning the address (missing octets zero), the number
// of bits given (8, 16, 24 or 32) and the text after it.
func ip4Prefix(s string) (a uint32, nbits int, rest string, err error) {
	for i := 0; i < 4; i++ {
		j := 0
		for j < len(s) && j < 4 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == 0 || j > 3 {
			return 0, 0, s, fmt.Errorf("octet %d: want 0 to 255", i+1)
		}
		o, _ := strconv.Atoi(s[:j])
		if o > 255 {
			return 0, 0, s, fmt.Errorf("octet %d: %d > 255", i+1, o)
		}
		a |= uint32(o) << (24 - 8*i)
		s = s[j:]
		nbits += 8
		if i == 3 || !strings.HasPrefix(s, ".") {
			break
		}
		s = s[1:]
	}
	return a, nbits, s, nil
}

// parseIP4 reads an ip4set entry: an address, leading octets (a /8, /16
// or /24), a CIDR ("10/8", "10.1.2/23"), or a range ("a-b", where a lone
// last octet "b" completes a's leading octets). It returns the inclusive
// range, whether the entry was a range, and the text after the entry.
func parseIP4(s string) (lo, hi uint32, isRange bool, rest string, err error) {
	a, n, s, err := ip4Prefix(s)
	if err != nil {
		return 0, 0, false, s, err
	}
	switch {
	case strings.HasPrefix(s, "-"):
		b, m, r, err := ip4Prefix(s[1:])
		if err != nil {
			return 0, 0, false, r, fmt.Errorf("range end: %w", err)
		}
		if m == 8 && n > 8 { // "192.0.2.1-9": b replaces a's last octet
			b = b>>(n-8) | a&mask4(n-8)
			m = n
		} else if m != n {
			return 0, 0, false, r, errors.New("range ends have different numbers of octets")
		}
		b |= ^mask4(m)
		if a > b {
			return 0, 0, false, r, errors.New("range end before its start")
		}
		return a, b, true, r, nil
	case strings.HasPrefix(s, "/"):
		j := 1
		for j < len(s) && j < 4 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		l, err := strconv.Atoi(s[1:j])
		if err != nil || l > 32 {
			return 0, 0, false, s, fmt.Errorf("prefix length %q: want 0 to 32", s[1:j])
		}
		n, s = l, s[j:]
	case n == 8:
		return 0, 0, false, s, errors.New("a bare number is not an entry (rbldnsd wants n/8)")
	}
	lo = a & mask4(n)
	return lo, lo | ^mask4(n), false, s, nil
}

// mask4 returns the IPv4 netmask of n bits.
func mask4(n int) uint32 {
	if n <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - n)
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// appendPrefixes4 appends the fewest prefixes that cover lo-hi exactly.
func appendPrefixes4(ps []netip.Prefix, lo, hi uint32) []netip.Prefix {
	for l := uint64(lo); l <= uint64(hi); {
		size := uint64(1) << 32
		if l != 0 {
			size = uint64(1) << bits.TrailingZeros64(l)
		}
		for l+size-1 > uint64(hi) {
			size >>= 1
		}
		ps = append(ps, netip.PrefixFrom(addr4(uint32(l)), 32-bits.TrailingZeros64(size)))
		l += size
	}
	return ps
}

// parseIP6 reads an ip6trie entry: a full or "::"-compressed address, or
// leading 16-bit groups without "::" ("2001:db8:1" is a /48), with an
// optional "/len". A single group needs a length. Host bits are cleared.
func parseIP6(s string) (p netip.Prefix, rest string, err error) {
	end := strings.IndexAny(s, " \t#;")
	if end < 0 {
		end = len(s)
	}
	tok, rest := s[:end], s[end:]
	addrText, lenText, hasLen := strings.Cut(tok, "/")
	if hasLen {
		j := 0
		for j < len(lenText) && lenText[j] >= '0' && lenText[j] <= '9' {
			j++
		}
		rest = lenText[j:] + rest // a value may follow the length directly
		lenText = lenText[:j]
	}
	var a netip.Addr
	nbits := 128
	if strings.Contains(addrText, "::") || strings.Count(addrText, ":") == 7 || strings.Contains(addrText, ".") {
		a, err = netip.ParseAddr(addrText)
		if err != nil {
			return p, rest, err
		}
		if a.Zone() != "" || !a.Is6() {
			return p, rest, fmt.Errorf("%q: not an IPv6 address", addrText)
		}
	} else {
		var b [16]byte
		groups := strings.Split(addrText, ":")
		if len(groups) > 7 {
			return p, rest, fmt.Errorf("%q: too many groups", addrText)
		}
		for i, g := range groups {
			v, err := strconv.ParseUint(g, 16, 16)
			if err != nil || len(g) > 4 {
				return p, rest, fmt.Errorf("group %q: want 1 to 4 hex digits", g)
			}
			b[2*i], b[2*i+1] = byte(v>>8), byte(v)
		}
		if len(groups) == 1 && !hasLen {
			return p, rest, errors.New("a bare number is not an entry")
		}
		a, nbits = netip.AddrFrom16(b), 16*len(groups)
	}
	if hasLen {
		nbits, err = strconv.Atoi(lenText)
		if err != nil || nbits > 128 {
			return p, rest, fmt.Errorf("prefix length %q: want 0 to 128", lenText)
		}
	}
	if a.Is4In6() {
		if nbits < 96 {
			return p, rest, fmt.Errorf("%s/%d: mapped prefix shorter than /96", a, nbits)
		}
		a, nbits = a.Unmap(), nbits-96
	}
	p, err = a.Prefix(nbits)
	return p, rest, err
}

// isIP6 guesses the family of an entry for the automatic dataset: IPv4
// unless there is a colon and the text before it has no ".", "/" or "-".
func isIP6(s string) bool {
	head, _, ok := strings.Cut(s, ":")
	return ok && !strings.ContainsAny(head, "./-") && !strings.ContainsAny(head, " \t")
}
