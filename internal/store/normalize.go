package store

import (
	"encoding/binary"
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

// SubjectKey returns the byte key under which a store indexes s: for a
// prefix, the family (4 or 6), the masked address in its own length (4 or
// 16 bytes) and the prefix length; for a domain, 'd' and the name; for an
// ASN, 'a' and the number in 4 bytes, big-endian. Equal subjects have equal
// keys and different subjects different keys, and the prefixes covering an
// address have the keys [CoveringKeys] lists, so one index on the key
// serves both exact and covering lookups. The zero Subject has a nil key.
func SubjectKey(s proxywatch.Subject) []byte {
	switch s.Type() {
	case proxywatch.SubjectPrefix:
		return prefixKey(s.Prefix.Addr(), s.Prefix.Bits())
	case proxywatch.SubjectDomain:
		return append([]byte{'d'}, s.Domain...)
	case proxywatch.SubjectASN:
		return binary.BigEndian.AppendUint32([]byte{'a'}, s.ASN)
	}
	return nil
}

// prefixKey returns the key of the prefix of a with length bits.
func prefixKey(a netip.Addr, bits int) []byte {
	a = netip.PrefixFrom(a, bits).Masked().Addr()
	k := make([]byte, 0, 18)
	if a.Is4() {
		k = append(k, 4)
	} else {
		k = append(k, 6)
	}
	k = append(k, a.AsSlice()...)
	return append(k, byte(bits))
}

// CoveringKeys returns the keys, as [SubjectKey] makes them, of every
// prefix that can contain addr: one per prefix length from /0 to /32 for
// IPv4 (IPv4-mapped addresses are taken as IPv4) and to /128 for IPv6.
// It returns ErrInvalid for an invalid or zoned address.
func CoveringKeys(addr netip.Addr) ([][]byte, error) {
	if !addr.IsValid() || addr.Zone() != "" {
		return nil, invalidf("address %q: not a plain IP address", addr.String())
	}
	addr = addr.Unmap()
	keys := make([][]byte, 0, addr.BitLen()+1)
	for bits := 0; bits <= addr.BitLen(); bits++ {
		keys = append(keys, prefixKey(addr, bits))
	}
	return keys, nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, proxywatch.ErrInvalid)...)
}
