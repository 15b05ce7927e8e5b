package window

import "math"

// HLL is a HyperLogLog sketch: it estimates the number of distinct hashed
// keys added, in 2^p bytes, with a standard error of about 1.04/sqrt(2^p)
// (3.3% at p = 10). Small counts use linear counting and are close to
// exact. Feed it hashes from HashAddr or HashString.
type HLL struct {
	p   uint8
	reg []uint8
}

// NewHLL returns an empty sketch of precision p, clamped to 4..16.
func NewHLL(p int) *HLL {
	p = min(max(p, 4), 16)
	return &HLL{p: uint8(p), reg: make([]uint8, 1<<p)}
}

// Add adds the hash h.
func (s *HLL) Add(h uint64) {
	i := h >> (64 - s.p)
	w := h<<s.p | 1<<(s.p-1) // the guard bit bounds the rank
	r := uint8(leadingZeros(w) + 1)
	if r > s.reg[i] {
		s.reg[i] = r
	}
}

// Count returns the estimated number of distinct hashes added.
func (s *HLL) Count() uint64 {
	m := float64(len(s.reg))
	var sum float64
	zeros := 0
	for _, r := range s.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	var alpha float64
	switch len(s.reg) {
	case 16:
		alpha = 0.673
	case 32:
		alpha = 0.697
	case 64:
		alpha = 0.709
	default:
		alpha = 0.7213 / (1 + 1.079/m)
	}
	est := alpha * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return uint64(est + 0.5)
}

// Merge adds the keys of o, which must have the same precision.
func (s *HLL) Merge(o *HLL) {
	if o == nil || o.p != s.p {
		return
	}
	for i, r := range o.reg {
		if r > s.reg[i] {
			s.reg[i] = r
		}
	}
}

// Reset empties the sketch.
func (s *HLL) Reset() { clear(s.reg) }
