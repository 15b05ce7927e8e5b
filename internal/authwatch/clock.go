package authwatch

import (
	"time"

	"github.com/proxywatch/proxywatch"
)

// maxClockSources caps the sources the watermark tracks; events of
// further sources share one slot.
const maxClockSources = 64

// clock merges the events of several sources in time order. Each source's
// newest event time is tracked; the watermark is the oldest of them (among
// sources heard from within IdleSource of the newest) minus the lateness.
// Events wait in an evQueue until the watermark passes them.
type clock struct {
	lateness time.Duration
	idle     time.Duration
	max      int
	srcs     map[string]*time.Time
	q        evQueue
	seq      uint64
	released time.Time // the time of the newest event processed
	hi       time.Time // the newest event time seen
	cur      item      // the event being handled: a field, so that passing its address does not allocate
	single   bool      // one source: nothing is held
}

func (c *clock) init(cfg Config) {
	c.lateness, c.idle, c.max = cfg.Lateness, cfg.IdleSource, cfg.MaxBuffered
	c.srcs = map[string]*time.Time{}
}

// push takes one event and processes what the watermark releases.
func (c *clock) push(ev proxywatch.Event, handle func(*proxywatch.Event), st *Stats) {
	if !c.released.IsZero() && ev.Time.Before(c.released) {
		st.Late++
		c.cur = item{ev: ev}
		c.cur.ev.Time = c.released
		handle(&c.cur.ev)
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
	c.q.push(item{ev: ev, seq: c.seq})
	c.release(handle, st)
}

// watermark returns the time up to which events may be processed. With
// a single source (Deps.Sources) there is nothing to merge: its events
// are processed as they come, and a straggler is late (processed at once,
// at the time reached).
func (c *clock) watermark() time.Time {
	if c.single {
		return c.hi
	}
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
	for c.q.len() > 0 {
		over := c.q.len() > c.max
		if !over && c.q.peek().ev.Time.After(wm) {
			return
		}
		if over {
			st.Forced++
		}
		c.cur = c.q.pop()
		if c.cur.ev.Time.After(c.released) {
			c.released = c.cur.ev.Time
		}
		handle(&c.cur.ev)
	}
}

// releaseUpTo processes the events at or before t, as if every source had
// reached t plus the lateness.
func (c *clock) releaseUpTo(t time.Time, handle func(*proxywatch.Event)) {
	for c.q.len() > 0 && !c.q.peek().ev.Time.After(t) {
		c.cur = c.q.pop()
		if c.cur.ev.Time.After(c.released) {
			c.released = c.cur.ev.Time
		}
		handle(&c.cur.ev)
	}
	if t.After(c.released) {
		c.released = t
	}
}

// drain processes every waiting event.
func (c *clock) drain(handle func(*proxywatch.Event)) {
	for c.q.len() > 0 {
		c.cur = c.q.pop()
		if c.cur.ev.Time.After(c.released) {
			c.released = c.cur.ev.Time
		}
		handle(&c.cur.ev)
	}
}

type item struct {
	ev  proxywatch.Event
	seq uint64
}

// before orders items by time, then by arrival.
func (it *item) before(o *item) bool {
	if !it.ev.Time.Equal(o.ev.Time) {
		return it.ev.Time.Before(o.ev.Time)
	}
	return it.seq < o.seq
}

// An evQueue holds events in (time, arrival) order. Logs are mostly in
// time order, so events that come in order wait in a FIFO, at no cost
// beyond a copy; only stragglers go to a binary heap. The earliest event
// is the earlier of the two heads.
type evQueue struct {
	fifo []item // fifo[head:] in order
	head int
	heap []item // a min-heap of the out-of-order events
}

func (q *evQueue) len() int { return len(q.fifo) - q.head + len(q.heap) }

func (q *evQueue) push(it item) {
	if n := len(q.fifo); n == q.head || !it.before(&q.fifo[n-1]) {
		if q.head > 0 && q.head == n { // empty: start over at the front
			q.fifo, q.head = q.fifo[:0], 0
		} else if q.head >= 4096 && q.head*2 >= n { // mostly consumed: compact
			m := copy(q.fifo, q.fifo[q.head:])
			clear(q.fifo[m:])
			q.fifo, q.head = q.fifo[:m], 0
		}
		q.fifo = append(q.fifo, it)
		return
	}
	q.heap = append(q.heap, it)
	for i := len(q.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.heap[i].before(&q.heap[p]) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
}

// fromFIFO reports whether the earliest event is the FIFO's head. The
// queue must not be empty.
func (q *evQueue) fromFIFO() bool {
	if q.head == len(q.fifo) {
		return false
	}
	return len(q.heap) == 0 || q.fifo[q.head].before(&q.heap[0])
}

// peek returns the earliest event. The queue must not be empty.
func (q *evQueue) peek() *item {
	if q.fromFIFO() {
		return &q.fifo[q.head]
	}
	return &q.heap[0]
}

// pop removes and returns the earliest event. The queue must not be
// empty.
func (q *evQueue) pop() item {
	if q.fromFIFO() {
		it := q.fifo[q.head]
		q.fifo[q.head] = item{}
		q.head++
		return it
	}
	h := q.heap
	it := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = item{}
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h[l].before(&h[m]) {
			m = l
		}
		if r := l + 1; r < n && h[r].before(&h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.heap = h
	return it
}

// oldestHeld returns, per source, the sequence number of its oldest
// event still held. The FIFO is in arrival order, so a source's first
// event there is its oldest in it, and the scan stops once every source
// has been seen; the heap of stragglers is scanned whole.
func (c *clock) oldestHeld() map[string]uint64 {
	held := map[string]uint64{}
	note := func(it *item) {
		if s, ok := held[it.ev.Source]; !ok || it.ev.Seq < s {
			held[it.ev.Source] = it.ev.Seq
		}
	}
	all := len(c.srcs) >= maxClockSources // sources beyond the cap share a slot: look at everything
	for i := c.q.head; i < len(c.q.fifo) && (all || len(held) < len(c.srcs)); i++ {
		note(&c.q.fifo[i])
	}
	for i := range c.q.heap {
		note(&c.q.heap[i])
	}
	return held
}
