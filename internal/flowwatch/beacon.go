package flowwatch

import (
	"math"
)

// pairRing is how many connection start times a pair keeps: with a
// five-minute beacon, the last 2 h 40 min of intervals.
const (
	pairRing = 32
	sizeRing = 16
)

// pairKey is one inside host talking to one outside endpoint.
type pairKey struct {
	in   addrKey
	out  addrKey
	port uint16
	prot uint16 // the IP protocol, widened: a key without padding hashes and compares as plain memory
}

func (k pairKey) ep() epKey { return epKey{addr: k.out, port: k.port, prot: k.prot} }

func (k pairKey) hash() uint64 {
	return mix64(hashAddr(k.in) ^ hashAddr(k.out)*31 ^ uint64(k.port)<<8 ^ uint64(k.prot))
}

// pairState is the timing of one pair: the last pairRing start times
// (seconds since the Unix epoch, as uint32: good until 2106), the last
// sizeRing originator byte counts, connections per hour over the last day,
// and counts.
//
// The fields each round reads of every pair come first, next to the key in
// the table's entry: a round's passes over all pairs read the start of
// each entry only, not its rings too.
type pairState struct {
	first, last int64   // µs
	scoredAt    int64   // event time of the last scoring, µs
	scoredRound int64   // the round (Stats.Evals) of the last scoring
	n           int32   // connections since admission
	score       float32 // last beacon score
	scoredN     int32   // connections in the window when scored
	interval    float32 // median interval when scored, seconds
	agg         int32   // the index of the pair's endpoint in the aggTable of round aggRound
	aggRound    int32
	// pending is set when the pair was due for scoring at scoredAt but
	// nothing has needed the score yet: the score is worked out from the
	// state as it was then, so it must be settled before the state changes.
	pending bool
	head    uint8
	shead   uint8
	fails   int32 // attempts that got no answer or were refused
	ts      [pairRing]uint32
	sizes   [sizeRing]uint32
	hours   hourRing
}

func (p *pairState) add(start, end int64, origBytes uint64, failed bool) {
	if p.n == 0 {
		p.first = start
	}
	p.first = min(p.first, start)
	p.last = max(p.last, end)
	p.n++
	if failed {
		p.fails++
	}
	p.ts[p.head%pairRing] = uint32(start / 1e6)
	p.head++
	p.sizes[p.shead%sizeRing] = uint32(min(origBytes, math.MaxUint32))
	p.shead++
	p.hours.add(start, 1)
}

// hourRing counts events per hour over the last 24 hours.
type hourRing struct {
	hour int64 // the newest hour counted (hours since the epoch)
	c    [24]uint16
}

func (h *hourRing) add(us int64, n int) {
	hr := us / 3.6e9
	h.roll(hr)
	if hr <= h.hour-24 {
		return
	}
	i := hr % 24
	h.c[i] = uint16(min(int(h.c[i])+n, math.MaxUint16))
}

func (h *hourRing) roll(hr int64) {
	if hr <= h.hour {
		return
	}
	if hr-h.hour >= 24 {
		h.c = [24]uint16{}
	} else {
		for x := h.hour + 1; x <= hr; x++ {
			h.c[x%24] = 0
		}
	}
	h.hour = hr
}

// counts returns the hourly counts of the whole hours between the first
// evidence and now (at most the last 24), oldest first: the partial first
// and current hours are left out.
func (h *hourRing) counts(now int64, first int64, dst []float64) []float64 {
	hr := now / 3.6e9
	h.roll(hr)
	from := max(first/3.6e9+1, hr-23)
	for x := from; x < hr; x++ {
		dst = append(dst, float64(h.c[x%24]))
	}
	return dst
}

// active returns the number of the last 24 hours with at least one event.
func (h *hourRing) active(now int64) int {
	h.roll(now / 3.6e9)
	n := 0
	for _, c := range h.c {
		if c > 0 {
			n++
		}
	}
	return n
}

// beaconScores are the parts of a pair's beacon score, each in [0, 1].
type beaconScores struct {
	TS, DS, Hist, Dur, Score float64
	Interval                 float64 // median interval, seconds
	N                        int     // connections in the window
}

// scoreBeacon scores the pair's regularity over the window ending at now,
// with the method RITA documents (read from its beacon analysis, not
// copied): the timestamp score is the mean of one minus the absolute
// Bowley skew of the intervals and of their median absolute deviation
// relative to the median; the data-size score does the same for the
// originator's bytes; the histogram score is one minus the coefficient of
// variation of connections per hour; the duration score is how much of
// the window the pair covers. The beacon score is their mean.
func scoreBeacon(p *pairState, now, window int64, scratch []float64) (beaconScores, []float64) {
	const n = pairRing
	if cap(scratch) < 4*n+sizeRing+24 {
		scratch = make([]float64, 4*n+sizeRing+24)
	}
	buf := scratch[:cap(scratch)]
	ts, iv, dev := buf[0:0:n], buf[n:n:2*n], buf[2*n:2*n:3*n]
	sz, hc := buf[3*n:3*n:3*n+sizeRing], buf[3*n+sizeRing:3*n+sizeRing:3*n+sizeRing+24]
	var b beaconScores
	from := uint32(max(now-window, 0) / 1e6)
	// Oldest first: the ring holds start times nearly in order, which
	// insertion sort puts right in one pass.
	held := min(int(p.n), pairRing)
	oldest := 0
	if int(p.n) > pairRing {
		oldest = int(p.head % pairRing)
	}
	for j := range held {
		if t := p.ts[(oldest+j)%pairRing]; t >= from {
			ts = append(ts, float64(t))
		}
	}
	b.N = len(ts)
	if len(ts) < 4 {
		return b, scratch
	}
	sortFloats(ts)
	for i := 1; i < len(ts); i++ {
		if d := ts[i] - ts[i-1]; d > 0 {
			iv = append(iv, d)
		}
	}
	if len(iv) < 3 {
		return b, scratch
	}
	sortFloats(iv)
	b.Interval = quantile(iv, 0.5)
	b.TS = (skewScore(iv) + madmScore(iv, dev)) / 2
	for i := 0; i < min(int(p.n), sizeRing); i++ {
		sz = append(sz, float64(p.sizes[i]))
	}
	sortFloats(sz)
	b.DS = (skewScore(sz) + madmScoreDefault(sz, 1, dev)) / 2
	hc = p.hours.counts(now, p.first, hc)
	b.Hist = histScore(hc)
	span := float64(min(now, p.last)-max(p.first, now-window)) / float64(window)
	b.Dur = math.Max(0, math.Min(1, span*2)) // half the window covered counts as full
	b.Score = (b.TS + b.DS + b.Hist + b.Dur) / 4
	return b, scratch
}

// sortFloats sorts v, a few dozen values at most and often nearly in
// order, by insertion. v holds no NaN.
func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		x := v[i]
		j := i
		for j > 0 && v[j-1] > x {
			v[j] = v[j-1]
			j--
		}
		v[j] = x
	}
}

// quantile returns the q-quantile of sorted v by linear interpolation.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	x := q * float64(len(v)-1)
	i := int(x)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	f := x - float64(i)
	return v[i]*(1-f) + v[i+1]*f
}

// skewScore is one minus the absolute Bowley skew of sorted v. A spread
// between the quartiles below 10 (seconds or bytes) counts as symmetric,
// as do quartiles equal to the median.
func skewScore(v []float64) float64 {
	q1, q2, q3 := quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75)
	den := q3 - q1
	if den < 10 || q2 == q1 || q2 == q3 {
		return 1
	}
	return 1 - math.Abs((q1+q3-2*q2)/den)
}

// madmScore is (median - MAD) / median of sorted v, floored at 0; buf is
// scratch space.
func madmScore(v, buf []float64) float64 { return madmScoreDefault(v, 0, buf) }

func madmScoreDefault(v []float64, def float64, buf []float64) float64 {
	med := quantile(v, 0.5)
	if med < 1 {
		return def
	}
	// The deviations of sorted v fall towards the median and rise after
	// it: merging the two runs sorts them.
	dev := buf[:0]
	hi := 0
	for hi < len(v) && v[hi] < med {
		hi++
	}
	lo := hi - 1
	for lo >= 0 || hi < len(v) {
		if hi >= len(v) || lo >= 0 && med-v[lo] <= v[hi]-med {
			dev = append(dev, med-v[lo])
			lo--
		} else {
			dev = append(dev, v[hi]-med)
			hi++
		}
	}
	s := (med - quantile(dev, 0.5)) / med
	if s < 0 || math.IsNaN(s) {
		return 0
	}
	return s
}

// histScore is one minus the coefficient of variation of the hourly
// counts (a flat histogram scores 1). Fewer than six hours score 0: a
// beacon must be seen for a while.
func histScore(c []float64) float64 {
	if len(c) < 6 {
		return 0
	}
	var sum, sq float64
	for _, x := range c {
		sum += x
	}
	mean := sum / float64(len(c))
	if mean == 0 {
		return 0
	}
	for _, x := range c {
		sq += (x - mean) * (x - mean)
	}
	cv := math.Sqrt(sq/float64(len(c))) / mean
	return math.Max(0, 1-cv)
}
