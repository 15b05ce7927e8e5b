package flowwatch

import "testing"

// TestTableModel puts, evicts, removes and sweeps at random in a small
// table and checks every key against a map of what it should hold. It
// failed when the index was rebuilt in the middle of a removal, which
// left the removed key pointing at another entry.
func TestTableModel(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		keys     uint64
	}{
		{name: "tiny", capacity: 4, keys: 16},
		{name: "small", capacity: 64, keys: 200},
		{name: "churn", capacity: 1000, keys: 5000},
	}
	steps := 200_000
	if testing.Short() || raceEnabled {
		steps = 40_000
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable[addrKey, uint64](tt.capacity)
			model := map[addrKey]uint64{}
			key := func(x uint64) addrKey {
				var k addrKey
				k[0], k[1], k[15] = byte(x), byte(x>>8), byte(x>>16)
				return k
			}
			x := uint64(1)
			for step := range steps {
				x = mix64(x + uint64(step))
				k := key(x % tt.keys)
				switch x >> 62 {
				case 0, 1:
					if v := tb.get(k); v != nil {
						*v++
						model[k]++
						continue
					}
					*tb.put(k, func(v *uint64) float64 { return float64(*v) }) = 1
					model[k] = 1
				case 2:
					if tb.len() > 0 {
						i := int(x>>20) % tb.len()
						delete(model, tb.ents[i].key)
						tb.removeAt(i)
					}
				default:
					tb.sweep(func(k addrKey, v *uint64) bool {
						if (*v+uint64(k[0]))%7 == 0 {
							delete(model, k)
							return true
						}
						return false
					})
				}
				if step%61 != 0 {
					continue
				}
				// Evictions drop keys from the table: drop them from
				// the model too.
				for mk := range model {
					if tb.get(mk) == nil {
						delete(model, mk)
					}
				}
				if tb.len() != len(model) {
					t.Fatalf("step %d: len() = %d, want %d", step, tb.len(), len(model))
				}
				for i := range tb.ents {
					e := &tb.ents[i]
					if got := tb.get(e.key); got != &e.val || model[e.key] != e.val {
						t.Fatalf("step %d: get(%v) = %p (%d), want %p (%d)", step, e.key, got, *got, &e.val, model[e.key])
					}
				}
			}
		})
	}
}
