package window

import "math"

// Seen remembers hashed keys in a fixed number of bits: two Bloom filters,
// the current one and the previous one. A key added is remembered for at
// least one period (or until capacity more keys have been added) and
// forgotten after two; keys that keep being added stay. Contains may say
// yes for a key never added, with about the configured false-positive rate
// while each filter holds at most capacity keys, and never says no for a
// key added within the last period.
type Seen struct {
	cur, prev []uint64 // bit sets
	m         uint64   // bits per filter
	k         int      // hash functions
	n         int      // keys added to cur
	capacity  int
	period    int64 // seconds; 0 means rotate by count only
	since     int64 // when cur was started
	started   bool
}

// NewSeen returns a Seen sized for capacity keys per period at the false
// positive rate fp (clamped to 1e-6..0.5). It takes about
// 2 × capacity × 1.44 × log2(1/fp) bits: 3.6 MB for a million keys at 0.1%.
func NewSeen(capacity int, fp float64, period int64) *Seen {
	capacity = max(capacity, 16)
	fp = min(max(fp, 1e-6), 0.5)
	bitsPerKey := -math.Log(fp) / (math.Ln2 * math.Ln2)
	m := uint64(math.Ceil(float64(capacity)*bitsPerKey/64)) * 64
	k := max(1, int(math.Round(bitsPerKey*math.Ln2)))
	return &Seen{cur: make([]uint64, m/64), prev: make([]uint64, m/64), m: m, k: k, capacity: capacity, period: max(period, 0)}
}

// Bytes returns the memory the filters take.
func (s *Seen) Bytes() int { return 16 * len(s.cur) }

// rotate starts a new current filter if the period has passed or the
// current one is full.
func (s *Seen) rotate(now int64) {
	if !s.started {
		s.since, s.started = now, true
	}
	if s.n < s.capacity && (s.period == 0 || now-s.since < s.period) {
		return
	}
	s.cur, s.prev = s.prev, s.cur
	clear(s.cur)
	s.n, s.since = 0, now
}

// Add remembers the hash h at time now (seconds).
func (s *Seen) Add(h uint64, now int64) {
	s.rotate(now)
	if s.in(s.cur, h) {
		return
	}
	h1, h2 := h, mix(h)|1
	for i := 0; i < s.k; i++ {
		b := (h1 + uint64(i)*h2) % s.m
		s.cur[b/64] |= 1 << (b % 64)
	}
	s.n++
}

// Contains reports whether h was (probably) added within the last one to
// two periods.
func (s *Seen) Contains(h uint64) bool {
	return s.in(s.cur, h) || s.in(s.prev, h)
}

func (s *Seen) in(set []uint64, h uint64) bool {
	h1, h2 := h, mix(h)|1
	for i := 0; i < s.k; i++ {
		b := (h1 + uint64(i)*h2) % s.m
		if set[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}
