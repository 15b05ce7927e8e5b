package stitch

import "encoding/binary"

// table maps session keys to entry indexes: open addressing with linear
// probing and backward-shift deletion (so no tombstones build up under the
// constant insert and delete of a session table). Slots hold entry index
// plus one; 0 is empty. Keys live in the entries, with their hash.
//
// It replaced a map[key]int32, whose hashing and probing of 40-byte keys
// took a third of the stitching time (BenchmarkStitch, 2026-11).
type table struct {
	slots []int32
	mask  uint64
	n     int
}

// newTable returns a table for up to n keys, at most half full.
func newTable(n int) table {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	return table{slots: make([]int32, size), mask: uint64(size - 1)}
}

// hashKey mixes a key into 64 bits.
func hashKey(k *key) uint64 {
	le := binary.LittleEndian
	h := le.Uint64(k.a[:8])*0x9e3779b97f4a7c15 ^ le.Uint64(k.a[8:])*0xc2b2ae3d27d4eb4f
	h ^= le.Uint64(k.b[:8])*0x165667b19e3779f9 ^ le.Uint64(k.b[8:])*0x27d4eb2f165667c5
	h ^= uint64(k.ap)<<24 | uint64(k.bp)<<8 | uint64(k.proto)
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>32
}

// find returns the entry index of k, or -1.
func (t *table) find(ents []entry, k *key, h uint64) int32 {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if e := &ents[s-1]; e.hash == h && e.k == *k {
			return s - 1
		}
	}
}

// insert adds entry index idx for hash h; the key must not be present.
func (t *table) insert(h uint64, idx int32) {
	i := h & t.mask
	for t.slots[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = idx + 1
	t.n++
}

// remove deletes entry index idx (with hash h), shifting back the entries
// that follow it in its probe run.
func (t *table) remove(ents []entry, h uint64, idx int32) {
	i := h & t.mask
	for t.slots[i] != idx+1 {
		i = (i + 1) & t.mask
	}
	t.n--
	for {
		t.slots[i] = 0
		j := i
		for {
			j = (j + 1) & t.mask
			s := t.slots[j]
			if s == 0 {
				return
			}
			home := ents[s-1].hash & t.mask
			// Move the entry at j into the hole at i unless its home
			// lies cyclically in (i, j].
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t.slots[i] = s
				i = j
				break
			}
		}
	}
}
