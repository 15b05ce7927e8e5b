package sim

import (
	"math"
	"math/bits"
)

// rng is a small, fast pseudo-random generator (xoshiro256**) seeded through
// splitmix64. It is written here rather than taken from math/rand/v2 so that
// a scenario's output depends on nothing the Go release may change: the
// same seed gives the same stream on every version (on one architecture;
// math.Log may round differently elsewhere).
type rng struct{ s0, s1, s2, s3 uint64 }

// splitmix64 advances x and returns the next output of the SplitMix64
// sequence; it is also used as a 64-bit hash.
func splitmix64(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// mix hashes a and b into one 64-bit value.
func mix(a, b uint64) uint64 {
	x := a ^ (b * 0x9e3779b97f4a7c15)
	return splitmix64(&x)
}

// newRNG returns a generator for the stream named by (seed, stream).
// Streams with different names are independent.
func newRNG(seed, stream uint64) *rng {
	x := mix(seed, stream)
	return &rng{splitmix64(&x), splitmix64(&x), splitmix64(&x), splitmix64(&x)}
}

// streamID hashes a name and an index into a stream identifier.
func streamID(name string, i int) uint64 {
	h := uint64(14695981039346656037)
	for j := 0; j < len(name); j++ {
		h ^= uint64(name[j])
		h *= 1099511628211
	}
	return mix(h, uint64(i))
}

func rotl(x uint64, k uint) uint64 { return (x << k) | (x >> (64 - k)) }

// u64 returns 64 random bits.
func (r *rng) u64() uint64 {
	res := rotl(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = rotl(r.s3, 45)
	return res
}

// float returns a uniform value in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// intn returns a uniform value in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	// Lemire's multiply-shift; the tiny bias is irrelevant here.
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// exp returns an exponentially distributed value with the given mean.
func (r *rng) exp(mean float64) float64 {
	u := r.float()
	return -mean * math.Log(1-u)
}

// normal returns a standard normal value (Box-Muller, one branch).
func (r *rng) normal() float64 {
	u1 := 1 - r.float()
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// lognormal returns a log-normal value whose median is median and whose
// log has standard deviation sigma.
func (r *rng) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.normal())
}

// jitter returns d scaled by a uniform factor in [1-j, 1+j].
func (r *rng) jitter(d int64, j float64) int64 {
	if j <= 0 {
		return d
	}
	return int64(float64(d) * (1 - j + 2*j*r.float()))
}

// span returns a uniform value in [lo, hi] (microseconds or any unit).
func (r *rng) span(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.float()*float64(hi-lo))
}

// zipf returns an index in [0, n) with probability roughly proportional to
// 1/(i+1)^s, using inversion on a continuous approximation; s must be
// positive and not 1.
func (r *rng) zipf(n int, s float64) int {
	if n <= 1 {
		return 0
	}
	// Inverse CDF of the density x^-s on [1, n+1).
	a := 1 - s
	hi := math.Pow(float64(n+1), a)
	x := math.Pow(1+r.float()*(hi-1), 1/a)
	i := int(x) - 1
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return i
}

// binomial returns the number of successes in n trials of probability p.
// It counts geometric gaps for small means and uses a normal
// approximation above 40 expected successes.
func (r *rng) binomial(n uint64, p float64) uint64 {
	switch {
	case n == 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	}
	mean := float64(n) * p
	if mean > 40 {
		v := math.Round(mean + math.Sqrt(mean*(1-p))*r.normal())
		if v < 0 {
			return 0
		}
		if v > float64(n) {
			return n
		}
		return uint64(v)
	}
	lq := math.Log(1 - p)
	var k, pos uint64
	for {
		gap := uint64(math.Log(1-r.float())/lq) + 1
		pos += gap
		if pos > n {
			return k
		}
		k++
	}
}
