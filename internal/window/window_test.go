package window

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// refLRU is the obvious LRU, for differential testing.
type refLRU struct {
	order []int // most recent first
	vals  map[int]int
	cap   int
}

func (r *refLRU) put(k int) (evicted int, ok bool) {
	if i := slices.Index(r.order, k); i >= 0 {
		r.order = slices.Delete(r.order, i, i+1)
		r.order = slices.Insert(r.order, 0, k)
		return 0, false
	}
	if len(r.order) == r.cap {
		evicted, ok = r.order[len(r.order)-1], true
		r.order = r.order[:len(r.order)-1]
		delete(r.vals, evicted)
	}
	r.order = slices.Insert(r.order, 0, k)
	r.vals[k] = 0
	return evicted, ok
}

func TestLRUAgainstReference(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 100} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(capacity)))
			var evicted []int
			l := NewLRU[int, int](capacity, func(k int, v *int) { evicted = append(evicted, k) })
			ref := &refLRU{vals: map[int]int{}, cap: capacity}
			var wantEvicted []int
			for step := 0; step < 2000; step++ {
				k := rng.IntN(3 * capacity)
				switch rng.IntN(4) {
				case 0:
					_, got := l.Get(k)
					i := slices.Index(ref.order, k)
					if got != (i >= 0) {
						t.Fatalf("step %d: Get(%d) found = %v, want %v", step, k, got, i >= 0)
					}
					if i >= 0 {
						ref.order = slices.Delete(ref.order, i, i+1)
						ref.order = slices.Insert(ref.order, 0, k)
					}
				case 1:
					got := l.Remove(k)
					i := slices.Index(ref.order, k)
					if got != (i >= 0) {
						t.Fatalf("step %d: Remove(%d) = %v, want %v", step, k, got, i >= 0)
					}
					if i >= 0 {
						ref.order = slices.Delete(ref.order, i, i+1)
					}
				default:
					_, added := l.Put(k)
					wasIn := slices.Contains(ref.order, k)
					ev, ok := ref.put(k)
					if ok {
						wantEvicted = append(wantEvicted, ev)
					}
					if added == wasIn {
						t.Fatalf("step %d: Put(%d) added = %v, want %v", step, k, added, !wasIn)
					}
				}
				var got []int
				for k := range l.All() {
					got = append(got, k)
				}
				if !slices.Equal(ref.order, got) {
					diff := cmp.Diff(ref.order, got, cmpopts.EquateEmpty())
					t.Fatalf("step %d: order mismatch (-want +got):\n%s", step, diff)
				}
				if l.Len() != len(ref.order) || l.Len() > capacity {
					t.Fatalf("step %d: Len() = %d, want %d (cap %d)", step, l.Len(), len(ref.order), capacity)
				}
			}
			if diff := cmp.Diff(wantEvicted, evicted); diff != "" {
				t.Errorf("evictions mismatch (-want +got):\n%s", diff)
			}
			if len(l.keys) > capacity || cap(l.keys) > capacity {
				t.Errorf("slots len %d cap %d, want at most %d", len(l.keys), cap(l.keys), capacity)
			}
		})
	}
}

func TestLRUPutKeepsValue(t *testing.T) {
	l := NewLRU[string, int](2, nil)
	v, added := l.Put("a")
	*v = 7
	if !added {
		t.Errorf("Put(a) on empty: added = false, want true")
	}
	v, added = l.Put("a")
	if added || *v != 7 {
		t.Errorf("Put(a) again = %d, %v, want 7, false", *v, added)
	}
	l.Put("b")
	l.Put("c") // evicts a
	if _, ok := l.Peek("a"); ok {
		t.Errorf("Peek(a) after eviction: found, want absent")
	}
	if k, _, ok := l.Oldest(); !ok || k != "b" {
		t.Errorf("Oldest() = %q, %v, want b, true", k, ok)
	}
	v, _ = l.Put("a")
	if *v != 0 {
		t.Errorf("Put(a) after eviction = %d, want a zero value", *v)
	}
}

func TestRecent(t *testing.T) {
	var r Recent
	for i := uint32(1); i <= 20; i++ {
		r.Add(i * 10)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Len", r.Len(), RecentCap},
		{"Kth(1)", must(r.Kth(1)), uint32(200)},
		{"Kth(16)", must(r.Kth(16)), uint32(50)},
		{"CountSince(150)", r.CountSince(150), 6},
		{"CountSince(0)", r.CountSince(0), RecentCap},
		{"Within(5, 40, 200)", r.Within(5, 40, 200), true},
		{"Within(6, 40, 200)", r.Within(6, 40, 200), false},
		{"Within(17, 1000, 200)", r.Within(17, 1000, 200), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	r.Add(5) // backwards: recorded as the latest
	if got := must(r.Kth(1)); got != 200 {
		t.Errorf("Kth(1) after a time going backwards = %d, want 200", got)
	}
	if _, ok := r.Kth(0); ok {
		t.Errorf("Kth(0) ok, want not")
	}
}

func must(v uint32, ok bool) uint32 {
	if !ok {
		return math.MaxUint32
	}
	return v
}

func TestBuckets(t *testing.T) {
	b := NewBuckets(60, 10)
	b.Add(0, 1)
	b.Add(59, 2)
	b.Add(60, 4)
	b.Add(599, 8)
	if got := b.Sum(b.BucketOf(599), 10); got != 15 {
		t.Errorf("Sum(all) = %d, want 15", got)
	}
	b.Add(600, 16) // bucket 10 replaces bucket 0
	if got := b.Sum(10, 10); got != 28 {
		t.Errorf("Sum after wrap = %d, want 28", got)
	}
	if ok := b.Add(30, 1); ok {
		t.Errorf("Add(older than the ring) = true, want false")
	}
	if got := b.Get(1); got != 4 {
		t.Errorf("Get(1) = %d, want 4", got)
	}
	b.Advance(60 * 100) // far ahead: everything clears
	if got := b.Sum(100, 10); got != 0 {
		t.Errorf("Sum after a long gap = %d, want 0", got)
	}
	if got := NewBuckets(60, 3).BucketOf(-1); got != -1 {
		t.Errorf("BucketOf(-1) = %d, want -1", got)
	}
}

func TestDistinct(t *testing.T) {
	var d Distinct[int]
	for i := 0; i < 40; i++ {
		d.Add(i%20, uint32(i))
	}
	// Keys 0..19 at times 20..39, but only DistinctCap are kept: the most recent.
	if got := d.Count(0); got != DistinctCap {
		t.Errorf("Count(0) = %d, want %d", got, DistinctCap)
	}
	if got := d.Count(35); got != 5 {
		t.Errorf("Count(35) = %d, want 5", got)
	}
	if !d.Has(19, 39) || d.Has(0, 0) {
		t.Errorf("Has(19, 39), Has(0, 0) = %v, %v, want true, false (0 was replaced)", d.Has(19, 39), d.Has(0, 0))
	}
	got := d.AppendSince(nil, 37)
	slices.Sort(got)
	if diff := cmp.Diff([]int{17, 18, 19}, got); diff != "" {
		t.Errorf("AppendSince(37) mismatch (-want +got):\n%s", diff)
	}
}

func TestHLL(t *testing.T) {
	for _, n := range []int{0, 10, 1000, 100000} {
		s := NewHLL(10)
		for i := 0; i < n; i++ {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			s.Add(HashAddr(a))
			s.Add(HashAddr(a)) // duplicates change nothing
		}
		got := float64(s.Count())
		if err := math.Abs(got-float64(n)) / math.Max(float64(n), 1); err > 0.1 {
			t.Errorf("HLL Count() after %d distinct = %.0f, error %.1f%%, want within 10%%", n, got, 100*err)
		}
	}
	a, b := NewHLL(8), NewHLL(8)
	for i := 0; i < 500; i++ {
		a.Add(HashUint(uint64(i)))
		b.Add(HashUint(uint64(i + 250)))
	}
	a.Merge(b)
	if got := float64(a.Count()); math.Abs(got-750)/750 > 0.15 {
		t.Errorf("merged Count() = %.0f, want about 750", got)
	}
}

func TestSeen(t *testing.T) {
	s := NewSeen(10000, 0.001, 3600)
	for i := 0; i < 10000; i++ {
		s.Add(HashUint(uint64(i)), 0)
	}
	for i := 0; i < 10000; i++ {
		if !s.Contains(HashUint(uint64(i))) {
			t.Fatalf("Contains(%d) = false for a key just added", i)
		}
	}
	fp := 0
	for i := 10000; i < 110000; i++ {
		if s.Contains(HashUint(uint64(i))) {
			fp++
		}
	}
	if rate := float64(fp) / 100000; rate > 0.003 {
		t.Errorf("false-positive rate %.4f, want about 0.001", rate)
	}
	// One period later the keys are still there (in the previous filter);
	// two periods later they are gone.
	s.Add(HashUint(1e9), 3600)
	if !s.Contains(HashUint(5)) {
		t.Errorf("Contains(5) one period later = false, want true")
	}
	s.Add(HashUint(1e9+1), 7200)
	if s.Contains(HashUint(5)) {
		t.Errorf("Contains(5) two periods later = true, want false")
	}
	if !s.Contains(HashUint(1e9)) {
		t.Errorf("Contains(key added a period ago) = false, want true")
	}
}

func TestAddrKey(t *testing.T) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:198.51.100.7"} {
		a := netip.MustParseAddr(s)
		if got := KeyAddr(AddrKey(a)); got != a.Unmap() {
			t.Errorf("KeyAddr(AddrKey(%v)) = %v, want %v", a, got, a.Unmap())
		}
	}
	if HashAddr(netip.MustParseAddr("::ffff:192.0.2.1")) != HashAddr(netip.MustParseAddr("192.0.2.1")) {
		t.Errorf("HashAddr differs for an IPv4 address and its mapped form")
	}
}
