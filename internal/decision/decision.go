// Package decision is the decision process: it takes the decisions the
// detectors propose and the ones operators add, applies the policy
// (package policy: TTL by class, escalation for repeat offenders,
// aggregation into a /24 or /64, the allowlist that always wins), keeps
// the live ones with their expiry, persists them and the alerts to the
// store, and reports them.
//
// Time is event time in batch (`proxywatch logs scan`: a decision's
// lifetime counts from the event that caused it, and expiry follows the
// events) and wall time in serve (Deps.Now). In serve, every stored
// decision is mirrored in the store's "decisions" feed, which the daemon's
// follower carries into the verdict table, so DNSBL, forward-auth, exports
// and the API see it within a second.
package decision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/policy"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/window"
)

// Deps are the Manager's dependencies.
type Deps struct {
	// Store keeps decisions and alerts; nil keeps them in memory only.
	Store store.DecisionStore
	// Allowlist is the ranges never decided on (allowlist.Config.Effective).
	Allowlist []netip.Prefix
	Logger    *slog.Logger
	// Now is the wall clock of serve; nil means event time: each proposed
	// decision's Created is the present.
	Now func() time.Time
	// Report, if set, is called with every alert recorded and every
	// decision taken, in order (for `logs scan --json`).
	Report func(proxywatch.Record)
	// Hold leaves the queued store writes of alerts and detected
	// decisions to the caller, who takes them with Take and commits them
	// together with the log positions they were derived from
	// (store.PositionStore.Commit); Run then only sweeps and prunes. A
	// write that finds the queue (Config.Queue) full is still written at
	// once: the store is then ahead of the positions, and a restart reads
	// the lines again, which re-proposes decisions already live (counted
	// as duplicates) and may record their alerts a second time.
	Hold bool
}

// Stats counts what a Manager did.
type Stats struct {
	Proposed    uint64 `json:"proposed"`
	Taken       uint64 `json:"taken"`       // decisions taken, aggregated ones included
	Aggregated  uint64 `json:"aggregated"`  // prefix decisions made from several addresses
	Escalated   uint64 `json:"escalated"`   // decisions on a subject decided before
	Duplicate   uint64 `json:"duplicate"`   // proposals a live decision already covered
	Allowlisted uint64 `json:"allowlisted"` // proposals refused by the allowlist
	Refused     uint64 `json:"refused"`     // proposals refused as invalid (too wide, not an address)
	Expired     uint64 `json:"expired"`
	Alerts      uint64 `json:"alerts"`
	StoreErrors uint64 `json:"store_errors"`
}

// entry is a live decision.
type entry struct {
	d proxywatch.Decision
}

// hist is what escalation remembers of a subject.
type hist struct {
	count int
	last  time.Time
}

// Manager keeps the live decisions. It is safe for concurrent use, and
// implements authwatch.Output (Alert, Decision).
type Manager struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	allow policy.Allowlist

	mu       sync.Mutex
	live     *window.LRU[netip.Prefix, entry]
	byID     map[string]netip.Prefix
	wide     map[netip.Prefix]struct{} // live decisions on prefixes wider than one address
	agg      map[netip.Prefix]int      // live single-address decisions per aggregation prefix
	hist     *window.LRU[netip.Prefix, hist]
	now      time.Time // event time in batch
	swept    time.Time
	pending  []store.Write // store writes waiting for Run or Take
	wake     chan struct{}
	queued   chan struct{} // with Deps.Hold: a write waits for Take
	stats    Stats
	idSerial uint64

	storeErrs atomic.Uint64
}

// New returns a Manager. It starts nothing; in serve, call Load and then
// Run.
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, deps: deps, log: log, allow: policy.NewAllowlist(deps.Allowlist),
		byID: map[string]netip.Prefix{}, wide: map[netip.Prefix]struct{}{}, agg: map[netip.Prefix]int{},
		wake: make(chan struct{}, 1), queued: make(chan struct{}, 1)}
	m.live = window.NewLRU[netip.Prefix, entry](cfg.MaxLive, func(p netip.Prefix, e *entry) { m.forget(p, e) })
	m.hist = window.NewLRU[netip.Prefix, hist](cfg.MaxHistory, nil)
	return m, nil
}

// SetAllowlist replaces the allowlist that new proposals and operators'
// decisions are checked against (a reload). Live decisions are kept.
func (m *Manager) SetAllowlist(ps []netip.Prefix) {
	a := policy.NewAllowlist(ps)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.allow = a
}

// Stats returns the counts so far.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stats
	st.StoreErrors = m.storeErrs.Load()
	return st
}

// clock returns the present: the wall clock in serve, else the later of
// the event time so far and t.
func (m *Manager) clock(t time.Time) time.Time {
	if m.deps.Now != nil {
		return m.deps.Now().UTC()
	}
	if t.After(m.now) {
		m.now = t.UTC()
	}
	return m.now
}

// Alert records an alert: to the store and the report.
func (m *Manager) Alert(a proxywatch.Alert) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clock(a.Time)
	m.stats.Alerts++
	if m.deps.Report != nil {
		m.deps.Report(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordAlert, Alert: &a})
	}
	m.write(store.Write{Alert: &a})
}

// Decision takes a proposed decision (authwatch.Output).
func (m *Manager) Decision(d proxywatch.Decision) { m.Propose(d) }

// Propose applies the policy to a proposed decision and returns the
// decisions taken: none when the allowlist covers the subject, when it is
// not an address or an allowed prefix, or when a live decision at least
// as strong already covers it; the decision, with its count, action and
// expiry set by the policy; and, when it completes a /24 or /64, the
// prefix's decision after it.
func (m *Manager) Propose(d proxywatch.Decision) []proxywatch.Decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.Proposed++
	now := m.clock(d.Created)
	m.sweepIfDue(now)
	s := d.Subject
	switch {
	case m.cfg.CheckSubject(s) != nil:
		m.stats.Refused++
		return nil
	case m.allow.Covers(s):
		m.stats.Allowlisted++
		return nil
	}
	s = proxywatch.PrefixSubject(s.Prefix)
	d.Subject = s
	if c, ok := m.covering(s.Prefix, now); ok && (c.Action == proxywatch.ActionBan || d.Action != proxywatch.ActionBan) {
		m.stats.Duplicate++
		return nil
	}
	taken := []proxywatch.Decision{m.take(d, now)}
	if a := s.Prefix; a.IsSingleIP() {
		if p, n, ok := m.cfg.AggregateOf(a.Addr()); ok && m.agg[p] >= n && !m.allow.Covers(proxywatch.PrefixSubject(p)) {
			if _, live := m.covering(p, now); !live {
				taken = append(taken, m.take(proxywatch.Decision{
					ID: "", Subject: proxywatch.PrefixSubject(p), Action: d.Action, Origin: d.Origin,
					Reason: fmt.Sprintf("aggregate: %d addresses of %s decided", m.agg[p], p), AlertID: d.AlertID, Kind: d.Kind,
				}, now))
				m.stats.Aggregated++
			}
		}
	}
	return taken
}

// take records d as live from now, shaped by the policy, and persists and
// reports it.
func (m *Manager) take(d proxywatch.Decision, now time.Time) proxywatch.Decision {
	p := d.Subject.Prefix
	h, _ := m.hist.Put(p)
	if h.count > 0 && now.Sub(h.last) > m.cfg.Escalation.Memory {
		h.count = 0
	}
	h.count++
	h.last = now
	if h.count > 1 {
		m.stats.Escalated++
	}
	d.Created, d.Count, d.Expires = now, h.count, time.Time{}
	d = m.cfg.Shape(d)
	if d.ID == "" {
		d.ID = m.newID(p, now)
	}
	m.install(d)
	m.stats.Taken++
	if m.deps.Report != nil {
		dd := d
		m.deps.Report(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordDecision, Decision: &dd})
	}
	m.write(store.Write{Put: &d})
	return d
}

// newID names a decision made here: its time and subject.
func (m *Manager) newID(p netip.Prefix, now time.Time) string {
	m.idSerial++
	return "d-" + strconv.FormatInt(now.Unix(), 36) + "-" + p.String() + "-" + strconv.FormatUint(m.idSerial, 36)
}

// install makes d the live decision on its subject, replacing any other.
// m.mu is held.
func (m *Manager) install(d proxywatch.Decision) {
	p := d.Subject.Prefix
	m.drop(p)
	e, _ := m.live.Put(p)
	e.d = d
	m.byID[d.ID] = p
	if !p.IsSingleIP() {
		m.wide[p] = struct{}{}
	} else if ap, _, ok := m.cfg.AggregateOf(p.Addr()); ok {
		m.agg[ap]++
	}
}

// drop removes the live decision on p, if any. m.mu is held.
func (m *Manager) drop(p netip.Prefix) {
	if e, ok := m.live.Peek(p); ok {
		m.forget(p, e)
		m.live.Remove(p)
	}
}

// forget drops the indexes of a live entry about to be removed.
func (m *Manager) forget(p netip.Prefix, e *entry) {
	delete(m.byID, e.d.ID)
	delete(m.wide, p)
	if p.IsSingleIP() {
		if ap, _, ok := m.cfg.AggregateOf(p.Addr()); ok {
			if m.agg[ap]--; m.agg[ap] <= 0 {
				delete(m.agg, ap)
			}
		}
	}
}

// covering returns the live decision on p, or on a prefix containing p (a
// ban before a challenge).
func (m *Manager) covering(p netip.Prefix, now time.Time) (proxywatch.Decision, bool) {
	if e, ok := m.live.Peek(p); ok && now.Before(e.d.Expires) {
		return e.d, true
	}
	var best proxywatch.Decision
	found := false
	consider := func(w netip.Prefix) {
		if e, ok := m.live.Peek(w); ok && now.Before(e.d.Expires) && (!found || e.d.Action == proxywatch.ActionBan) {
			best, found = e.d, true
		}
	}
	if len(m.wide) <= wideScan {
		for w := range m.wide {
			if w != p && w.Bits() <= p.Bits() && w.Contains(p.Addr()) {
				consider(w)
			}
		}
		return best, found
	}
	// Many prefixes (a large campaign aggregated): probe each length no
	// wider than the bound instead of scanning them all.
	widest := m.cfg.Aggregate.Widest6
	if p.Addr().Is4() {
		widest = m.cfg.Aggregate.Widest4
	}
	for bits := p.Bits() - 1; bits >= widest; bits-- {
		if w, err := p.Addr().Prefix(bits); err == nil {
			if _, ok := m.wide[w]; ok {
				consider(w)
			}
		}
	}
	return best, found
}

// wideScan is the number of live prefix decisions up to which covering
// scans them all rather than probing each prefix length.
const wideScan = 32

// Active returns the live decision covering addr at t (zero t: now), a ban
// before a challenge.
func (m *Manager) Active(addr netip.Addr, t time.Time) (proxywatch.Decision, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.IsZero() {
		t = m.clock(time.Time{})
	}
	addr = addr.Unmap()
	return m.covering(netip.PrefixFrom(addr, addr.BitLen()), t)
}

// List returns the decisions live at t (zero t: now), oldest first.
func (m *Manager) List(t time.Time) []proxywatch.Decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.IsZero() {
		t = m.clock(time.Time{})
	}
	var out []proxywatch.Decision
	for _, e := range m.live.All() {
		if !e.d.Created.After(t) && t.Before(e.d.Expires) {
			out = append(out, e.d)
		}
	}
	slices.SortFunc(out, func(a, b proxywatch.Decision) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Add takes an operator's decision at once: the subject must be an address
// or an allowed prefix outside the allowlist (ErrInvalid otherwise). A
// zero Expires means the manual TTL; a zero Action, a ban. It is written
// to the store before Add returns.
func (m *Manager) Add(ctx context.Context, d proxywatch.Decision) (proxywatch.Decision, error) {
	if err := m.cfg.CheckSubject(d.Subject); err != nil {
		return d, err
	}
	m.mu.Lock()
	covered := m.allow.Covers(d.Subject)
	m.mu.Unlock()
	if covered {
		return d, fmt.Errorf("decision subject %s: allowlisted: %w", d.Subject, proxywatch.ErrInvalid)
	}
	if d.Action == "" {
		d.Action = proxywatch.ActionBan
	}
	if d.Action != proxywatch.ActionBan && d.Action != proxywatch.ActionChallenge {
		return d, fmt.Errorf("decision action %q: must be ban or challenge: %w", d.Action, proxywatch.ErrInvalid)
	}
	m.mu.Lock()
	now := m.clock(d.Created)
	d.Subject = proxywatch.PrefixSubject(d.Subject.Prefix)
	d.Origin = policy.OriginManual
	d.Created = now
	if d.ID == "" {
		d.ID = m.newID(d.Subject.Prefix, now)
	}
	if !d.Expires.IsZero() && !d.Expires.After(now) {
		m.mu.Unlock()
		return d, fmt.Errorf("decision expires %s: in the past: %w", d.Expires, proxywatch.ErrInvalid)
	}
	expires := d.Expires
	d = m.cfg.Shape(d)
	if !expires.IsZero() {
		d.Expires = expires
	}
	m.mu.Unlock()
	if m.deps.Store != nil {
		if err := m.deps.Store.PutDecision(ctx, d); err != nil {
			return d, fmt.Errorf("add decision: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.install(d)
	m.stats.Taken++
	return d, nil
}

// Delete removes the decision id, from the store first. It returns
// ErrNotFound if neither the store nor memory has it.
func (m *Manager) Delete(ctx context.Context, id string) error {
	var serr error
	if m.deps.Store != nil {
		serr = m.deps.Store.DeleteDecision(ctx, id)
		if serr != nil && !errors.Is(serr, proxywatch.ErrNotFound) {
			return fmt.Errorf("delete decision %q: %w", id, serr)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.byID[id]
	if !ok {
		if serr != nil || m.deps.Store == nil {
			return fmt.Errorf("delete decision %q: %w", id, proxywatch.ErrNotFound)
		}
		return nil
	}
	m.drop(p)
	return nil
}

// Load reads the decisions live now from the store into memory, with
// their counts for escalation. Call it once before Run in serve.
func (m *Manager) Load(ctx context.Context) error {
	if m.deps.Store == nil {
		return nil
	}
	now := m.clock(time.Time{})
	ds, err := m.deps.Store.Decisions(ctx, now)
	if err != nil {
		return fmt.Errorf("load decisions: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range ds {
		p := d.Subject.Prefix
		if !p.IsValid() {
			continue
		}
		m.install(d)
		h, _ := m.hist.Put(p)
		h.count, h.last = max(h.count, d.Count), d.Created
	}
	return nil
}

// Knows reports whether a live decision is on exactly prefix p, for a
// follower of the store's changes to tell the process's own writes from
// another process's.
func (m *Manager) Knows(p netip.Prefix) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.live.Peek(p)
	return ok
}

// Forget drops the live decision on exactly p from memory, without
// writing to the store, when its mirror in the store is the one of kind
// that was deleted there (by another process, `proxywatch decisions
// delete`; a replacement of another kind deletes the old mirror too, and
// the live decision is then the new one, which stays).
func (m *Manager) Forget(p netip.Prefix, kind proxywatch.Kind) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.live.Peek(p); ok && store.DecisionIndicator(e.d).Kind == kind {
		m.drop(p)
	}
}

// Sync makes the live decisions those of the store, as another process
// (`proxywatch decisions add|delete`) may have changed them: it loads the
// store's live decisions and forgets live ones the store no longer has,
// except those still queued for the store (Deps.Hold).
func (m *Manager) Sync(ctx context.Context) error {
	if m.deps.Store == nil {
		return nil
	}
	ds, err := m.deps.Store.Decisions(ctx, m.clockNow())
	if err != nil {
		return fmt.Errorf("sync decisions: %w", err)
	}
	if err := m.Load(ctx); err != nil {
		return err
	}
	stored := make(map[string]bool, len(ds))
	for _, d := range ds {
		stored[d.ID] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.pending {
		if w.Put != nil {
			stored[w.Put.ID] = true
		}
	}
	var gone []netip.Prefix
	for p, e := range m.live.All() {
		if !stored[e.d.ID] {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		m.drop(p)
	}
	return nil
}

// clockNow returns the present under the lock.
func (m *Manager) clockNow() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.clock(time.Time{})
}
