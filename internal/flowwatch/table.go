package flowwatch

// table is a map of at most capacity entries. When it is full, putting a
// new key evicts the least valuable of a few entries picked at random
// (sampled eviction, as Redis and Ristretto do): no linked lists, no
// per-entry overhead beyond the index. Pointers returned by get and put
// are valid only until the next put or remove.
type table[K comparable, V any] struct {
	idx      map[K]int32
	ents     []entry[K, V]
	capacity int
	rng      uint64
	evicted  int64
	churn    int // deletions since the index was last rebuilt
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// evictSample is how many entries an eviction compares.
const evictSample = 8

func newTable[K comparable, V any](capacity int) *table[K, V] {
	return &table[K, V]{idx: make(map[K]int32), capacity: capacity, rng: 0x853c49e6748fea9b}
}

func (t *table[K, V]) len() int { return len(t.ents) }

func (t *table[K, V]) full() bool { return len(t.ents) >= t.capacity }

func (t *table[K, V]) get(k K) *V {
	if i, ok := t.idx[k]; ok {
		return &t.ents[i].val
	}
	return nil
}

// put inserts k with the zero value and returns it, evicting first if the
// table is full. worth rates entries for eviction (lower goes first).
// put must not be called for a key already present.
func (t *table[K, V]) put(k K, worth func(*V) float64) *V {
	if t.full() {
		return t.replaceAt(t.victim(worth), k)
	}
	t.idx[k] = int32(len(t.ents))
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
	delete(t.idx, t.ents[i].key)
	t.evicted++
	t.ents[i] = entry[K, V]{key: k}
	t.idx[k] = int32(i)
	t.deleted() // last: a rebuild must see the table as it now is
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

// deleted counts a deletion from the index, and rebuilds the index after
// many: a map that keeps its size under constant churn otherwise grows
// (BenchmarkProcess over a million hosts, 2026-11: +0.7 MiB per million
// sessions without it).
func (t *table[K, V]) deleted() {
	if t.churn++; t.churn < 8*max(t.capacity, 1024) {
		return
	}
	t.churn = 0
	idx := make(map[K]int32, len(t.ents))
	for i := range t.ents {
		idx[t.ents[i].key] = int32(i)
	}
	t.idx = idx
}

func (t *table[K, V]) removeAt(i int) {
	last := len(t.ents) - 1
	delete(t.idx, t.ents[i].key)
	if i != last {
		t.ents[i] = t.ents[last]
		t.idx[t.ents[i].key] = int32(i)
	}
	var zero entry[K, V]
	t.ents[last] = zero
	t.ents = t.ents[:last]
	t.deleted() // last: a rebuild must see the table as it now is
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
