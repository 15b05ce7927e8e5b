// Package authwatch detects attacks in login events: per-address brute
// force, one account failing from many addresses, campaigns (a surge of
// failing, never-seen sources over the service's learned baseline, with
// every participant identified however few attempts it made), attempts
// from addresses the verdict table lists, and suspicious successes (from
// an ASN or country new for the account right after failures; impossible
// travel). It also answers Assess: a score, an action and reasons for one
// login attempt, from the same state.
//
// Detectors run in event time. Events from several sources are merged in
// time order behind a watermark (the slowest source's time minus
// Config.Lateness); an event older than what was already processed is
// counted as late and processed at once. Every per-address, per-account
// and per-campaign structure is bounded by Config, so a million distinct
// addresses cost no more memory than the configured caps
// (Config.MemoryEstimate).
//
// A Watch emits alerts and proposed decisions to an Output. It does not
// keep decisions: the decision process (package decision) applies the
// policy's escalation, aggregation and allowlist, and persists them.
// docs/detection-logins.md describes the detectors, their parameters and
// the measured quality.
package authwatch

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/policy"
	"github.com/proxywatch/proxywatch/internal/window"
)

// An Output receives what the detectors conclude, in event-time order.
// Its methods are called with the Watch's lock held: they must not call
// back into the Watch, and should return quickly.
type Output interface {
	Alert(a proxywatch.Alert)
	Decision(d proxywatch.Decision)
}

// A Listing is what the verdict table says of an address.
type Listing struct {
	Kind       proxywatch.Kind
	Confidence uint8
	Feed       string
}

// Deps are the Watch's dependencies. All are optional.
type Deps struct {
	Logger *slog.Logger
	// Out receives alerts and proposed decisions; nil discards them.
	Out Output
	// Listed looks an address up in the verdict table.
	Listed func(addr netip.Addr) (Listing, bool)
	// Enrich returns what the enrichment databases know of an address.
	Enrich func(addr netip.Addr) enrich.Info
	// Decided returns the live decision covering an address, for Assess.
	Decided func(addr netip.Addr) (proxywatch.Decision, bool)
	// Policy shapes proposed decisions (action, expiry) as the decision
	// process will; nil means policy.DefaultConfig(). The decision
	// process reshapes them with the subject's history.
	Policy *policy.Config
	// Sources is the number of log sources that feed the Watch, when
	// known. With exactly one there is nothing to merge, so events are
	// judged as they come rather than Config.Lateness later; 0 means
	// unknown.
	Sources int
}

// Watch runs the login detectors. It is safe for concurrent use: Process,
// Flush and Assess may be called from several goroutines (they serialise
// on one lock; Assess holds it for a few map lookups).
type Watch struct {
	mu     sync.Mutex
	cfg    Config
	deps   Deps
	log    *slog.Logger
	policy policy.Config

	clock   clock
	ips     *window.LRU[[16]byte, ipState]
	users   *window.LRU[userKey, userState]
	known   *window.Seen // addresses with a successful login
	svcs    []*service
	svcIdx  map[string]int
	pending pendingQueue
	now     uint32 // the latest processed event time, Unix seconds
	serial  uint32 // campaigns started

	ids   idGen
	stats Stats
}

// Stats counts what a Watch did. Every field only grows.
type Stats struct {
	Events        uint64 `json:"events"`          // events given to Process
	Late          uint64 `json:"late"`            // events older than what was already processed
	Forced        uint64 `json:"forced"`          // events processed early because the reorder buffer was full
	Failures      uint64 `json:"failures"`        // failed attempts counted
	Successes     uint64 `json:"successes"`       // successful logins
	Forgiven      uint64 `json:"forgiven"`        // failures followed by a success (typos)
	NewFailing    uint64 `json:"new_failing"`     // never-seen failing sources confirmed
	Alerts        uint64 `json:"alerts"`          // alerts emitted
	Decisions     uint64 `json:"decisions"`       // decisions proposed
	Campaigns     uint64 `json:"campaigns"`       // campaigns detected
	Participants  uint64 `json:"participants"`    // campaign participants identified
	SourcesEvict  uint64 `json:"sources_evicted"` // per-address states forgotten to make room
	UsersEvict    uint64 `json:"users_evicted"`   // per-account states forgotten to make room
	MembersFolded uint64 `json:"members_folded"`  // participants folded into prefix or ASN counts
	PendingForced uint64 `json:"pending_forced"`  // failures confirmed before Forgive because the queue was full
}

// maxServices caps the services tracked (ipState keeps one bit per
// service); further names share the last.
const maxServices = 32

// New returns a Watch for cfg. It allocates its bounded structures lazily
// and starts nothing.
func New(cfg Config, deps Deps) (*Watch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watch{cfg: cfg, deps: deps, log: log, svcIdx: map[string]int{}, policy: policy.DefaultConfig()}
	if deps.Policy != nil {
		w.policy = *deps.Policy
	}
	w.ips = window.NewLRU[[16]byte, ipState](cfg.MaxSources, func([16]byte, *ipState) { w.stats.SourcesEvict++ })
	w.users = window.NewLRU[userKey, userState](cfg.MaxUsers, func(userKey, *userState) { w.stats.UsersEvict++ })
	w.known = window.NewSeen(cfg.KnownSources, 0.001, int64(cfg.KnownFor/time.Second))
	w.clock.init(cfg)
	w.clock.single = deps.Sources == 1
	w.pending.init(cfg.Campaign.MaxPending)
	return w, nil
}

// Stats returns the counts so far.
func (w *Watch) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Process takes one event. It is held until the watermark passes it and
// then run through the detectors, which may emit alerts and decisions to
// the Output. Events of type EventUnknown and events without an address
// are ignored.
func (w *Watch) Process(ev proxywatch.Event) {
	if !ev.Addr.IsValid() || ev.Type == proxywatch.EventUnknown {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Events++
	w.clock.push(ev, w.handle, &w.stats)
}

// Flush processes every held event and runs every timer to completion:
// waiting failures are confirmed and open campaigns are closed with their
// final alert. Call it at the end of a batch. Processing may continue
// after Flush.
func (w *Watch) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock.drain(w.handle)
	w.advance(w.now+uint32(w.cfg.Forgive/time.Second)+1, true)
	for _, s := range w.svcs {
		w.closeCampaign(s, w.now)
	}
}

// Advance moves event time on to t minus the lateness when the logs are
// quiet: the events held up to then are processed, failures that waited
// long enough are judged, and campaign buckets close. Events older than
// that which arrive later are counted as late. Run calls it every second
// with the wall clock; batch runs do not need it.
func (w *Watch) Advance(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t = t.Add(-w.cfg.Lateness)
	if !t.After(w.clock.released) {
		return
	}
	w.clock.releaseUpTo(t, w.handle)
	w.advance(secs(t), false)
}

// Sync calls f with the Watch's lock held, and so with no event being
// processed, giving it for each source with events still held behind
// the watermark the sequence number (Event.Seq) of its oldest held event.
// Every event of a source before that one has been through the detectors
// and its alerts and decisions are in the Output. A log watcher calls it
// to commit its Output's writes together with positions that resume each
// source on its oldest unprocessed line. f must not call back into the
// Watch.
func (w *Watch) Sync(f func(held map[string]uint64)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w.clock.oldestHeld())
}

// Run advances event time with the wall clock every second until ctx
// ends (see Advance), so that a quiet log does not hold judgements back.
// It returns nil when ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			w.Advance(now)
		}
	}
}

// secs returns t as Unix seconds clamped to the uint32 range (0 is
// reserved for "never").
func secs(t time.Time) uint32 {
	u := t.Unix()
	switch {
	case u < 1:
		return 1
	case u > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(u)
}

// at returns Unix seconds as a time.
func at(s uint32) time.Time { return time.Unix(int64(s), 0).UTC() }

// dur returns d in whole seconds, at least 1.
func dur(d time.Duration) uint32 { return uint32(max(d/time.Second, 1)) }

// handle runs one released event through the detectors.
func (w *Watch) handle(ev *proxywatch.Event) {
	ts := secs(ev.Time)
	if ts < w.now {
		ts = w.now
	}
	w.advance(ts, false)
	svc := w.service(ev.Service)
	switch ev.Type {
	case proxywatch.EventLoginFailure, proxywatch.EventInvalidUser:
		w.failure(ev, ts, svc)
	case proxywatch.EventLoginSuccess:
		w.success(ev, ts, svc)
	}
}

// advance moves the detectors' clock to ts: it confirms the failures that
// waited long enough and closes campaign buckets. With all, it confirms
// every waiting failure.
func (w *Watch) advance(ts uint32, all bool) {
	if ts > w.now {
		w.now = ts
	}
	forgive := uint32(w.cfg.Forgive / time.Second)
	for {
		p, ok := w.pending.peek()
		if !ok || (!all && p.t+forgive > w.now) {
			break
		}
		w.pending.pop()
		w.confirm(p, p.t+forgive)
	}
	for _, s := range w.svcs {
		w.tick(s, w.now)
	}
}

// service returns the state of the named service, creating it.
func (w *Watch) service(name string) *service {
	if i, ok := w.svcIdx[name]; ok {
		return w.svcs[i]
	}
	if len(w.svcs) >= w.cfg.MaxServices {
		return w.svcs[len(w.svcs)-1]
	}
	s := newService(name, len(w.svcs), w.cfg.Campaign)
	w.svcIdx[name] = len(w.svcs)
	w.svcs = append(w.svcs, s)
	return s
}

// emitAlert fills in an alert's ID and sends it.
func (w *Watch) emitAlert(a *proxywatch.Alert) {
	if a.ID == "" {
		a.ID = w.ids.alert(a.Detector, a.Time)
	}
	w.stats.Alerts++
	if w.deps.Out != nil {
		w.deps.Out.Alert(*a)
	}
}

// propose sends a proposed decision for addr.
func (w *Watch) propose(addr netip.Addr, action proxywatch.Action, detector, reason, alertID string, kind proxywatch.Kind, ts uint32) proxywatch.Decision {
	if w.deps.Enrich != nil && kind != proxywatch.KindResidentialProxy {
		if f := w.deps.Enrich(addr).Flags; f&enrich.FlagResidentialProxy != 0 {
			kind = proxywatch.KindResidentialProxy // short-lived: the next household gets the address
		}
	}
	d := proxywatch.Decision{
		ID:      decisionID(addr, ts),
		Subject: proxywatch.AddrSubject(addr),
		Action:  action,
		Origin:  "detect:" + detector,
		Reason:  reason,
		AlertID: alertID,
		Kind:    kind,
		Created: at(ts),
	}
	d = w.policy.Shape(d)
	w.stats.Decisions++
	if w.deps.Out != nil {
		w.deps.Out.Decision(d)
	}
	return d
}
