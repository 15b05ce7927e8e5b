package flowwatch

// table is a map of at most capacity entries. When it is full, putting a
// new key evicts the least valuable of a few entries picked at random
// (sampled eviction, as Redis and Ristretto do): no linked lists, no
// per-entry overhead beyond the index. Pointers returned by get and put
// are valid only until the next put or remove.
//
// The index is an open-addressing hash table with linear probing and
// deletion by backward shift, at most half full: it doubles as the table
// fills, up to twice the capacity rounded up to a power of two, then
// keeps its size and leaves no tombstones under churn. Each slot, 8
// bytes, holds the low half of the key's hash next to the entry's
// position, so that a lookup reads one slot or two before the entry
// itself, and hashes with the key's own fixed function.
type table[K tableKey, V any] struct {
	slots    []uint64 // 0: empty; else hash<<32 | position+1
	mask     uint64
	ents     []entry[K, V]
	capacity int
	rng      uint64
	evicted  int64
}

// tableKey is a key of a table: comparable, with a fixed hash (never
// seeded per process).
type tableKey interface {
	comparable
	hash() uint64
}

type entry[K tableKey, V any] struct {
	key K
	val V
}

// evictSample is how many entries an eviction compares.
const evictSample = 8

// minSlots is the size of an empty table's index.
const minSlots = 64

func newTable[K tableKey, V any](capacity int) *table[K, V] {
	return &table[K, V]{slots: make([]uint64, minSlots), mask: minSlots - 1, capacity: capacity, rng: 0x853c49e6748fea9b}
}

// grow doubles the index and indexes every entry again.
func (t *table[K, V]) grow() {
	n := 2 * len(t.slots)
	t.slots, t.mask = make([]uint64, n), uint64(n-1)
	for i := range t.ents {
		t.index(t.ents[i].key, i)
	}
}

func (t *table[K, V]) len() int { return len(t.ents) }

func (t *table[K, V]) full() bool { return len(t.ents) >= t.capacity }

// slotOf returns the slot of k, or -1.
func (t *table[K, V]) slotOf(k K) int {
	h := uint32(k.hash())
	for i := uint64(h) & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == h && t.ents[uint32(s)-1].key == k {
			return int(i)
		}
	}
}

func (t *table[K, V]) get(k K) *V {
	if i := t.slotOf(k); i >= 0 {
		return &t.ents[uint32(t.slots[i])-1].val
	}
	return nil
}

// index records that k, not in the index, is at position pos.
func (t *table[K, V]) index(k K, pos int) {
	h := uint32(k.hash())
	i := uint64(h) & t.mask
	for t.slots[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = uint64(h)<<32 | uint64(pos+1)
}

// unindex removes k, which is in the index, shifting back the slots
// after it that would otherwise be cut off from their home.
func (t *table[K, V]) unindex(k K) {
	i := uint64(t.slotOf(k))
	for {
		t.slots[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			s := t.slots[j]
			if s == 0 {
				return
			}
			// The entry at j may move to i unless its home lies
			// cyclically in (i, j].
			home := uint64(uint32(s>>32)) & t.mask
			if (j-home)&t.mask >= (j-i)&t.mask {
				break
			}
		}
		t.slots[i] = t.slots[j]
		i = j
	}
}

// reindex records that k, in the index, moved to position pos.
func (t *table[K, V]) reindex(k K, pos int) {
	i := t.slotOf(k)
	t.slots[i] = t.slots[i]&^0xffffffff | uint64(pos+1)
}

// put inserts k with the zero value and returns it, evicting first if the
// table is full. worth rates entries for eviction (lower goes first).
// put must not be called for a key already present.
func (t *table[K, V]) put(k K, worth func(*V) float64) *V {
	if t.full() {
		return t.replaceAt(t.victim(worth), k)
	}
	if 2*(len(t.ents)+1) > len(t.slots) {
		t.grow()
	}
	t.index(k, len(t.ents))
	t.ents = append(t.ents, entry[K, V]{key: k})
	return &t.ents[len(t.ents)-1].val
}

// admit inserts k if the table has room, or if worth of the entry it
// would evict is below w; it returns nil when k is not admitted.
func (t *table[K, V]) admit(k K, w float64, worth func(*V) float64) *V {
	if !t.full() {
		return t.put(k, worth)
	}
	i := t.victim(worth)
	if worth(&t.ents[i].val) >= w {
		return nil
	}
	return t.replaceAt(i, k)
}

// replaceAt evicts entry i and puts k, with the zero value, in its place:
// no entry moves.
func (t *table[K, V]) replaceAt(i int, k K) *V {
	t.unindex(t.ents[i].key)
	t.evicted++
	t.ents[i] = entry[K, V]{key: k}
	t.index(k, i)
	return &t.ents[i].val
}

// victim returns the index of the least worthy of a sample of entries.
func (t *table[K, V]) victim(worth func(*V) float64) int {
	best, bw := -1, 0.0
	for range evictSample {
		t.rng = t.rng*6364136223846793005 + 1442695040888963407
		i := int(mix64(t.rng) % uint64(len(t.ents)))
		if w := worth(&t.ents[i].val); best < 0 || w < bw {
			best, bw = i, w
		}
	}
	return best
}

func (t *table[K, V]) removeAt(i int) {
	last := len(t.ents) - 1
	t.unindex(t.ents[i].key)
	if i != last {
		t.ents[i] = t.ents[last]
		t.reindex(t.ents[i].key, i)
	}
	var zero entry[K, V]
	t.ents[last] = zero
	t.ents = t.ents[:last]
}

// sweep removes every entry for which drop returns true.
func (t *table[K, V]) sweep(drop func(K, *V) bool) {
	for i := 0; i < len(t.ents); {
		if drop(t.ents[i].key, &t.ents[i].val) {
			t.removeAt(i)
			continue
		}
		i++
	}
}
