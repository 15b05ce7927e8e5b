// Package window holds the bounded building blocks of the login detectors:
// a fixed-capacity LRU map for per-address and per-account state, rings
// of recent event times, sliding-window bucket counters, bounded exact
// distinct counters, a HyperLogLog sketch for large distinct counts, and a
// rotating Bloom filter for "seen before" questions.
//
// Every structure here has a size fixed by its constructor or its type, so
// memory follows configuration, never the number of distinct keys an
// attacker sends. Times are whole seconds on a clock the caller chooses
// (event time in batch, wall time when serving). Nothing here is safe for
// concurrent use; callers hold their own lock.
package window

import "iter"

// LRU is a map of at most Cap keys that evicts its least recently used
// key to make room for a new one. Slots are allocated as keys arrive, up
// to the capacity, and then reused. Keys should hold no pointers
// (a [16]byte rather than a netip.Addr), so that a large LRU costs the
// garbage collector nothing to scan.
//
// A *V returned by Get, Peek or Put stays valid until the next Put or
// Remove.
type LRU[K comparable, V any] struct {
	idx     map[K]int32
	keys    []K
	vals    []V
	prev    []int32
	next    []int32
	head    int32 // most recently used, -1 when empty
	tail    int32 // least recently used, -1 when empty
	free    int32 // a removed slot to reuse, chained through next; -1 when none
	cap     int
	onEvict func(K, *V)
}

// NewLRU returns an empty LRU holding at most capacity keys (at least 1).
// onEvict, if not nil, is called with each key evicted to make room (not
// with keys removed by Remove), before its slot is reused.
func NewLRU[K comparable, V any](capacity int, onEvict func(K, *V)) *LRU[K, V] {
	capacity = max(capacity, 1)
	return &LRU[K, V]{idx: make(map[K]int32, min(capacity, 1024)), head: -1, tail: -1, free: -1, cap: capacity, onEvict: onEvict}
}

// Len returns the number of keys held.
func (l *LRU[K, V]) Len() int { return len(l.idx) }

// Cap returns the most keys l holds.
func (l *LRU[K, V]) Cap() int { return l.cap }

// Get returns the value of k and marks k most recently used.
func (l *LRU[K, V]) Get(k K) (*V, bool) {
	i, ok := l.idx[k]
	if !ok {
		return nil, false
	}
	l.toFront(i)
	return &l.vals[i], true
}

// Peek returns the value of k without changing its recency.
func (l *LRU[K, V]) Peek(k K) (*V, bool) {
	i, ok := l.idx[k]
	if !ok {
		return nil, false
	}
	return &l.vals[i], true
}

// Put returns the value of k, marked most recently used, adding k with a
// zero value if it is absent (added is then true). Adding to a full LRU
// evicts the least recently used key first.
func (l *LRU[K, V]) Put(k K) (v *V, added bool) {
	if i, ok := l.idx[k]; ok {
		l.toFront(i)
		return &l.vals[i], false
	}
	var i int32
	switch {
	case l.free >= 0:
		i = l.free
		l.free = l.next[i]
	case len(l.keys) < l.cap:
		i = int32(len(l.keys))
		if len(l.keys) == cap(l.keys) {
			l.grow()
		}
		l.keys = l.keys[:i+1]
		l.vals = l.vals[:i+1]
		l.prev = l.prev[:i+1]
		l.next = l.next[:i+1]
	default:
		i = l.tail
		if l.onEvict != nil {
			l.onEvict(l.keys[i], &l.vals[i])
		}
		delete(l.idx, l.keys[i])
		l.unlink(i)
	}
	var zero V
	l.keys[i], l.vals[i] = k, zero
	l.idx[k] = i
	l.pushFront(i)
	return &l.vals[i], true
}

// Remove deletes k, reporting whether it was present.
func (l *LRU[K, V]) Remove(k K) bool {
	i, ok := l.idx[k]
	if !ok {
		return false
	}
	delete(l.idx, k)
	l.unlink(i)
	var zk K
	var zv V
	l.keys[i], l.vals[i] = zk, zv
	l.next[i] = l.free
	l.free = i
	return true
}

// Oldest returns the least recently used key and its value.
func (l *LRU[K, V]) Oldest() (K, *V, bool) {
	if l.tail < 0 {
		var zk K
		return zk, nil, false
	}
	return l.keys[l.tail], &l.vals[l.tail], true
}

// All yields the keys and values from the most to the least recently
// used. The loop must not call Put or Remove.
func (l *LRU[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for i := l.head; i >= 0; i = l.next[i] {
			if !yield(l.keys[i], &l.vals[i]) {
				return
			}
		}
	}
}

// grow doubles the slot arrays, never past the capacity, so that a full
// LRU holds exactly Cap slots.
func (l *LRU[K, V]) grow() {
	n := min(max(2*len(l.keys), 64), l.cap)
	keys, vals := make([]K, len(l.keys), n), make([]V, len(l.vals), n)
	prev, next := make([]int32, len(l.prev), n), make([]int32, len(l.next), n)
	copy(keys, l.keys)
	copy(vals, l.vals)
	copy(prev, l.prev)
	copy(next, l.next)
	l.keys, l.vals, l.prev, l.next = keys, vals, prev, next
}

func (l *LRU[K, V]) toFront(i int32) {
	if l.head == i {
		return
	}
	l.unlink(i)
	l.pushFront(i)
}

func (l *LRU[K, V]) unlink(i int32) {
	p, n := l.prev[i], l.next[i]
	if p >= 0 {
		l.next[p] = n
	} else {
		l.head = n
	}
	if n >= 0 {
		l.prev[n] = p
	} else {
		l.tail = p
	}
	l.prev[i], l.next[i] = -1, -1
}

func (l *LRU[K, V]) pushFront(i int32) {
	l.prev[i], l.next[i] = -1, l.head
	if l.head >= 0 {
		l.prev[l.head] = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}
