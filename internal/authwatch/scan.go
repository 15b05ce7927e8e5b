package authwatch

import (
	"context"
	"iter"

	"github.com/proxywatch/proxywatch"
)

// Result is what Scan found.
type Result struct {
	Alerts    []proxywatch.Alert
	Decisions []proxywatch.Decision // as proposed, shaped by Deps.Policy
	Stats     Stats
}

// collector is an Output that keeps everything and passes it on.
type collector struct {
	res  *Result
	next Output
}

func (c *collector) Alert(a proxywatch.Alert) {
	c.res.Alerts = append(c.res.Alerts, a)
	if c.next != nil {
		c.next.Alert(a)
	}
}

func (c *collector) Decision(d proxywatch.Decision) {
	c.res.Decisions = append(c.res.Decisions, d)
	if c.next != nil {
		c.next.Decision(d)
	}
}

// Scan runs the detectors over the events of sources in batch, in event
// time: the sources are merged by time (each is expected in time order; a
// source's stragglers within Config.Lateness are reordered, older ones are
// counted as late), and at the end every timer runs out, so waiting
// failures are judged and open campaigns are closed. Alerts and decisions
// are collected in the result and also sent to deps.Out if it is set
// (a decision process in event-time mode, for instance). Scan returns
// ctx's error if it ends first.
func Scan(ctx context.Context, cfg Config, deps Deps, sources ...iter.Seq[proxywatch.Event]) (Result, error) {
	var res Result
	deps.Out = &collector{res: &res, next: deps.Out}
	st, err := ScanStats(ctx, cfg, deps, sources...)
	res.Stats = st
	return res, err
}

// ScanStats is Scan without keeping the alerts and decisions: they go to
// deps.Out only, so memory does not grow with what is found.
func ScanStats(ctx context.Context, cfg Config, deps Deps, sources ...iter.Seq[proxywatch.Event]) (Stats, error) {
	deps.Sources = len(sources)
	w, err := New(cfg, deps)
	if err != nil {
		return Stats{}, err
	}
	if len(sources) == 1 { // nothing to merge
		n := 0
		for ev := range sources[0] {
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return w.Stats(), ctx.Err()
			}
			w.Process(ev)
		}
		if err := ctx.Err(); err != nil {
			return w.Stats(), err
		}
		w.Flush()
		return w.Stats(), nil
	}
	type head struct {
		ev   proxywatch.Event
		next func() (proxywatch.Event, bool)
		stop func()
	}
	var heads []*head
	defer func() {
		for _, h := range heads {
			h.stop()
		}
	}()
	for _, src := range sources {
		next, stop := iter.Pull(src)
		h := &head{next: next, stop: stop}
		if ev, ok := next(); ok {
			h.ev = ev
			heads = append(heads, h)
		} else {
			stop()
		}
	}
	n := 0
	for len(heads) > 0 {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return w.Stats(), err
			}
		}
		i := 0
		for j := 1; j < len(heads); j++ {
			if heads[j].ev.Time.Before(heads[i].ev.Time) {
				i = j
			}
		}
		h := heads[i]
		w.Process(h.ev)
		if ev, ok := h.next(); ok {
			h.ev = ev
		} else {
			h.stop()
			heads = append(heads[:i], heads[i+1:]...)
		}
	}
	if err := ctx.Err(); err != nil {
		return w.Stats(), err
	}
	w.Flush()
	return w.Stats(), nil
}
