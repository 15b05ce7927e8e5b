package window

// DistinctCap is the number of keys a Distinct tells apart exactly.
const DistinctCap = 16

// Distinct counts the distinct keys seen within a sliding window, exactly
// up to DistinctCap keys: when full, a new key replaces the one seen least
// recently. It suits thresholds below DistinctCap, such as "ten addresses
// failed for this account within an hour". The zero Distinct is empty and
// ready to use.
type Distinct[K comparable] struct {
	keys [DistinctCap]K
	last [DistinctCap]uint32
	n    uint8
}

// Add records key at t (seconds).
func (d *Distinct[K]) Add(key K, t uint32) {
	oldest := 0
	for i := 0; i < int(d.n); i++ {
		if d.keys[i] == key {
			d.last[i] = max(d.last[i], t)
			return
		}
		if d.last[i] < d.last[oldest] {
			oldest = i
		}
	}
	if int(d.n) < DistinctCap {
		d.keys[d.n], d.last[d.n] = key, t
		d.n++
		return
	}
	d.keys[oldest], d.last[oldest] = key, t
}

// Count returns the number of keys last seen at or after since.
func (d *Distinct[K]) Count(since uint32) int {
	n := 0
	for i := 0; i < int(d.n); i++ {
		if d.last[i] >= since {
			n++
		}
	}
	return n
}

// Has reports whether key was last seen at or after since.
func (d *Distinct[K]) Has(key K, since uint32) bool {
	for i := 0; i < int(d.n); i++ {
		if d.keys[i] == key {
			return d.last[i] >= since
		}
	}
	return false
}

// AppendSince appends the keys last seen at or after since to dst.
func (d *Distinct[K]) AppendSince(dst []K, since uint32) []K {
	for i := 0; i < int(d.n); i++ {
		if d.last[i] >= since {
			dst = append(dst, d.keys[i])
		}
	}
	return dst
}

// Reset forgets every key.
func (d *Distinct[K]) Reset() { *d = Distinct[K]{} }
