package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"go4.org/netipx"
)

// ParsePrefix parses an address ("203.0.113.7", "2001:db8::1"), a prefix
// in CIDR form ("203.0.113.0/24"), or an IPv4-mapped form of either, and
// returns it as a masked prefix (an address becomes a /32 or /128).
// Host bits set in a CIDR are cleared, as FireHOL and Spamhaus lists expect.
// Zoned addresses are refused.
func ParsePrefix(s string) (netip.Prefix, error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a := p.Addr()
		if a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q: mapped prefix shorter than /96", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: zoned address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseRange parses "first-last" (an inclusive address range, as FireHOL
// and rbldnsd write them) and returns the fewest prefixes that cover it
// exactly. Spaces around the dash are allowed.
func ParseRange(s string) ([]netip.Prefix, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return nil, errors.New("not a range")
	}
	from, err := netip.ParseAddr(strings.TrimSpace(lo))
	if err != nil {
		return nil, err
	}
	to, err := netip.ParseAddr(strings.TrimSpace(hi))
	if err != nil {
		return nil, err
	}
	from, to = from.Unmap(), to.Unmap()
	if from.Zone() != "" || to.Zone() != "" {
		return nil, fmt.Errorf("%q: zoned address", s)
	}
	r := netipx.IPRangeFrom(from, to)
	if !r.IsValid() {
		return nil, fmt.Errorf("%q: range is empty or mixes address families", s)
	}
	return r.Prefixes(), nil
}

// ParseAny parses an address, a CIDR prefix or a range, in that order of
// likelihood. It is what a plain list line holds.
func ParseAny(s string) ([]netip.Prefix, error) {
	if strings.IndexByte(s, '-') > 0 && !strings.Contains(s, "/") {
		return ParseRange(s)
	}
	p, err := ParsePrefix(s)
	if err != nil {
		return nil, err
	}
	return []netip.Prefix{p}, nil
}

var refanger = strings.NewReplacer(
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
	"[:]", ":", "[://]", "://",
	"hxxps", "https", "hxxp", "http", "hXXps", "https", "hXXp", "http",
	"[at]", "@", "(at)", "@",
)

// Refang undoes the usual defanging of indicators in reports: "[.]",
// "(.)", "[dot]", "[:]", "hxxp", "[at]", and the broken half-brackets
// "[." and ".]" that some reports carry. It does not validate the result.
func Refang(s string) string {
	if !strings.ContainsAny(s, "[](){}xX") {
		return s
	}
	s = refanger.Replace(s)
	if strings.Contains(s, "[.") || strings.Contains(s, ".]") {
		s = strings.NewReplacer("[.", ".", ".]", ".").Replace(s)
	}
	return s
}

// An Excluder is a Reader whose format can exclude ranges from the whole
// document, as rbldnsd's "!" entries do. Exclusions is valid once Read has
// returned io.EOF.
type Excluder interface {
	Exclusions() []netip.Prefix
}

// Carve returns p without the ranges in excl, as the fewest prefixes; p
// itself (in a one-element slice) when nothing overlaps, and nothing when
// p is wholly excluded.
func Carve(p netip.Prefix, excl []netip.Prefix) []netip.Prefix {
	overlaps := false
	for _, e := range excl {
		if e.Overlaps(p) {
			overlaps = true
			break
		}
	}
	if !overlaps {
		return []netip.Prefix{p}
	}
	var b netipx.IPSetBuilder
	b.AddPrefix(p)
	for _, e := range excl {
		b.RemovePrefix(e)
	}
	set, err := b.IPSet()
	if err != nil {
		return nil
	}
	return set.Prefixes()
}
