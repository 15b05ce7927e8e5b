package store

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/proxywatch/proxywatch"
)

// MarshalText implements encoding.TextMarshaler.
func (op ChangeOp) MarshalText() ([]byte, error) { return []byte(op.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (op *ChangeOp) UnmarshalText(b []byte) error {
	v, err := ParseChangeOp(string(b))
	if err != nil {
		return err
	}
	*op = v
	return nil
}

// Normalize returns ind in the form a store keeps it, or an error wrapping
// proxywatch.ErrInvalid. It checks that the subject is valid and in its
// canonical form (ParseSubject of its String gives it back; IPv4-mapped
// prefixes are refused), that the kind is known and the confidence at most
// MaxConfidence. It truncates times to the microsecond in UTC, makes text
// fields valid UTF-8 without NUL bytes (replacing offending bytes with
// U+FFFD), and turns empty Tags into nil. It does not check Source.Feed.
func Normalize(ind proxywatch.Indicator) (proxywatch.Indicator, error) {
	s := ind.Subject
	if s.Type() == proxywatch.SubjectNone {
		return ind, invalidf("indicator: empty subject")
	}
	if back, err := proxywatch.ParseSubject(s.String()); err != nil || back != s {
		return ind, invalidf("indicator subject %q: not canonical (masked prefix, lower-case domain, one field set)", s.String())
	}
	if k, err := proxywatch.ParseKind(ind.Kind.String()); err != nil || k != ind.Kind {
		return ind, invalidf("indicator %s: kind %d: unknown", s, ind.Kind)
	}
	if ind.Confidence > proxywatch.MaxConfidence {
		return ind, invalidf("indicator %s: confidence %d: above %d", s, ind.Confidence, proxywatch.MaxConfidence)
	}
	ind.Source.Feed = Text(ind.Source.Feed)
	ind.Source.Section = Text(ind.Source.Section)
	ind.Proto = Text(ind.Proto)
	ind.Comment = Text(ind.Comment)
	if len(ind.Tags) == 0 {
		ind.Tags = nil
	} else {
		tags := make([]string, len(ind.Tags))
		for i, t := range ind.Tags {
			tags[i] = Text(t)
		}
		ind.Tags = tags
	}
	ind.FirstSeen = Time(ind.FirstSeen)
	ind.LastSeen = Time(ind.LastSeen)
	ind.Expires = Time(ind.Expires)
	return ind, nil
}

// NormalizeState returns st in the form a store keeps it, or an error
// wrapping proxywatch.ErrInvalid: the name must not be empty and no count
// may be negative. Times and text are treated as in [Normalize].
func NormalizeState(st FeedState) (FeedState, error) {
	if st.Name == "" {
		return st, invalidf("feed state: empty name")
	}
	for _, c := range []struct {
		name string
		n    int
	}{
		{"accepted", st.Accepted}, {"refused", st.Refused}, {"excluded", st.Excluded},
		{"guard-refused", st.GuardRefused}, {"duplicates", st.Duplicates}, {"holds", st.Holds},
	} {
		if c.n < 0 {
			return st, invalidf("feed %q: %s %d: negative", st.Name, c.name, c.n)
		}
	}
	st.Name = Text(st.Name)
	st.Format = Text(st.Format)
	st.Source = Text(st.Source)
	st.ETag = Text(st.ETag)
	st.LastModified = Text(st.LastModified)
	st.LastError = Text(st.LastError)
	st.LastFetch = Time(st.LastFetch)
	st.LastGood = Time(st.LastGood)
	return st, nil
}

// Text returns s as valid UTF-8 without NUL bytes, which both SQLite and
// PostgreSQL keep exactly; invalid bytes and NULs become U+FFFD.
func Text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Time returns t truncated to the microsecond, in UTC; the zero time stays
// zero.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// PrefixRange returns the first and last addresses of p as 16-byte values
// (IPv4 in its IPv4-mapped form) and its family, 4 or 6. Ordered byte-wise,
// the values of one family sort as the addresses do, which lets a store
// index prefixes by their first address.
func PrefixRange(p netip.Prefix) (family int, first, last [16]byte) {
	p = p.Masked()
	a := p.Addr()
	family = 6
	if a.Is4() {
		family = 4
	}
	first = a.As16()
	last = first
	host := a.BitLen() - p.Bits() // host bits, counted from the end
	off := 16 - a.BitLen()/8      // where the address starts in the 16 bytes
	for i := 15; i >= off && host > 0; i-- {
		n := min(host, 8)
		last[i] |= byte(1<<n - 1)
		host -= n
	}
	return family, first, last
}

// CoveringStarts returns the family of addr (4 or 6, with IPv4-mapped
// addresses taken as IPv4) and the first address, as PrefixRange encodes
// it, of every prefix that can contain addr: one per prefix length, from
// /0 to the full length, with repeats. A prefix with first address f
// contains addr exactly when f is among these and its last address is not
// below addr's. It returns ErrInvalid for an invalid or zoned address.
func CoveringStarts(addr netip.Addr) (family int, addr16 [16]byte, starts [][16]byte, err error) {
	if !addr.IsValid() || addr.Zone() != "" {
		return 0, addr16, nil, invalidf("address %q: not a plain IP address", addr.String())
	}
	addr = addr.Unmap()
	family = 6
	if addr.Is4() {
		family = 4
	}
	starts = make([][16]byte, 0, addr.BitLen()+1)
	for bits := 0; bits <= addr.BitLen(); bits++ {
		p := netip.PrefixFrom(addr, bits).Masked()
		starts = append(starts, p.Addr().As16())
	}
	return family, addr.As16(), starts, nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, proxywatch.ErrInvalid)...)
}
