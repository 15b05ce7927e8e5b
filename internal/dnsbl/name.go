package dnsbl

import (
	"net/netip"
)

// Query names are handled in wire form (length-prefixed labels), as they
// arrive: the fast path reads them in place, and the miekg path packs the
// question's name back to wire form first, so both classify a name alike.

// nameKind says what a query name is within its zone.
type nameKind uint8

const (
	nameOther nameKind = iota // below the apex, not an address: NXDOMAIN
	nameApex                  // the zone's apex: SOA and NS
	nameAddr                  // an address in reversed form
)

// maxName is the longest wire-form name (RFC 1035).
const maxName = 255

// scanName reads the uncompressed wire-form name at msg[off:] and returns
// the offset just past it and the offsets of its labels' length bytes,
// relative to off, appended to labels. It reports false for a compressed,
// truncated or over-long name. A question name is never compressed in a
// query.
func scanName(msg []byte, off int, labels []int) (int, []int, bool) {
	start := off
	for {
		if off >= len(msg) {
			return 0, labels, false
		}
		l := int(msg[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 { // a compression pointer or a reserved label type
			return 0, labels, false
		}
		labels = append(labels, off-start)
		off += 1 + l
		if off-start+1 > maxName {
			return 0, labels, false
		}
	}
	return off, labels, true
}

// lower folds an ASCII letter to lower case; names compare case-blind.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// suffixIs reports whether name (wire form) ends with zone (lower-case
// wire form) at offset at, case-blind.
func suffixIs(name []byte, at int, zone []byte) bool {
	if len(name)-at != len(zone) {
		return false
	}
	for i, c := range zone {
		if lower(name[at+i]) != c {
			return false
		}
	}
	return true
}

// classify reads the labels of name (wire form, labels[i] the offset of
// label i's length byte) that precede the zone suffix starting at label
// index zl, and reports what they name. IPv4 names are four labels of one
// to three decimal digits, at most 255 (leading zeros allowed, as rbldnsd
// reads them); IPv6 names are 32 labels of one hex digit (RFC 5782). An
// IPv4-mapped IPv6 name is answered as its IPv4 address, as rbldnsd does.
func classify(name []byte, labels []int, zl int) (nameKind, netip.Addr) {
	switch zl {
	case 0:
		return nameApex, netip.Addr{}
	case 4:
		var a [4]byte
		for i := 0; i < 4; i++ {
			o := labels[i]
			l := int(name[o])
			if l < 1 || l > 3 {
				return nameOther, netip.Addr{}
			}
			v := 0
			for _, c := range name[o+1 : o+1+l] {
				if c < '0' || c > '9' {
					return nameOther, netip.Addr{}
				}
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				return nameOther, netip.Addr{}
			}
			a[3-i] = byte(v)
		}
		return nameAddr, netip.AddrFrom4(a)
	case 32:
		var a [16]byte
		for i := 0; i < 32; i++ {
			o := labels[i]
			if name[o] != 1 {
				return nameOther, netip.Addr{}
			}
			n, ok := nibble(name[o+1])
			if !ok {
				return nameOther, netip.Addr{}
			}
			// Label 0 is the lowest nibble of byte 15.
			if i%2 == 0 {
				a[15-i/2] |= n
			} else {
				a[15-i/2] |= n << 4
			}
		}
		return nameAddr, netip.AddrFrom16(a).Unmap()
	}
	return nameOther, netip.Addr{}
}

func nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// findZone returns the index of the most specific zone that name (wire
// form, with its label offsets) lies in, and the index of the label where
// the zone's name starts; -1 when it lies in none.
func (s *Server) findZone(name []byte, labels []int) (zi, zl int) {
	zi, zl = -1, -1
	best := -1
	for i := range s.zones {
		z := &s.zones[i]
		at := len(name) - len(z.wire)
		if at < 0 || len(z.wire) <= best {
			continue
		}
		k := labelAt(labels, at)
		if k < 0 {
			continue
		}
		if suffixIs(name, at, z.wire) {
			zi, zl, best = i, k, len(z.wire)
		}
	}
	return zi, zl
}

// labelAt returns the index of the label starting at offset at, or -1.
func labelAt(labels []int, at int) int {
	for i, o := range labels {
		if o == at {
			return i
		}
		if o > at {
			break
		}
	}
	return -1
}
