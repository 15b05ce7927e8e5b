package logparse

// internSlots is the size of an intern table. Brute force reuses a small
// dictionary of user names, so a table this size turns almost every user
// and host name into a string without allocating.
const internSlots = 1024

// internMax is the longest byte string interned; longer ones are
// allocated each time, so an attacker's long names cannot crowd the table.
const internMax = 64

// An interner returns strings for byte slices, reusing the string of a
// recent equal slice. It is a direct-mapped cache: bounded, no eviction
// bookkeeping, and a collision simply replaces the slot.
type interner struct {
	slots [internSlots]string
}

// get returns string(b), without allocating when b was seen recently.
func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMax {
		return string(b)
	}
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &in.slots[h&(internSlots-1)]
	if *slot == string(b) { // the conversion in a comparison does not allocate
		return *slot
	}
	*slot = string(b)
	return *slot
}
