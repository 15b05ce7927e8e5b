package window

// Buckets counts events in fixed-width time buckets over a sliding span:
// a ring of n buckets of width seconds each. Events older than the ring
// are dropped; moving forward clears the buckets left behind. Memory is
// four bytes per bucket.
type Buckets struct {
	width  int64
	counts []uint32
	newest int64 // bucket number (time/width) of the newest bucket; -1 before the first event
}

// NewBuckets returns a ring of n (at least 1) buckets of width seconds
// (at least 1).
func NewBuckets(width int64, n int) *Buckets {
	return &Buckets{width: max(width, 1), counts: make([]uint32, max(n, 1)), newest: -1}
}

// Width returns the bucket width in seconds.
func (b *Buckets) Width() int64 { return b.width }

// Len returns the number of buckets in the ring.
func (b *Buckets) Len() int { return len(b.counts) }

// BucketOf returns the number of the bucket holding time t.
func (b *Buckets) BucketOf(t int64) int64 { return floorDiv(t, b.width) }

// Advance moves the ring forward to the bucket holding t, clearing the
// buckets passed over. It never moves backwards.
func (b *Buckets) Advance(t int64) {
	nb := b.BucketOf(t)
	if b.newest < 0 {
		b.newest = nb
		return
	}
	if nb <= b.newest {
		return
	}
	n := int64(len(b.counts))
	if nb-b.newest >= n {
		clear(b.counts)
	} else {
		for x := b.newest + 1; x <= nb; x++ {
			b.counts[x%n] = 0
		}
	}
	b.newest = nb
}

// Add counts v events at t, advancing the ring to t first. It reports
// false, counting nothing, when t is older than the ring's oldest bucket.
func (b *Buckets) Add(t int64, v uint32) bool {
	b.Advance(t)
	nb := b.BucketOf(t)
	n := int64(len(b.counts))
	if nb <= b.newest-n {
		return false
	}
	b.counts[nb%n] += v
	return true
}

// Get returns the count of bucket number nb (0 outside the ring).
func (b *Buckets) Get(nb int64) uint32 {
	n := int64(len(b.counts))
	if b.newest < 0 || nb > b.newest || nb <= b.newest-n {
		return 0
	}
	return b.counts[nb%n]
}

// Sum returns the count of the k buckets ending with bucket number last
// (inclusive); buckets outside the ring count zero.
func (b *Buckets) Sum(last int64, k int) uint64 {
	var s uint64
	for x := last - int64(k) + 1; x <= last; x++ {
		s += uint64(b.Get(x))
	}
	return s
}

// Newest returns the number of the newest bucket, -1 before any event.
func (b *Buckets) Newest() int64 { return b.newest }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
