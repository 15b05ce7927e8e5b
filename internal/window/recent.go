package window

// RecentCap is the number of times a Recent holds.
const RecentCap = 16

// Recent holds the times of the last RecentCap events of one key, in
// seconds. It answers "did k events happen within the last w seconds" for
// any k up to RecentCap in constant time and 66 bytes. The zero Recent is
// empty and ready to use.
type Recent struct {
	t [RecentCap]uint32
	n uint8 // times held
	i uint8 // where the next time goes
}

// Add records an event at t. Times should not go backwards; one that does
// is recorded as the latest time held.
func (r *Recent) Add(t uint32) {
	if last, ok := r.Kth(1); ok && t < last {
		t = last
	}
	r.t[r.i] = t
	r.i = (r.i + 1) % RecentCap
	if r.n < RecentCap {
		r.n++
	}
}

// Len returns the number of times held.
func (r *Recent) Len() int { return int(r.n) }

// Kth returns the k-th most recent time (k = 1 is the latest), if held.
func (r *Recent) Kth(k int) (uint32, bool) {
	if k < 1 || k > int(r.n) {
		return 0, false
	}
	return r.t[(int(r.i)-k+2*RecentCap)%RecentCap], true
}

// CountSince returns the number of times held that are at or after since.
func (r *Recent) CountSince(since uint32) int {
	n := 0
	for k := 1; k <= int(r.n); k++ {
		t, _ := r.Kth(k)
		if t < since {
			break
		}
		n++
	}
	return n
}

// Within reports whether the last k events happened within w seconds of
// now, that is whether the k-th most recent time is at or after now-w.
func (r *Recent) Within(k int, w, now uint32) bool {
	t, ok := r.Kth(k)
	return ok && (now < w || t >= now-w)
}

// Reset forgets every time.
func (r *Recent) Reset() { *r = Recent{} }
