package stitch

import (
	"math/rand/v2"
	"testing"
)

// TestTable checks the open-addressing table against a map through random
// inserts and removals, with keys chosen to collide often.
func TestTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 64
	tb := newTable(n)
	ents := make([]entry, n)
	ref := map[int]int32{} // key id -> entry index
	free := make([]int32, 0, n)
	for i := range n {
		free = append(free, int32(i))
	}
	mk := func(id int) key { return key{ap: uint16(id), proto: 17} }
	for step := range 200_000 {
		id := r.IntN(3 * n)
		k := mk(id)
		// Force collisions: only a few distinct hashes.
		h := hashKey(&k) & 0xff
		got := tb.find(ents, &k, h)
		want, present := ref[id]
		if !present {
			want = -1
		}
		if got != want {
			t.Fatalf("step %d: find(%d) = %d, want %d", step, id, got, want)
		}
		switch {
		case present:
			tb.remove(ents, h, got)
			delete(ref, id)
			free = append(free, got)
		case len(free) > 0:
			idx := free[len(free)-1]
			free = free[:len(free)-1]
			ents[idx] = entry{k: k, hash: h}
			tb.insert(h, idx)
			ref[id] = idx
		}
		if tb.n != len(ref) {
			t.Fatalf("step %d: %d keys, want %d", step, tb.n, len(ref))
		}
	}
}
