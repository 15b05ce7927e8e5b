package decision

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// write persists an op: at once in event-time mode (batch runs one
// goroutine), else queued for Run, and at once when the queue is full.
// m.mu is held.
func (m *Manager) write(o store.Write) {
	if m.deps.Store == nil {
		return
	}
	if m.deps.Now == nil || len(m.pending) >= m.cfg.Queue {
		m.apply(context.Background(), o)
		return
	}
	m.pending = append(m.pending, o)
	if m.deps.Hold {
		select {
		case m.queued <- struct{}{}:
		default:
		}
		return
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// apply makes one store write, counting and logging a failure. It needs
// no lock.
func (m *Manager) apply(ctx context.Context, o store.Write) {
	var err error
	switch {
	case o.Put != nil:
		err = m.deps.Store.PutDecision(ctx, *o.Put)
	case o.Delete != "":
		err = m.deps.Store.DeleteDecision(ctx, o.Delete)
		if errors.Is(err, proxywatch.ErrNotFound) {
			err = nil
		}
	case o.Alert != nil:
		err = m.deps.Store.PutAlert(ctx, *o.Alert)
	}
	if err != nil {
		m.storeErrs.Add(1)
		m.log.Warn("store write", "err", err)
	}
}

// Take returns the queued store writes, oldest first, and forgets them:
// the caller commits them (see Deps.Hold). A caller whose commit fails
// gives them back with Requeue.
func (m *Manager) Take() []store.Write {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.pending
	m.pending = nil
	return ws
}

// Queued returns a channel that receives a value when a write is queued
// for Take (with Deps.Hold), so that the caller can commit promptly.
// Several writes may be signalled by one value.
func (m *Manager) Queued() <-chan struct{} { return m.queued }

// Requeue puts writes Take returned back at the head of the queue, for
// the next commit.
func (m *Manager) Requeue(ws []store.Write) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(ws, m.pending...)
}

// CountStoreError counts a store write the caller of Take could not make.
func (m *Manager) CountStoreError() { m.storeErrs.Add(1) }

// Flush writes every queued store write before it returns. With
// Deps.Hold it writes nothing: the writes wait for Take.
func (m *Manager) Flush(ctx context.Context) {
	if m.deps.Hold {
		return
	}
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
