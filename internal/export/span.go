package export

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an address as a number: IPv4 addresses in the low 32 bits, IPv6
// addresses in all 128. Arithmetic on it is what range-to-prefix
// decomposition and interval sweeps need, without netip.Addr's
// Next/Prev per step.
type u128 struct{ hi, lo uint64 }

func (u u128) cmp(v u128) int {
	switch {
	case u.hi < v.hi:
		return -1
	case u.hi > v.hi:
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) less(v u128) bool { return u.cmp(v) < 0 }

func (u u128) inc() u128 {
	lo, carry := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + carry, lo}
}

func (u u128) dec() u128 {
	lo, borrow := bits.Sub64(u.lo, 1, 0)
	return u128{u.hi - borrow, lo}
}

func (u u128) or(v u128) u128  { return u128{u.hi | v.hi, u.lo | v.lo} }
func (u u128) and(v u128) u128 { return u128{u.hi & v.hi, u.lo & v.lo} }
func (u u128) not() u128       { return u128{^u.hi, ^u.lo} }

// trailingZeros returns the number of trailing zero bits of u, 128 for 0.
func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
}

// lowMask returns the number whose n low bits are set, 0 <= n <= 128.
func lowMask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{0, 1<<n - 1}
	case n < 128:
		return u128{1<<(n-64) - 1, ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// width returns the address width of the family: 32 for IPv4, 128 for
// IPv6.
func width(v6 bool) int {
	if v6 {
		return 128
	}
	return 32
}

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func fromU128(u u128, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(u.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

// span is an inclusive range of addresses of one family.
type span struct{ start, end u128 }

// prefixSpan returns the addresses of p, which is masked and not mapped.
func prefixSpan(p netip.Prefix) span {
	s := toU128(p.Addr())
	return span{s, s.or(lowMask(p.Addr().BitLen() - p.Bits()))}
}

// appendPrefixes appends the fewest prefixes that cover s exactly.
func appendPrefixes(dst []netip.Prefix, s span, v6 bool) []netip.Prefix {
	w := width(v6)
	max := lowMask(w)
	start := s.start
	for {
		k := min(start.trailingZeros(), w)
		for k > 0 && s.end.less(start.or(lowMask(k))) {
			k--
		}
		end := start.or(lowMask(k))
		dst = append(dst, netip.PrefixFrom(fromU128(start, v6), w-k))
		if end == s.end || end == max {
			return dst
		}
		start = end.inc()
	}
}

// spanPrefix returns s as a single prefix when it is exactly one: when
// the bits end has beyond start form a low mask that start leaves clear.
func spanPrefix(s span, v6 bool) (netip.Prefix, bool) {
	d := s.end.and(s.start.not())
	if d.and(d.inc()) != (u128{}) || s.start.and(d) != (u128{}) || s.end != s.start.or(d) {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(fromU128(s.start, v6), width(v6)-(128-leadingZeros(d))), true
}

func leadingZeros(u u128) int {
	if u.hi != 0 {
		return bits.LeadingZeros64(u.hi)
	}
	return 64 + bits.LeadingZeros64(u.lo)
}

// allowlist is an allowlist as sorted, disjoint, non-adjacent spans per
// family.
type allowlist struct{ v4, v6 []span }

func newAllowlist(ps []netip.Prefix) allowlist {
	var a allowlist
	for _, p := range ps {
		p, ok := normalize(p)
		if !ok {
			continue
		}
		if p.Addr().Is4() {
			a.v4 = append(a.v4, prefixSpan(p))
		} else {
			a.v6 = append(a.v6, prefixSpan(p))
		}
	}
	a.v4, a.v6 = mergeSpans(a.v4), mergeSpans(a.v6)
	return a
}

func (a *allowlist) family(v6 bool) []span {
	if v6 {
		return a.v6
	}
	return a.v4
}

// mergeSpans sorts ss and merges overlapping and adjacent spans.
func mergeSpans(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return a.start.cmp(b.start) })
	out := ss[:0]
	for _, s := range ss {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if !last.end.less(s.start) || last.end.inc() == s.start && last.end != lowMask(128) {
				if last.end.less(s.end) {
					last.end = s.end
				}
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// overlap reports how the allowlist spans al meet s: not at all, in part,
// or wholly covering it.
func overlap(al []span, s span) (any, whole bool) {
	i, _ := slices.BinarySearchFunc(al, s.start, func(a span, t u128) int {
		if a.end.less(t) {
			return -1
		}
		return 1
	})
	if i == len(al) || s.end.less(al[i].start) {
		return false, false
	}
	return true, !s.start.less(al[i].start) && !al[i].end.less(s.end)
}

// subtract calls fn with each part of s outside the allowlist spans al, in
// order.
func subtract(al []span, s span, fn func(span)) {
	i, _ := slices.BinarySearchFunc(al, s.start, func(a span, t u128) int {
		if a.end.less(t) {
			return -1
		}
		return 1
	})
	start := s.start
	for ; i < len(al) && !s.end.less(al[i].start); i++ {
		if start.less(al[i].start) {
			fn(span{start, al[i].start.dec()})
		}
		if !al[i].end.less(s.end) {
			return
		}
		start = al[i].end.inc()
	}
	fn(span{start, s.end})
}
