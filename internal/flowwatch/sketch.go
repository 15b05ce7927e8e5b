package flowwatch

import (
	"math"
	"math/bits"
	"net/netip"
)

// addrKey is an address as a comparable array: map keys of 16 bytes hash
// faster than netip.Addr, which carries a zone pointer.
type addrKey [16]byte

func keyOf(a netip.Addr) addrKey { return a.As16() }

func (k addrKey) addr() netip.Addr { return netip.AddrFrom16(k).Unmap() }

// mix64 is a fixed 64-bit finaliser (splitmix64's). Hashes must not be
// seeded per process: the same input must give the same findings.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (k addrKey) hash() uint64 { return hashAddr(k) }

func hashAddr(k addrKey) uint64 {
	lo := uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
		uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
	hi := uint64(k[8]) | uint64(k[9])<<8 | uint64(k[10])<<16 | uint64(k[11])<<24 |
		uint64(k[12])<<32 | uint64(k[13])<<40 | uint64(k[14])<<48 | uint64(k[15])<<56
	return mix64(lo ^ mix64(hi^0x9e3779b97f4a7c15))
}

// hllP is the precision of the distinct counters: 2^7 one-byte registers,
// a standard error of about 9%, and exact-looking counts (linear counting)
// below a few dozen.
const (
	hllP = 7
	hllM = 1 << hllP
)

// hll is a small HyperLogLog distinct counter. The zero value is empty.
type hll [hllM]uint8

func (h *hll) add(x uint64) {
	i := x >> (64 - hllP)
	w := x<<hllP | 1<<(hllP-1)
	r := uint8(bits.LeadingZeros64(w)) + 1
	if r > h[i] {
		h[i] = r
	}
}

func (h *hll) merge(o *hll) {
	for i := range h {
		if o[i] > h[i] {
			h[i] = o[i]
		}
	}
}

// pow2neg[r] is 2^-r.
var pow2neg = func() (t [64]float64) {
	for i := range t {
		t[i] = math.Ldexp(1, -i)
	}
	return t
}()

// count returns the estimated number of distinct values added.
func (h *hll) count() float64 {
	var sum float64
	zeros := 0
	for _, r := range h {
		sum += pow2neg[r&63]
		if r == 0 {
			zeros++
		}
	}
	m := float64(hllM)
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		return m * math.Log(m/float64(zeros))
	}
	return est
}

// windowHLL counts distinct values over a sliding window made of two
// halves: the current half and the previous one. Counting covers between
// one half and a whole window.
type windowHLL struct {
	epoch     int64
	cur, prev hll
}

func (w *windowHLL) add(epoch int64, x uint64) {
	w.roll(epoch)
	w.cur.add(x)
}

func (w *windowHLL) roll(epoch int64) {
	switch {
	case epoch == w.epoch:
	case epoch == w.epoch+1:
		w.prev, w.cur, w.epoch = w.cur, hll{}, epoch
	case epoch > w.epoch:
		w.prev, w.cur, w.epoch = hll{}, hll{}, epoch
	}
}

func (w *windowHLL) count(epoch int64) float64 {
	w.roll(epoch)
	u := w.cur
	u.merge(&w.prev)
	return u.count()
}

// cms is a count-min sketch of small saturating counters, halved every
// so often so that it reflects recent frequency (TinyLFU's doorkeeper).
type cms struct {
	rows  [4][]uint8
	mask  uint64
	added int
	reset int // halve every counter after this many additions
}

func newCMS(width int) *cms {
	n := 1 << bits.Len(uint(max(width, 64)-1))
	c := &cms{mask: uint64(n - 1), reset: 8 * n}
	for i := range c.rows {
		c.rows[i] = make([]uint8, n)
	}
	return c
}

// add counts h once and returns the new estimate.
func (c *cms) add(h uint64) uint8 {
	est := uint8(255)
	for i := range c.rows {
		j := (h >> (16 * i)) & c.mask
		if i > 0 {
			j = mix64(h+uint64(i)) & c.mask
		}
		v := c.rows[i][j]
		if v < 255 {
			v++
			c.rows[i][j] = v
		}
		est = min(est, v)
	}
	if c.added++; c.added >= c.reset {
		c.halve()
	}
	return est
}

func (c *cms) halve() {
	c.added = 0
	for _, r := range c.rows {
		for j := range r {
			r[j] >>= 1
		}
	}
}
