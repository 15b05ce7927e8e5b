package feed

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Reasons for which the guard refuses a single entry. They are metric
// labels and report keys.
const (
	ReasonTooWideV4 = "too-wide-v4" // an IPv4 prefix shorter than Guard.MaxPrefixV4
	ReasonTooWideV6 = "too-wide-v6" // an IPv6 prefix shorter than Guard.MaxPrefixV6
	ReasonNoSubject = "no-subject"  // an indicator without prefix, domain or ASN
)

// A Report counts what Collect made of one document.
type Report struct {
	// Read is the reader's own count: records accepted, and records
	// refused and excluded by reason.
	Read intel.Tally `json:"read"`
	// GuardRefused counts entries the guard refused, by reason.
	GuardRefused map[string]int `json:"guard_refused,omitempty"`
	// GuardSamples keeps the first few guard refusals; bounded.
	GuardSamples []Refusal `json:"guard_samples,omitempty"`
	// Duplicates counts records with the same proxywatch.Key as an
	// earlier record of the document; only the first is kept.
	Duplicates int `json:"duplicates"`
	// Expired counts returned indicators already expired at the time of
	// the copy.
	Expired int `json:"expired"`
	// Accepted is the number of indicators returned.
	Accepted int `json:"accepted"`
	// Carved counts prefix indicators cut by the document's own
	// exclusions (rbldnsd "!" entries); their remaining parts are kept.
	Carved int `json:"carved,omitempty"`
}

// A Refusal is one entry the guard refused.
type Refusal struct {
	Line    int    `json:"line,omitempty"`
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
}

const maxGuardSamples = 20

// GuardRefusedTotal returns the number of entries the guard refused.
func (r *Report) GuardRefusedTotal() int {
	n := 0
	for _, v := range r.GuardRefused {
		n += v
	}
	return n
}

// RefusedShare returns the share of the document's records that the
// reader or the guard refused, in [0, 1]. Exclusions do not count.
func (r *Report) RefusedShare() float64 {
	total := r.Read.Accepted + r.Read.RefusedTotal()
	if total == 0 {
		return 0
	}
	return float64(r.Read.RefusedTotal()+r.GuardRefusedTotal()) / float64(total)
}

// Collect reads r to the end and returns its indicators with the feed's
// defaults applied, and a Report of what was accepted, refused, excluded
// and repeated. f should be resolved (see Config.Resolve); its guard's
// prefix bounds refuse entries one by one, while the whole-update checks
// are the Scheduler's. now is the time of the copy: indicators without an
// expiry get one from the feed's TTL and kind TTLs, counted from now or
// from their LastSeen when that is earlier.
//
// Applied defaults: Source.Feed is f.Name; KindUnknown becomes f.Kind; a
// zero confidence becomes f.Confidence (above 100 is lowered to 100); f.Tags
// are appended. Among records with the same proxywatch.Key the first is
// kept. A final error from the reader (I/O, an unreadable document) is
// returned with the report so far and no indicators.
func Collect(r intel.Reader, f Feed, now time.Time) ([]proxywatch.Indicator, Report, error) {
	c, err := collect(r, f, now, maphash.MakeSeed(), hashKey)
	return c.inds, c.rep, err
}

// collected is what collect returns: the indicators, the report and the
// sorted hashes of the indicators' keys, for the churn check.
type collected struct {
	inds []proxywatch.Indicator
	rep  Report
	keys []uint64
}

// defaults is a resolved Feed in the form collect needs.
type defaults struct {
	name       string
	kind       proxywatch.Kind
	confidence uint8
	tags       []string
	ttl        time.Duration
	kindTTL    [16]time.Duration // by kind; 0 means no cap
	v4, v6     int
}

func newDefaults(f Feed) (defaults, error) {
	d := defaults{
		name:       f.Name,
		kind:       proxywatch.KindOther,
		confidence: uint8(min(max(f.Confidence, 0), proxywatch.MaxConfidence)),
		tags:       slices.Clip(f.Tags),
		ttl:        max(f.TTL, 0),
		v4:         f.Guard.MaxPrefixV4,
		v6:         f.Guard.MaxPrefixV6,
	}
	if f.Kind != "" {
		k, err := proxywatch.ParseKind(f.Kind)
		if err != nil {
			return d, fmt.Errorf("feed %q: %w", f.Name, err)
		}
		if k != proxywatch.KindUnknown {
			d.kind = k
		}
	}
	for name, ttl := range f.KindTTL {
		k, err := proxywatch.ParseKind(name)
		if err != nil {
			return d, fmt.Errorf("feed %q: kind_ttl: %w", f.Name, err)
		}
		if int(k) < len(d.kindTTL) && ttl > 0 {
			d.kindTTL[k] = ttl
		}
	}
	return d, nil
}

// lifetime returns how long an indicator of kind k lives, or 0 for ever.
func (d *defaults) lifetime(k proxywatch.Kind) time.Duration {
	ttl := d.ttl
	if int(k) < len(d.kindTTL) {
		if kt := d.kindTTL[k]; kt > 0 && (ttl == 0 || kt < ttl) {
			ttl = kt
		}
	}
	return ttl
}

// tooWide returns the guard's reason for refusing s, or "".
func (d *defaults) tooWide(s proxywatch.Subject) string {
	switch s.Type() {
	case proxywatch.SubjectNone:
		return ReasonNoSubject
	case proxywatch.SubjectPrefix:
		if s.Prefix.Addr().Is4() {
			if s.Prefix.Bits() < d.v4 {
				return ReasonTooWideV4
			}
		} else if s.Prefix.Bits() < d.v6 {
			return ReasonTooWideV6
		}
	}
	return ""
}

func (d *defaults) apply(ind *proxywatch.Indicator, now time.Time) {
	ind.Source.Feed = d.name
	if ind.Kind == proxywatch.KindUnknown {
		ind.Kind = d.kind
	}
	if ind.Confidence == 0 {
		ind.Confidence = d.confidence
	}
	ind.Confidence = min(ind.Confidence, proxywatch.MaxConfidence)
	if len(d.tags) > 0 {
		if len(ind.Tags) == 0 {
			ind.Tags = d.tags
		} else {
			for _, t := range d.tags {
				if !slices.Contains(ind.Tags, t) {
					ind.Tags = append(slices.Clip(ind.Tags), t)
				}
			}
		}
	}
	if ind.Expires.IsZero() {
		if ttl := d.lifetime(ind.Kind); ttl > 0 {
			from := now
			if !ind.LastSeen.IsZero() && ind.LastSeen.Before(now) {
				from = ind.LastSeen
			}
			ind.Expires = from.Add(ttl)
		}
	}
}

// collect is Collect with the key hashes; hash is hashKey but for tests.
func collect(r intel.Reader, f Feed, now time.Time, seed maphash.Seed, hash func(*maphash.Hash, *proxywatch.Key) uint64) (collected, error) {
	var c collected
	d, err := newDefaults(f)
	if err != nil {
		return c, err
	}
	var h maphash.Hash
	h.SetSeed(seed)
	seen := map[uint64]int{}                   // key hash -> index of the first indicator with it
	var collisions map[proxywatch.Key]struct{} // keys whose hash an earlier, different key took
	for {
		ind, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if c.rep.Read.Count(err) {
				continue
			}
			return collected{rep: c.rep}, fmt.Errorf("read feed %q: %w", f.Name, err)
		}
		c.rep.Read.Accepted++
		if reason := d.tooWide(ind.Subject); reason != "" {
			if c.rep.GuardRefused == nil {
				c.rep.GuardRefused = map[string]int{}
			}
			c.rep.GuardRefused[reason]++
			if len(c.rep.GuardSamples) < maxGuardSamples {
				c.rep.GuardSamples = append(c.rep.GuardSamples, Refusal{Line: ind.Source.Line, Subject: ind.Subject.String(), Reason: reason})
			}
			continue
		}
		d.apply(&ind, now)
		key := ind.Key()
		sum := hash(&h, &key)
		if i, ok := seen[sum]; ok {
			if c.inds[i].Key() == key {
				c.rep.Duplicates++
				continue
			}
			if collisions == nil {
				collisions = map[proxywatch.Key]struct{}{}
			}
			if _, dup := collisions[key]; dup {
				c.rep.Duplicates++
				continue
			}
			collisions[key] = struct{}{}
		} else {
			seen[sum] = len(c.inds)
		}
		if ind.ExpiredAt(now) {
			c.rep.Expired++
		}
		c.inds = append(c.inds, ind)
		c.keys = append(c.keys, sum)
	}
	if ex, ok := r.(intel.Excluder); ok && len(ex.Exclusions()) > 0 {
		c.carve(ex.Exclusions(), &h, hash)
	}
	c.rep.Accepted = len(c.inds)
	slices.Sort(c.keys)
	c.keys = slices.Compact(c.keys)
	return c, nil
}

// carve removes the document's exclusions (rbldnsd "!" entries, which
// apply to the whole dataset wherever they appear) from every prefix
// indicator, splitting prefixes that are partly excluded.
func (c *collected) carve(excl []netip.Prefix, h *maphash.Hash, hash func(*maphash.Hash, *proxywatch.Key) uint64) {
	out := c.inds[:0:0]
	for _, ind := range c.inds {
		if ind.Subject.Type() != proxywatch.SubjectPrefix {
			out = append(out, ind)
			continue
		}
		parts := intel.Carve(ind.Subject.Prefix, excl)
		if len(parts) != 1 || parts[0] != ind.Subject.Prefix {
			c.rep.Carved++
		}
		for _, p := range parts {
			part := ind
			part.Subject = proxywatch.PrefixSubject(p)
			out = append(out, part)
		}
	}
	c.inds = out
	c.keys = c.keys[:0]
	for i := range c.inds {
		key := c.inds[i].Key()
		c.keys = append(c.keys, hash(h, &key))
	}
}

// hashKey hashes every field of k but the feed, which is the same for the
// whole document.
func hashKey(h *maphash.Hash, k *proxywatch.Key) uint64 {
	h.Reset()
	var b [16 + 2 + 4 + 1 + 2]byte
	a := k.Subject.Prefix.Addr()
	a16 := a.As16()
	copy(b[:16], a16[:])
	b[16] = byte(a.BitLen() / 32) // 0, 1 (IPv4) or 4 (IPv6)
	b[17] = byte(k.Subject.Prefix.Bits())
	binary.LittleEndian.PutUint32(b[18:], k.Subject.ASN)
	b[22] = byte(k.Kind)
	binary.LittleEndian.PutUint16(b[23:], k.Port)
	h.Write(b[:])
	h.WriteString(k.Subject.Domain)
	h.WriteByte(0)
	h.WriteString(k.Proto)
	return h.Sum64()
}
