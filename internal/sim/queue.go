package sim

// A tq is a time-ordered queue: values of T stored in a slab, ordered by
// (key, insertion sequence) in a binary heap of small entries, so that
// equal keys come out in insertion order and output is deterministic.
type tq[T any] struct {
	slab []T
	free []int32
	heap []tqEntry
	seq  uint64
	peak int
}

type tqEntry struct {
	key int64
	seq uint64
	idx int32
}

func (q *tq[T]) less(i, j int) bool {
	a, b := &q.heap[i], &q.heap[j]
	return a.key < b.key || (a.key == b.key && a.seq < b.seq)
}

// push adds v with key k.
func (q *tq[T]) push(k int64, v *T) {
	var idx int32
	if n := len(q.free); n > 0 {
		idx = q.free[n-1]
		q.free = q.free[:n-1]
		q.slab[idx] = *v
	} else {
		idx = int32(len(q.slab))
		q.slab = append(q.slab, *v)
	}
	q.seq++
	q.heap = append(q.heap, tqEntry{k, q.seq, idx})
	// Sift up.
	i := len(q.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
	if len(q.heap) > q.peak {
		q.peak = len(q.heap)
	}
}

// len returns the number of queued values.
func (q *tq[T]) len() int { return len(q.heap) }

// minKey returns the smallest key; the queue must not be empty.
func (q *tq[T]) minKey() int64 { return q.heap[0].key }

// pop removes the value with the smallest key and returns a pointer to
// it, valid until the next push.
func (q *tq[T]) pop() *T {
	top := q.heap[0]
	n := len(q.heap) - 1
	q.heap[0] = q.heap[n]
	q.heap = q.heap[:n]
	q.down(0)
	q.free = append(q.free, top.idx)
	return &q.slab[top.idx]
}

func (q *tq[T]) down(i int) {
	n := len(q.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			return
		}
		q.heap[i], q.heap[m] = q.heap[m], q.heap[i]
		i = m
	}
}
