package verdict

import (
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// A snapshot is one immutable state of the table, published through
// Table.cur. Readers load it once per lookup and never lock.
type snapshot struct {
	base *base
	// ov holds single changes made since base was built: per prefix, the
	// indicators added and the base recs hidden (deleted or replaced).
	// It is nil when there are none, so that lookups skip it.
	ov      *bart.Table[*oentry]
	pending int // single changes folded into ov
	allow   *bart.Lite
}

// An oentry is the pending state of one prefix. It is immutable: a change
// makes a new one.
type oentry struct {
	recs []rec   // indicators added at this prefix
	dead []int32 // indices of hidden base recs at this prefix
}

// An op is a single change, kept until the next rebuild so that changes
// made during a rebuild can be replayed onto its result.
type op struct {
	r   rec // the indicator to put, or only its key when del
	del bool
}

// apply returns s with o applied, and whether an indicator with o's key
// was present before.
func (s *snapshot) apply(o *op) (*snapshot, bool) {
	p := o.r.prefix()
	var old *oentry
	if s.ov != nil {
		old, _ = s.ov.Get(p)
	}
	ne := &oentry{}
	found := false
	if old != nil {
		ne.recs = make([]rec, 0, len(old.recs)+1)
		for i := range old.recs {
			if sameKey(&old.recs[i], &o.r) {
				found = true
				continue
			}
			ne.recs = append(ne.recs, old.recs[i])
		}
		ne.dead = old.dead
	}
	if !found {
		// A key present in the overlay is already hidden in the base.
		if i := s.base.find(&o.r); i >= 0 && (old == nil || !slices.Contains(old.dead, i)) {
			ne.dead = append(slices.Clip(ne.dead), i)
			found = true
		}
	}
	if !o.del {
		ne.recs = append(ne.recs, o.r)
	}
	ns := *s
	ns.pending++
	ov := s.ov
	if ov == nil {
		ov = new(bart.Table[*oentry])
	}
	if len(ne.recs) == 0 && len(ne.dead) == 0 {
		ov = ov.DeletePersist(p)
	} else {
		ov = ov.InsertPersist(p, ne)
	}
	ns.ov = ov
	if ov.Size() == 0 {
		ns.ov = nil
	}
	return &ns, found
}

// overlayHits removes from dst[start:] the base hits that pending changes
// hide, and appends the pending indicators that cover addr and have not
// expired at now.
func (s *snapshot) overlayHits(addr netip.Addr, now int64, start int, dst []Hit) []Hit {
	recs := s.base.recs
	for _, oe := range s.ov.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		for _, d := range oe.dead {
			r := &recs[d]
			for k := start; k < len(dst); k++ {
				if dst[k].r == r {
					copy(dst[k:], dst[k+1:])
					dst = dst[:len(dst)-1]
					break
				}
			}
		}
		for i := range oe.recs {
			if r := &oe.recs[i]; r.exp > now {
				dst = append(dst, hitOf(r))
			}
		}
	}
	return dst
}

// live returns the recs of s that survive a rebuild at now: base recs not
// hidden, and pending recs, both unexpired and not of feed drop (when
// dropping). The pending recs come back sorted by cmpPrefix.
func (s *snapshot) live(now int64, drop string, dropping bool) (keep func(int) bool, pending []rec) {
	var hidden bitset
	if s.ov != nil {
		hidden = newBitset(len(s.base.recs))
		for _, oe := range s.ov.All() {
			for _, d := range oe.dead {
				hidden.set(d)
			}
			for i := range oe.recs {
				r := &oe.recs[i]
				if r.exp > now && (!dropping || r.meta.feed != drop) {
					pending = append(pending, *r)
				}
			}
		}
		slices.SortFunc(pending, func(a, b rec) int { return cmpPrefix(&a, &b) })
	}
	recs := s.base.recs
	keep = func(i int) bool {
		r := &recs[i]
		return r.exp > now && (!dropping || r.meta.feed != drop) && (hidden == nil || !hidden.has(i))
	}
	return keep, pending
}
