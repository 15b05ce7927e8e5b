package verdict

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// refTable is the slow reference the differential tests hold Table to: a
// slice of indicators scanned linearly, written from the package
// documentation rather than from the implementation.
type refTable struct {
	inds  []proxywatch.Indicator
	allow []netip.Prefix
}

func (r *refTable) put(ind proxywatch.Indicator) {
	if ind.Subject.Type() != proxywatch.SubjectPrefix {
		return
	}
	ind = normRef(ind)
	k := ind.Key()
	for i := range r.inds {
		if r.inds[i].Key() == k {
			r.inds[i] = ind
			return
		}
	}
	r.inds = append(r.inds, ind)
}

func (r *refTable) delete(k proxywatch.Key) bool {
	if k.Subject.Type() != proxywatch.SubjectPrefix {
		return false
	}
	k.Subject = proxywatch.PrefixSubject(unmapPrefix(k.Subject.Prefix))
	for i := range r.inds {
		if r.inds[i].Key() == k {
			r.inds = slices.Delete(r.inds, i, i+1)
			return true
		}
	}
	return false
}

// replaceFeed drops the feed and expired indicators, then adds the feed's
// new indicators, keeping per key the highest confidence, then latest
// expiry, then latest last sighting, then earliest line.
func (r *refTable) replaceFeed(feed string, inds []proxywatch.Indicator, wall time.Time) int {
	r.inds = slices.DeleteFunc(r.inds, func(ind proxywatch.Indicator) bool {
		return ind.Source.Feed == feed || ind.ExpiredAt(wall)
	})
	best := map[proxywatch.Key]proxywatch.Indicator{}
	var order []proxywatch.Key
	for _, ind := range inds {
		if ind.Subject.Type() != proxywatch.SubjectPrefix {
			continue
		}
		ind.Source.Feed = feed
		ind = normRef(ind)
		k := ind.Key()
		old, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || refWins(ind, old) {
			best[k] = ind
		}
	}
	for _, k := range order {
		r.inds = append(r.inds, best[k])
	}
	return len(order)
}

func (r *refTable) compact(wall time.Time) {
	r.inds = slices.DeleteFunc(r.inds, func(ind proxywatch.Indicator) bool { return ind.ExpiredAt(wall) })
}

func refWins(a, b proxywatch.Indicator) bool {
	if c := cmp.Compare(a.Confidence, b.Confidence); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(refTime(a.Expires, math.MaxInt64), refTime(b.Expires, math.MaxInt64)); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(refTime(a.LastSeen, math.MinInt64), refTime(b.LastSeen, math.MinInt64)); c != 0 {
		return c > 0
	}
	return a.Source.Line < b.Source.Line
}

func refTime(t time.Time, zero int64) int64 {
	if t.IsZero() {
		return zero
	}
	return t.UnixNano()
}

func (r *refTable) lookup(addr netip.Addr, now time.Time) []proxywatch.Indicator {
	addr = addr.Unmap()
	var out []proxywatch.Indicator
	for _, ind := range r.inds {
		if ind.Subject.Prefix.Contains(addr) && !ind.ExpiredAt(now) {
			out = append(out, ind)
		}
	}
	return out
}

func (r *refTable) allowlisted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range r.allow {
		if unmapPrefix(p).Contains(addr) {
			return true
		}
	}
	return false
}

// normRef gives ind the form the table returns: a masked, unmapped
// prefix, times in UTC, confidence clamped, no empty tag slice.
func normRef(ind proxywatch.Indicator) proxywatch.Indicator {
	ind.Subject = proxywatch.PrefixSubject(unmapPrefix(ind.Subject.Prefix))
	ind.Confidence = min(ind.Confidence, proxywatch.MaxConfidence)
	if len(ind.Tags) == 0 {
		ind.Tags = nil
	}
	for _, t := range []*time.Time{&ind.FirstSeen, &ind.LastSeen, &ind.Expires} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	return ind
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// sortInds orders indicators canonically for comparison.
func sortInds(inds []proxywatch.Indicator) {
	slices.SortFunc(inds, func(a, b proxywatch.Indicator) int {
		if c := a.Subject.Prefix.Compare(b.Subject.Prefix); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Source.Feed, b.Source.Feed); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		return cmp.Compare(a.Proto, b.Proto)
	})
}
