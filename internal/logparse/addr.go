package logparse

import "net/netip"

// parseAddr parses an IPv4 or IPv6 address from b without allocating, as
// netip.ParseAddr does from a string. An IPv6 zone ("%eth0") is accepted
// and dropped, and an IPv4-mapped IPv6 address is unmapped: events carry
// plain addresses. FuzzParseAddr holds it to netip.ParseAddr.
func parseAddr(b []byte) (netip.Addr, bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '.':
			a, ok := parseIPv4(b)
			return netip.AddrFrom4(a), ok
		case ':':
			return parseIPv6(b)
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses dotted-quad b strictly: four decimal fields of 0-255
// without leading zeros, as netip does.
func parseIPv4(b []byte) ([4]byte, bool) {
	var out [4]byte
	field, val, digits := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && val == 0 { // leading zero
				return out, false
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return out, false
			}
		case c == '.':
			if digits == 0 || field == 3 {
				return out, false
			}
			out[field] = byte(val)
			field++
			val, digits = 0, 0
		default:
			return out, false
		}
	}
	if field != 3 || digits == 0 {
		return out, false
	}
	out[3] = byte(val)
	return out, true
}

// parseIPv6 parses an RFC 4291 text address, with an optional embedded
// IPv4 tail and an optional zone that is dropped.
func parseIPv6(b []byte) (netip.Addr, bool) {
	for i, c := range b {
		if c == '%' {
			if i == len(b)-1 {
				return netip.Addr{}, false
			}
			b = b[:i]
			break
		}
	}
	var ip [16]byte
	ellipsis := -1 // position of "::" in ip, in bytes
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis = 0
		b = b[2:]
		if len(b) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		// One hex field of 1-4 digits.
		val, n := 0, 0
		for n < len(b) {
			d, ok := hexDigit(b[n])
			if !ok {
				break
			}
			val = val<<4 | d
			n++
			if n > 4 {
				return netip.Addr{}, false
			}
		}
		if n == 0 {
			return netip.Addr{}, false
		}
		// An embedded IPv4 address ends the address.
		if n < len(b) && b[n] == '.' {
			if ellipsis < 0 && i != 12 || i+4 > 16 {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], v4[:])
			i += 4
			b = nil
			break
		}
		ip[i] = byte(val >> 8)
		ip[i+1] = byte(val)
		i += 2
		b = b[n:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return netip.Addr{}, false
		}
		b = b[1:]
		if b[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = i
			b = b[1:]
			if len(b) == 0 {
				break
			}
		}
	}
	if len(b) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one field
	}
	return netip.AddrFrom16(ip).Unmap(), true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// parseUint parses a decimal number of at most 19 digits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parsePort parses a TCP port, 0-65535.
func parsePort(b []byte) (uint16, bool) {
	v, ok := parseUint(b)
	if !ok || v > 65535 {
		return 0, false
	}
	return uint16(v), true
}
