package verdict

import "github.com/proxywatch/proxywatch"

// kindSlots bounds the kinds a Summary tracks separately; kinds beyond it
// count as proxywatch.KindOther. TestKindSlots holds it above the number of
// kinds.
const kindSlots = 16

// A Summary combines the hits of one address into a verdict for an
// interface with a minimum confidence. It is a value of fixed size; making
// one does not allocate.
type Summary struct {
	// Listed reports whether the address is to be answered as listed: some
	// hit reaches the minimum confidence and the address is not allowlisted.
	Listed bool
	// Allowlisted reports whether the address is in the allowlist.
	Allowlisted bool
	// Qualified reports whether some hit reaches the minimum confidence,
	// whatever the allowlist says; for an allowlisted address it says that
	// the address would otherwise have been listed.
	Qualified bool
	// Hits is the number of hits combined.
	Hits int
	// MaxConfidence is the highest confidence among the hits.
	MaxConfidence uint8
	// Top is the hit that decides the answer: among the kinds whose best
	// hit reaches the minimum confidence, the best hit of the kind with the
	// highest priority (the order of proxywatch.Kinds, KindUnknown last).
	// When no hit reaches the minimum it is the hit with the highest
	// confidence. It is the zero Hit when there are no hits.
	Top Hit

	best [kindSlots]Hit
}

// Summarize combines hits, as returned by [Table.Lookup] for one address,
// for an interface whose minimum confidence is minConf:
//
//   - per kind, the hit with the highest confidence wins (on a tie, the
//     first in hits: Lookup returns the most specific prefix first);
//   - the address qualifies when some hit has at least minConf;
//   - it is listed when it qualifies and is not allowlisted.
//
// Summarize is pure and does not allocate.
func Summarize(hits []Hit, minConf uint8) Summary {
	s := Summary{Hits: len(hits)}
	for _, h := range hits {
		if !h.Valid() {
			s.Hits--
			continue
		}
		if h.allow {
			s.Allowlisted = true
		}
		i := slot(h.kind)
		if b := s.best[i]; !b.Valid() || h.conf > b.conf {
			s.best[i] = h
		}
		if !s.Top.Valid() || h.conf > s.Top.conf {
			s.Top = h
		}
		s.MaxConfidence = max(s.MaxConfidence, h.conf)
	}
	s.Qualified = s.Hits > 0 && s.MaxConfidence >= minConf
	s.Listed = s.Qualified && !s.Allowlisted
	if s.Qualified {
		for _, k := range priority {
			if b := s.best[k]; b.Valid() && b.conf >= minConf {
				s.Top = b
				break
			}
		}
	}
	return s
}

// Best returns the winning hit of kind k, if any hit has that kind.
func (s *Summary) Best(k proxywatch.Kind) (Hit, bool) {
	h := s.best[slot(k)]
	return h, h.Valid()
}

// AppendBest appends the winning hit of each kind to dst in priority
// order and returns the extended slice.
func (s *Summary) AppendBest(dst []Hit) []Hit {
	for _, k := range priority {
		if h := s.best[k]; h.Valid() {
			dst = append(dst, h)
		}
	}
	return dst
}

func slot(k proxywatch.Kind) int {
	if int(k) >= kindSlots {
		return int(proxywatch.KindOther)
	}
	return int(k)
}

// priority lists the kind slots in answer order.
var priority = func() []int {
	var p []int
	for _, k := range proxywatch.Kinds() {
		if int(k) < kindSlots {
			p = append(p, int(k))
		}
	}
	return append(p, int(proxywatch.KindUnknown))
}()
