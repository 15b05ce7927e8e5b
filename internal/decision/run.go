package decision

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// write persists an op: at once in event-time mode (batch runs one
// goroutine), else queued for Run, and at once when the queue is full.
// m.mu is held.
func (m *Manager) write(o op) {
	if m.deps.Store == nil {
		return
	}
	if m.deps.Now == nil || len(m.pending) >= m.cfg.Queue {
		m.apply(context.Background(), o)
		return
	}
	m.pending = append(m.pending, o)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// apply makes one store write, counting and logging a failure. It needs
// no lock.
func (m *Manager) apply(ctx context.Context, o op) {
	var err error
	switch {
	case o.put != nil:
		err = m.deps.Store.PutDecision(ctx, *o.put)
	case o.del != "":
		err = m.deps.Store.DeleteDecision(ctx, o.del)
		if errors.Is(err, proxywatch.ErrNotFound) {
			err = nil
		}
	case o.alert != nil:
		err = m.deps.Store.PutAlert(ctx, *o.alert)
	}
	if err != nil {
		m.storeErrs.Add(1)
		m.log.Warn("store write", "err", err)
	}
}

// Flush writes every queued store write before it returns.
func (m *Manager) Flush(ctx context.Context) {
	m.mu.Lock()
	ops := m.pending
	m.pending = nil
	m.mu.Unlock()
	for _, o := range ops {
		m.apply(ctx, o) // without the lock: Active and Propose go on meanwhile
	}
}

// Run writes queued decisions and alerts to the store as they come, and
// every Config.Sweep removes expired decisions from memory and the store
// and alerts older than Config.AlertRetention. It returns nil when ctx
// ends, after writing what was queued.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			m.Flush(fctx)
			cancel()
			return nil
		case <-m.wake:
			m.Flush(ctx)
		case <-t.C:
			m.Flush(ctx)
			now := m.clock(time.Time{})
			m.mu.Lock()
			m.sweep(now)
			m.mu.Unlock()
			if m.deps.Store != nil {
				if _, err := m.deps.Store.PruneDecisions(ctx, now); err != nil && ctx.Err() == nil {
					m.log.Warn("prune decisions", "err", err)
				}
				if _, err := m.deps.Store.PruneAlerts(ctx, now.Add(-m.cfg.AlertRetention)); err != nil && ctx.Err() == nil {
					m.log.Warn("prune alerts", "err", err)
				}
			}
		}
	}
}

// sweepIfDue sweeps in event-time mode once Sweep has passed. m.mu is
// held.
func (m *Manager) sweepIfDue(now time.Time) {
	if m.deps.Now != nil || now.Sub(m.swept) < m.cfg.Sweep {
		return
	}
	m.sweep(now)
}

// sweep removes the decisions expired at now from memory. m.mu is held.
func (m *Manager) sweep(now time.Time) {
	m.swept = now
	var gone []netip.Prefix
	for p, e := range m.live.All() {
		if !now.Before(e.d.Expires) {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		if e, ok := m.live.Peek(p); ok {
			m.forget(p, e)
			m.live.Remove(p)
			m.stats.Expired++
		}
	}
}
