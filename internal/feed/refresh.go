package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch/internal/intel"
)

// load looks for r's kept copy on disk once, and gives it to the sink when
// push is true and it has not been given yet. It is called with r.mu held.
// A kept copy that cannot be read is logged and ignored: the next fetch
// starts afresh.
func (s *Scheduler) load(ctx context.Context, r *feedRun, push bool) {
	if r.loaded && (!push || r.pushed || !r.have) {
		return
	}
	f := &r.feed
	first := !r.loaded
	r.loaded = true
	m, body, err := s.disk.read(f.Name)
	if err != nil {
		if !first {
			return
		}
		if !isNotExist(err) {
			s.log.Warn("read kept feed copy", "feed", f.Name, "err", err)
		}
		// A feed held before it ever had a copy keeps its hold count.
		if mm, err := s.disk.readMeta(f.Name); err == nil && mm.Source == f.Source() && mm.Format == f.Format {
			r.meta.Holds, r.meta.HoldReason = mm.Holds, mm.HoldReason
			s.update(r, func(st *State) { st.Holds, st.HoldReason = mm.Holds, mm.HoldReason })
		}
		return
	}
	if m.Source != f.Source() || m.Format != f.Format {
		s.log.Info("kept feed copy ignored: source or format changed", "feed", f.Name)
		return
	}
	rd, err := r.open(bytes.NewReader(body), intel.Options{Name: f.Name, Params: f.Params})
	var c collected
	if err == nil {
		// The copy's time, not now: a restart must not extend lifetimes.
		c, err = collect(rd, *f, m.Fetched, s.seed, hashKey)
	}
	if err != nil {
		s.log.Warn("read kept feed copy", "feed", f.Name, "err", err)
		return
	}
	r.have, r.meta, r.keys = true, m, c.keys
	st := newState(f, &m, true)
	st.Indicators, st.Report = len(c.inds), c.rep
	st = s.update(r, func(s *State) { next := s.Next; *s = st; s.Next = next })
	if !push {
		return
	}
	if err := s.sink.ReplaceFeed(ctx, st, c.inds); err != nil {
		s.log.Warn("load kept feed copy", "feed", f.Name, "err", err)
		r.recheck = true // fetch and hand over in full next time
		return
	}
	r.pushed = true
	s.mu.Lock()
	r.notifiedStale = st.Stale
	s.mu.Unlock()
}

// refresh fetches r once and accepts, holds or refuses what it gets.
func (s *Scheduler) refresh(ctx context.Context, r *feedRun) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.load(ctx, r, false)
	f := &r.feed
	now := time.Now()
	recheck := r.recheck || !r.have
	var v validators
	if !recheck {
		v = r.meta.validators()
	}
	var (
		ft  fetched
		err error
	)
	if f.URL != "" {
		ft, err = s.fetchURL(ctx, f, v)
	} else {
		ft, err = fetchPath(f, v, recheck)
	}
	switch {
	case err != nil:
		return s.failed(ctx, r, now, err)
	case ft.notModified && !r.have:
		return s.failed(ctx, r, now, &fetchError{errStatus, fmt.Errorf("feed %q: not modified, but no copy is kept", f.Name)})
	case ft.notModified:
		return s.confirmed(ctx, r, now, OutcomeNotModified, nil)
	}
	s.metrics.bytes.WithLabelValues(f.Name).Add(float64(len(ft.body)))
	sum := sha256Hex(ft.body)
	if !recheck && sum == r.meta.SHA256 {
		return s.confirmed(ctx, r, now, OutcomeUnchanged, &ft.validators)
	}
	rd, err := r.open(bytes.NewReader(ft.body), intel.Options{Name: f.Name, Params: f.Params})
	if err != nil {
		return s.failed(ctx, r, now, &fetchError{errParse, fmt.Errorf("open feed %q: %w", f.Name, err)})
	}
	c, err := collect(rd, *f, now, s.seed, hashKey)
	if err != nil {
		return s.failed(ctx, r, now, &fetchError{errParse, err})
	}
	for reason, n := range c.rep.GuardRefused {
		s.metrics.guardRefused.WithLabelValues(f.Name, reason).Add(float64(n))
	}
	h := judge(f.Guard, !r.have, r.keys, c.keys, &c.rep)
	if h.reason != "" && (f.Guard.AcceptAfterHolds < 0 || r.meta.Holds < f.Guard.AcceptAfterHolds) {
		return s.held(ctx, r, now, h, c.rep)
	}
	return s.accepted(ctx, r, now, ft, sum, c, h)
}

// failed records a failed refresh; the current copy stays.
func (s *Scheduler) failed(ctx context.Context, r *feedRun, now time.Time, err error) Result {
	name := r.feed.Name
	if ctx.Err() != nil {
		// Shutting down: not a failure of the feed.
		return Result{Name: name, Outcome: OutcomeFailed, Err: ctx.Err(), State: s.update(r, nil)}
	}
	s.metrics.errors.WithLabelValues(name, reasonOf(err)).Inc()
	s.metrics.fetches.WithLabelValues(name, string(OutcomeFailed)).Inc()
	st := s.update(r, func(st *State) {
		st.Attempted, st.Outcome = now, OutcomeFailed
		st.Failures++
		st.LastError = err.Error()
		st.UsingLastGood = r.have
	})
	s.pushState(ctx, r, st)
	return Result{Name: name, Outcome: OutcomeFailed, Err: err, State: st}
}

// confirmed records that the source still serves the current copy.
func (s *Scheduler) confirmed(ctx context.Context, r *feedRun, now time.Time, outcome Outcome, nv *validators) Result {
	name := r.feed.Name
	r.meta.Checked = now
	if nv != nil {
		r.meta.ETag, r.meta.LastModified = nv.etag, nv.lastModified
		r.meta.ModTime, r.meta.FileSize = nv.modTime, nv.size
	}
	r.meta.Holds, r.meta.HoldReason = 0, ""
	if err := s.disk.writeMeta(name, r.meta); err != nil {
		s.log.Warn("keep feed copy", "feed", name, "err", err)
	}
	s.metrics.fetches.WithLabelValues(name, string(outcome)).Inc()
	st := s.update(r, func(st *State) {
		st.Checked, st.Attempted, st.Outcome = now, now, outcome
		st.Failures, st.LastError, st.UsingLastGood = 0, "", false
		st.Holds, st.HoldReason = 0, ""
	})
	s.pushState(ctx, r, st)
	return Result{Name: name, Outcome: outcome, State: st}
}

// held records an update the guard held back; the current copy stays and
// the next fetch is unconditional, so the update is judged again.
func (s *Scheduler) held(ctx context.Context, r *feedRun, now time.Time, h hold, rep Report) Result {
	f := &r.feed
	r.meta.Holds++
	r.meta.HoldReason = h.detail
	if !r.have {
		r.meta.Source, r.meta.Format = f.Source(), f.Format
	}
	if err := s.disk.writeMeta(f.Name, r.meta); err != nil {
		s.log.Warn("keep feed copy", "feed", f.Name, "err", err)
	}
	r.recheck = true
	s.metrics.holds.WithLabelValues(f.Name, h.reason).Inc()
	s.metrics.fetches.WithLabelValues(f.Name, string(OutcomeHeld)).Inc()
	s.log.Warn("feed update held", "feed", f.Name, "reason", h.detail,
		"holds", r.meta.Holds, "accept_after_holds", f.Guard.AcceptAfterHolds)
	st := s.update(r, func(st *State) {
		st.Attempted, st.Outcome = now, OutcomeHeld
		st.Holds, st.HoldReason = r.meta.Holds, h.detail
		st.Failures, st.LastError = 0, ""
	})
	s.pushState(ctx, r, st)
	return Result{Name: f.Name, Outcome: OutcomeHeld, Report: rep, HoldReason: h.detail, State: st}
}

// accepted hands a new copy to the sink and keeps it. h is the hold the
// guard wanted, when the update is accepted despite it.
func (s *Scheduler) accepted(ctx context.Context, r *feedRun, now time.Time, ft fetched, sum string, c collected, h hold) Result {
	f := &r.feed
	outcome := OutcomeUpdated
	if h.reason != "" {
		outcome = OutcomeForced
	}
	st := s.update(r, nil)
	st.Fetched, st.Checked, st.Attempted, st.Outcome = now, now, now, outcome
	st.Indicators, st.Bytes, st.Report = len(c.inds), int64(len(ft.body)), c.rep
	st.Holds, st.HoldReason, st.Failures, st.LastError = 0, "", 0, ""
	st.UsingLastGood, st.Stale = false, false
	if outcome == OutcomeForced {
		st.Forced = now
	}
	if err := s.sink.ReplaceFeed(ctx, st, c.inds); err != nil {
		return s.failed(ctx, r, now, &fetchError{errSink, fmt.Errorf("replace feed %q: %w", f.Name, err)})
	}
	if outcome == OutcomeForced {
		s.metrics.forced.WithLabelValues(f.Name).Inc()
		s.log.Error("feed update accepted despite the guard", "feed", f.Name, "reason", h.detail, "holds", r.meta.Holds)
	}
	m := meta{
		Source: f.Source(), Format: f.Format,
		ETag: ft.etag, LastModified: ft.lastModified, ModTime: ft.modTime, FileSize: ft.size,
		SHA256: sum, Bytes: int64(len(ft.body)), Fetched: now, Checked: now,
	}
	if err := s.disk.write(f.Name, m, ft.body); err != nil {
		s.log.Warn("keep feed copy", "feed", f.Name, "err", err)
	}
	r.have, r.meta, r.keys, r.recheck, r.pushed = true, m, c.keys, false, true
	s.metrics.fetches.WithLabelValues(f.Name, string(outcome)).Inc()
	s.mu.Lock()
	next := r.state.Next
	r.state, r.state.Next, r.notifiedStale = st, next, false
	s.mu.Unlock()
	return Result{Name: f.Name, Outcome: outcome, Report: c.rep, HoldReason: h.detail, State: st}
}

// update applies fn (which may be nil) to r's state and returns a copy
// with Stale brought up to date.
func (s *Scheduler) update(r *feedRun, fn func(*State)) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn != nil {
		fn(&r.state)
	}
	r.state.Stale = r.state.staleAt(time.Now())
	return r.state
}

// pushState gives st to the sink.
func (s *Scheduler) pushState(ctx context.Context, r *feedRun, st State) {
	if err := s.sink.FeedState(ctx, st); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("record feed state", "feed", st.Name, "err", err)
	}
	s.mu.Lock()
	r.notifiedStale = st.Stale
	s.mu.Unlock()
}
