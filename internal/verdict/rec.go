package verdict

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A rec is the compact, immutable form of one prefix indicator: 64 bytes
// against about 230 for a proxywatch.Indicator, with the strings an
// indicator shares with its neighbours (feed, section, protocol, comment,
// tags) interned in a meta.
type rec struct {
	meta   *meta
	hi, lo uint64 // the address; IPv4 in the low 32 bits of lo
	first  int64  // unix nanoseconds; noTime when unknown
	last   int64  // unix nanoseconds; noTime when unknown
	exp    int64  // unix nanoseconds; never when the indicator does not expire
	line   int32
	port   uint16
	bits   uint8
	kind   proxywatch.Kind
	conf   uint8
	is4    bool
}

// A meta holds the interned strings of a rec. Metas are immutable.
type meta struct {
	feed, section, proto, comment string
	tags                          []string
}

const (
	never  = math.MaxInt64 // exp of an indicator without expiry
	noTime = math.MinInt64 // first/last of an indicator that did not say
)

// toNano converts t to unix nanoseconds, clamping it to the range
// time.Time.UnixNano can represent (years 1678 to 2262), so that an
// expiry in the year 9999 stays in the future.
func toNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return noTime + 1
	case t.After(maxTime):
		return never - 1
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, noTime+1)
	maxTime = time.Unix(0, never-1)
)

func fromNano(n int64) time.Time {
	if n == noTime || n == never {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// setPrefix stores p in r. It reports false for an invalid prefix, and
// unmaps IPv4-mapped IPv6 prefixes of /96 or longer.
func (r *rec) setPrefix(p netip.Prefix) bool {
	if !p.IsValid() {
		return false
	}
	a := p.Addr()
	bits := p.Bits()
	if a.Is4In6() {
		if bits < 96 {
			return false
		}
		a, bits = a.Unmap(), bits-96
	}
	p = netip.PrefixFrom(a.WithZone(""), bits).Masked()
	a = p.Addr()
	r.bits = uint8(p.Bits())
	r.is4 = a.Is4()
	if r.is4 {
		b := a.As4()
		r.hi, r.lo = 0, uint64(binary.BigEndian.Uint32(b[:]))
		return true
	}
	b := a.As16()
	r.hi, r.lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	return true
}

// prefix returns the rec's prefix.
func (r *rec) prefix() netip.Prefix {
	if r.is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(r.lo))
		return netip.PrefixFrom(netip.AddrFrom4(b), int(r.bits))
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.hi)
	binary.BigEndian.PutUint64(b[8:], r.lo)
	return netip.PrefixFrom(netip.AddrFrom16(b), int(r.bits))
}

// cmpPrefix orders recs by family (IPv4 first), address and length. A
// supernet sorts before every prefix it covers.
func cmpPrefix(a, b *rec) int {
	switch {
	case a.is4 != b.is4:
		if a.is4 {
			return -1
		}
		return 1
	case a.hi != b.hi:
		if a.hi < b.hi {
			return -1
		}
		return 1
	case a.lo != b.lo:
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return int(a.bits) - int(b.bits)
}

func samePrefix(a, b *rec) bool {
	return a.lo == b.lo && a.hi == b.hi && a.bits == b.bits && a.is4 == b.is4
}

// covers reports whether a's prefix contains b's.
func covers(a, b *rec) bool {
	if a.is4 != b.is4 || a.bits > b.bits {
		return false
	}
	hi, lo := mask(b.hi, b.lo, a.bits, a.is4)
	return hi == a.hi && lo == a.lo
}

func mask(hi, lo uint64, bits uint8, is4 bool) (uint64, uint64) {
	if is4 {
		if bits == 0 {
			return 0, 0
		}
		return 0, lo &^ (1<<(32-bits) - 1) & math.MaxUint32
	}
	switch {
	case bits == 0:
		return 0, 0
	case bits < 64:
		return hi &^ (1<<(64-bits) - 1), 0
	case bits == 64:
		return hi, 0
	case bits < 128:
		return hi, lo &^ (1<<(128-bits) - 1)
	}
	return hi, lo
}

// sameKey reports whether a and b are the same indicator in the sense of
// proxywatch.Key: feed, subject, kind, port and protocol.
func sameKey(a, b *rec) bool {
	return samePrefix(a, b) && a.kind == b.kind && a.port == b.port &&
		a.meta.proto == b.meta.proto && a.meta.feed == b.meta.feed
}

// cmpKey orders recs with equal prefixes by the rest of their key.
func cmpKey(a, b *rec) int {
	if c := cmpPrefix(a, b); c != 0 {
		return c
	}
	if a.kind != b.kind {
		return int(a.kind) - int(b.kind)
	}
	if a.port != b.port {
		return int(a.port) - int(b.port)
	}
	if c := strings.Compare(a.meta.proto, b.meta.proto); c != 0 {
		return c
	}
	return strings.Compare(a.meta.feed, b.meta.feed)
}

// cmpWinner orders recs with the same key so that the one kept comes
// first: higher confidence, later expiry, later last sighting, earlier line.
func cmpWinner(a, b *rec) int {
	switch {
	case a.conf != b.conf:
		return int(b.conf) - int(a.conf)
	case a.exp != b.exp:
		return cmpInt(b.exp, a.exp)
	case a.last != b.last:
		return cmpInt(b.last, a.last)
	}
	return cmpInt(int64(a.line), int64(b.line))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// An interner shares one meta among indicators with the same strings.
// It is not safe for concurrent use.
type interner struct {
	m    map[metaKey]*meta
	last *meta
}

type metaKey struct{ feed, section, proto, comment, tags string }

func (in *interner) get(feed string, ind *proxywatch.Indicator) *meta {
	if l := in.last; l != nil && l.feed == feed && l.section == ind.Source.Section &&
		l.proto == ind.Proto && l.comment == ind.Comment && slices.Equal(l.tags, ind.Tags) {
		return l
	}
	k := metaKey{feed: feed, section: ind.Source.Section, proto: ind.Proto, comment: ind.Comment}
	if len(ind.Tags) > 0 {
		var b strings.Builder
		for _, t := range ind.Tags {
			b.WriteString(strconv.Itoa(len(t)))
			b.WriteByte(':')
			b.WriteString(t)
		}
		k.tags = b.String()
	}
	m, ok := in.m[k]
	if !ok {
		if in.m == nil {
			in.m = make(map[metaKey]*meta)
		}
		m = &meta{feed: k.feed, section: k.section, proto: k.proto, comment: k.comment}
		if len(ind.Tags) > 0 {
			m.tags = slices.Clone(ind.Tags)
		}
		in.m[k] = m
	}
	in.last = m
	return m
}

// makeRec converts ind, as an indicator of feed, to a rec. It reports
// false when the subject is not a prefix.
func (in *interner) makeRec(feed string, ind *proxywatch.Indicator) (rec, bool) {
	var r rec
	if ind.Subject.Type() != proxywatch.SubjectPrefix || !r.setPrefix(ind.Subject.Prefix) {
		return rec{}, false
	}
	r.meta = in.get(feed, ind)
	r.kind = ind.Kind
	r.conf = min(ind.Confidence, proxywatch.MaxConfidence)
	r.port = ind.Port
	r.line = int32(min(max(ind.Source.Line, 0), math.MaxInt32))
	r.first, r.last, r.exp = noTime, noTime, never
	if !ind.FirstSeen.IsZero() {
		r.first = toNano(ind.FirstSeen)
	}
	if !ind.LastSeen.IsZero() {
		r.last = toNano(ind.LastSeen)
	}
	if !ind.Expires.IsZero() {
		r.exp = toNano(ind.Expires)
	}
	return r, true
}

// keyRec returns a rec carrying only k's identity, for matching.
func keyRec(k proxywatch.Key) (rec, bool) {
	var r rec
	if k.Subject.Type() != proxywatch.SubjectPrefix || !r.setPrefix(k.Subject.Prefix) {
		return rec{}, false
	}
	r.meta = &meta{feed: k.Feed, proto: k.Proto}
	r.kind, r.port = k.Kind, k.Port
	return r, true
}

// indicator rebuilds the full indicator.
func (r *rec) indicator() proxywatch.Indicator {
	return proxywatch.Indicator{
		Subject:    proxywatch.PrefixSubject(r.prefix()),
		Kind:       r.kind,
		Source:     proxywatch.Source{Feed: r.meta.feed, Section: r.meta.section, Line: int(r.line)},
		Confidence: r.conf,
		Tags:       slices.Clone(r.meta.tags),
		Port:       r.port,
		Proto:      r.meta.proto,
		Comment:    r.meta.comment,
		FirstSeen:  fromNano(r.first),
		LastSeen:   fromNano(r.last),
		Expires:    fromNano(r.exp),
	}
}
