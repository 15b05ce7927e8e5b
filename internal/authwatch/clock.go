package authwatch

import (
	"container/heap"
	"time"

	"github.com/proxywatch/proxywatch"
)

// maxClockSources caps the sources the watermark tracks; events of
// further sources share one slot.
const maxClockSources = 64

// clock merges the events of several sources in time order. Each source's
// newest event time is tracked; the watermark is the oldest of them (among
// sources heard from within IdleSource of the newest) minus the lateness.
// Events wait in a heap until the watermark passes them.
type clock struct {
	lateness time.Duration
	idle     time.Duration
	max      int
	srcs     map[string]*time.Time
	q        evHeap
	seq      uint64
	released time.Time // the time of the newest event processed
	hi       time.Time // the newest event time seen
}

func (c *clock) init(cfg Config) {
	c.lateness, c.idle, c.max = cfg.Lateness, cfg.IdleSource, cfg.MaxBuffered
	c.srcs = map[string]*time.Time{}
}

// push takes one event and processes what the watermark releases.
func (c *clock) push(ev proxywatch.Event, handle func(*proxywatch.Event), st *Stats) {
	if !c.released.IsZero() && ev.Time.Before(c.released) {
		st.Late++
		ev.Time = c.released
		handle(&ev)
		return
	}
	name := ev.Source
	src, ok := c.srcs[name]
	if !ok {
		if len(c.srcs) >= maxClockSources {
			name = "\x00other"
			src = c.srcs[name]
		}
		if src == nil {
			src = new(time.Time)
			c.srcs[name] = src
		}
	}
	if ev.Time.After(*src) {
		*src = ev.Time
	}
	if ev.Time.After(c.hi) {
		c.hi = ev.Time
	}
	c.seq++
	heap.Push(&c.q, item{ev: ev, seq: c.seq})
	c.release(handle, st)
}

// watermark returns the time up to which events may be processed.
func (c *clock) watermark() time.Time {
	wm := c.hi
	for _, t := range c.srcs {
		if t.Before(wm) && c.hi.Sub(*t) <= c.idle {
			wm = *t
		}
	}
	return wm.Add(-c.lateness)
}

// release processes the events the watermark has passed, and the oldest
// ones beyond the buffer's capacity.
func (c *clock) release(handle func(*proxywatch.Event), st *Stats) {
	wm := c.watermark()
	for len(c.q) > 0 {
		over := len(c.q) > c.max
		if !over && c.q[0].ev.Time.After(wm) {
			return
		}
		if over {
			st.Forced++
		}
		it := heap.Pop(&c.q).(item)
		if it.ev.Time.After(c.released) {
			c.released = it.ev.Time
		}
		handle(&it.ev)
	}
}

// releaseUpTo processes the events at or before t, as if every source had
// reached t plus the lateness.
func (c *clock) releaseUpTo(t time.Time, handle func(*proxywatch.Event)) {
	for len(c.q) > 0 && !c.q[0].ev.Time.After(t) {
		it := heap.Pop(&c.q).(item)
		if it.ev.Time.After(c.released) {
			c.released = it.ev.Time
		}
		handle(&it.ev)
	}
	if t.After(c.released) {
		c.released = t
	}
}

// drain processes every waiting event.
func (c *clock) drain(handle func(*proxywatch.Event)) {
	for len(c.q) > 0 {
		it := heap.Pop(&c.q).(item)
		if it.ev.Time.After(c.released) {
			c.released = it.ev.Time
		}
		handle(&it.ev)
	}
}

type item struct {
	ev  proxywatch.Event
	seq uint64
}

// evHeap orders events by time, then by arrival.
type evHeap []item

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	if !h[i].ev.Time.Equal(h[j].ev.Time) {
		return h[i].ev.Time.Before(h[j].ev.Time)
	}
	return h[i].seq < h[j].seq
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *evHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = item{}
	*h = old[:len(old)-1]
	return it
}

// oldestHeld returns, per source, the sequence number of its oldest
// event still held.
func (c *clock) oldestHeld() map[string]uint64 {
	held := map[string]uint64{}
	for i := range c.q {
		ev := &c.q[i].ev
		if s, ok := held[ev.Source]; !ok || ev.Seq < s {
			held[ev.Source] = ev.Seq
		}
	}
	return held
}
