// Package flowwatch finds proxy-botnet infrastructure in network sessions
// (NetFlow, IPFIX and Zeek data, as [flow.Session]): inside hosts that
// relay outside clients' sessions, backconnect bots that carry relayed
// bytes in a long session to an outside server, outside C2 servers that a
// population of inside devices beacons to, silent UDP collectors, exposed
// proxies, and contacts with addresses the verdict table lists.
//
// The detectors stream in event time. A watermark (the oldest source's
// newest session end, minus the configured lateness) orders sessions from
// several sources; sessions that end before it are counted as late and
// dropped. Every EvalEvery of event time the detectors score what they
// hold and emit [proxywatch.Finding] values. State is bounded by
// [Limits], whatever the number of hosts: distinct counts are sketches,
// per-pair beacon timing keeps a fixed ring of timestamps, and every table
// evicts its least valuable entries when full. docs/detection.md explains
// each detector, its parameters and its blind spots.
//
// Findings about outside hosts (C2, backconnect server, collector) above
// Promote.MinConfidence are also returned as [proxywatch.Indicator] values
// for the store; findings about inside hosts are never enforced: they make
// up the compromised-inside-hosts report ([Watch.Report]).
//
// The package decodes nothing: decoders produce sessions (package flow and
// its subpackages), and the caller feeds them in.
package flowwatch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
)

// Feed is the source name promoted indicators carry.
const Feed = "detect:flows"

// A Listing is what the verdict table says about an address.
type Listing struct {
	Kind       proxywatch.Kind
	Confidence uint8
	Feed       string
}

// Deps are the detectors' collaborators. Every field may be nil.
type Deps struct {
	Logger *slog.Logger
	// Listed looks an address up in the verdict table. It is called for
	// both ends of every session and must be fast and safe for concurrent
	// use; nil disables the listed-contact detector.
	Listed func(netip.Addr) (Listing, bool)
	// OnFinding, when set, receives each finding as it is made, instead of
	// Findings returning it. It is called with the Watch locked: it must
	// not call back into the Watch.
	OnFinding func(proxywatch.Finding)
	// OnIndicator, when set, receives each promoted indicator, instead of
	// Indicators returning it. The same locking rule applies.
	OnIndicator func(proxywatch.Indicator)
}

// Stats counts what the detectors saw. The counts only grow.
type Stats struct {
	Sessions  int64 `json:"sessions"`  // processed
	Late      int64 `json:"late"`      // dropped: ended before the watermark
	Internal  int64 `json:"internal"`  // ignored: both ends inside
	External  int64 `json:"external"`  // ignored: both ends outside
	Invalid   int64 `json:"invalid"`   // ignored: no valid addresses
	Findings  int64 `json:"findings"`  // emitted
	Promoted  int64 `json:"promoted"`  // indicators emitted
	Evictions int64 `json:"evictions"` // table entries evicted because a limit was reached
	Evals     int64 `json:"evals"`     // scoring rounds
	// EvalTime is the time the scoring rounds took, by the clock: their
	// cost grows with event time (a round every eval_every), not with the
	// sessions processed.
	EvalTime time.Duration `json:"eval_time_ns"`
}

// A Watch runs the flow detectors. Process, Advance and Flush must be
// called from one goroutine at a time; Findings, Indicators, Report and
// Stats may be called concurrently with them. The zero Watch is not
// usable; call New.
type Watch struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	mu       sync.Mutex
	v4, v6   []netip.Prefix
	sources  map[string]int64 // newest session end per source, µs
	mark     int64            // watermark, µs; 0 before the first session
	nextEval int64
	epochLen int64 // half a window, µs

	pairs       *table[pairKey, pairState]
	pairCMS     *cms
	c2Found     []epKey // the C2s found in the current round
	eps         *table[epKey, epState]
	epCMS       *cms
	hosts       *table[addrKey, histState]
	relays      *table[addrKey, relayState]
	listed      *table[listedKey, int64]
	found       *table[foundKey, foundState]
	bcBots      map[epKey]map[addrKey]int64 // backconnect servers: bots seen, bounded by found
	suspect     map[addrKey]uint8           // inside hosts flagged by any detector, rebuilt each round
	baseRate    float64                     // share of followed inside hosts that are suspects
	prevSuspect map[addrKey]uint8           // the previous round's suspects
	aggs        aggTable                    // per-endpoint aggregates, reused by each round
	scratch     []float64
	arena       []pairRef // the clients of every endpoint, one round at a time
	pairAgg     []int32   // the aggs index of each pair, one round at a time
	aggPrev     []epKey   // the previous round's aggs.keys
	aggRemap    []int32   // aggPrev index to this round's aggs index, or -1

	// trace, when set (by tests), receives the features of every subject
	// scored.
	trace func(detector string, subject netip.Addr, port uint16, features map[string]float64)

	pending []proxywatch.Finding
	inds    []proxywatch.Indicator
	stats   Stats
}

// New returns a Watch for cfg. It validates cfg and allocates; it starts
// nothing.
func New(cfg Config, deps Deps) (*Watch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flowwatch config: %w", err)
	}
	if len(cfg.Inside) == 0 {
		return nil, errors.New("flowwatch config: inside: no prefixes")
	}
	w := &Watch{cfg: cfg, deps: deps, log: deps.Logger, sources: map[string]int64{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range cfg.Inside {
		p = p.Masked()
		if p.Addr().Is4() || p.Addr().Is4In6() {
			w.v4 = append(w.v4, netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), 32)))
		} else {
			w.v6 = append(w.v6, p)
		}
	}
	w.epochLen = cfg.Window.Microseconds() / 2
	l := cfg.Limits
	w.pairs = newTable[pairKey, pairState](l.Pairs)
	w.pairCMS = newCMS(l.Pairs * 4)
	w.eps = newTable[epKey, epState](l.Endpoints)
	w.epCMS = newCMS(l.Endpoints * 4)
	w.hosts = newTable[addrKey, histState](l.Hosts)
	w.relays = newTable[addrKey, relayState](l.Relays)
	w.listed = newTable[listedKey, int64](l.Findings)
	w.found = newTable[foundKey, foundState](l.Findings)
	w.bcBots = map[epKey]map[addrKey]int64{}
	w.suspect = map[addrKey]uint8{}
	w.prevSuspect = map[addrKey]uint8{}
	return w, nil
}

// Config returns the configuration the Watch runs with.
func (w *Watch) Config() Config { return w.cfg }

func (w *Watch) isInside(a netip.Addr) bool {
	ps := w.v6
	if a.Is4() {
		ps = w.v4
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Process feeds one session from the default source.
func (w *Watch) Process(s flow.Session) { w.ProcessFrom("", s) }

// ProcessFrom feeds one session from the named source. The watermark is
// the oldest source's newest session end minus the lateness, so a source
// that falls behind holds the others back; [Watch.Advance] moves idle
// sources on.
func (w *Watch) ProcessFrom(source string, s flow.Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.process(source, &s)
}

// Advance tells the Watch that no session ending before t will come from
// any source (wall time, when live sources are idle), and scores what is
// due.
func (w *Watch) Advance(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	us := t.UnixMicro()
	for k, v := range w.sources {
		w.sources[k] = max(v, us)
	}
	if len(w.sources) == 0 {
		w.sources[""] = us
	}
	w.advance()
}

func (w *Watch) process(source string, s *flow.Session) {
	end := s.End().UnixMicro()
	if end < w.mark {
		w.stats.Late++
		return
	}
	if prev, ok := w.sources[source]; !ok || end > prev {
		w.sources[source] = end
		w.advance()
	}
	o, r := s.Orig.Addr().Unmap(), s.Resp.Addr().Unmap()
	if !o.IsValid() || !r.IsValid() {
		w.stats.Invalid++
		return
	}
	w.stats.Sessions++
	oi, ri := w.isInside(o), w.isInside(r)
	if w.deps.Listed != nil && w.cfg.Listed.Enabled && oi != ri {
		w.checkListed(s, o, r, oi)
	}
	switch {
	case oi && ri:
		w.stats.Internal++
	case !oi && !ri:
		w.stats.External++
	case oi:
		// The inside host's states, looked up once: both tables are left
		// alone until outbound is done with them.
		h := keyOf(o)
		rs, hs := w.relays.get(h), w.hosts.get(h)
		if w.servedFrom(s, h, rs, hs) {
			rev := reversed(s)
			w.inbound(&rev, keyOf(r), h)
			return
		}
		w.outbound(s, h, keyOf(r), rs, hs)
	default:
		if w.answerHalf(s, keyOf(o)) {
			rev := reversed(s)
			h := keyOf(r)
			w.outbound(&rev, h, keyOf(o), w.relays.get(h), w.hosts.get(h))
			return
		}
		w.inbound(s, keyOf(o), keyOf(r))
	}
}

// servedFrom reports whether the outbound session s of inside host h
// (relay state r and byte history st, either nil), from a flow source
// that cannot tell directions for sure (no Zeek state), leaves from the
// port h is known to serve outside clients on: it is the answer half of
// an inbound session.
func (w *Watch) servedFrom(s *flow.Session, h addrKey, r *relayState, st *histState) bool {
	if s.State != "" {
		return false
	}
	sport := s.Orig.Port()
	if r != nil && r.portVotes >= 2 && r.port == sport {
		return true
	}
	// Only sampling leaves sessions half seen; addresses shared by many
	// (CGNAT) reuse client ports too much for this below.
	if st == nil || sport == 0 || !s.Sampled {
		return false
	}
	if st.listen == sport {
		return true
	}
	// A client port talks to one peer; a port seen leaving for two
	// different outside addresses is a listening port.
	peer := uint32(hashAddr(keyOf(s.Resp.Addr().Unmap())))
	for _, u := range st.srcPorts {
		if u.port == sport && u.peer != peer {
			st.listen = sport
			return true
		}
	}
	st.srcPorts[st.srcHead%uint8(len(st.srcPorts))] = srcPort{port: sport, peer: peer}
	st.srcHead++
	return false
}

// answerHalf reports whether the inbound session s, from a flow source
// that cannot tell directions for sure, is the answer half of an outbound
// session whose request half sampling lost: it comes from a service port,
// or from an endpoint inside hosts connect to, to a high port.
func (w *Watch) answerHalf(s *flow.Session, o addrKey) bool {
	if s.State != "" || s.Resp.Port() < 1024 {
		return false
	}
	if !unusualPort(s.Orig.Port()) && unusualPort(s.Resp.Port()) {
		return true
	}
	return s.Sampled && w.eps.get(epKey{addr: o, port: s.Orig.Port(), prot: uint16(s.Proto)}) != nil
}

// reversed returns s seen from the other end.
func reversed(s *flow.Session) flow.Session {
	r := *s
	r.Orig, r.Resp = s.Resp, s.Orig
	r.OrigPackets, r.RespPackets = s.RespPackets, s.OrigPackets
	r.OrigBytes, r.RespBytes = s.RespBytes, s.OrigBytes
	return r
}

// advance recomputes the watermark and scores every round that is due.
func (w *Watch) advance() {
	oldest := int64(-1)
	for _, v := range w.sources {
		if oldest < 0 || v < oldest {
			oldest = v
		}
	}
	m := oldest - w.cfg.Lateness.Microseconds()
	if m <= w.mark {
		return
	}
	w.mark = m
	every := w.cfg.EvalEvery.Microseconds()
	if w.nextEval == 0 {
		w.nextEval = (m/every + 1) * every
		return
	}
	if w.mark >= w.nextEval {
		w.evaluate(w.mark)
		w.nextEval = (w.mark/every + 1) * every
	}
}

// Flush scores everything held as of the newest session seen, as at the
// end of a batch, and reports again the findings whose evidence grew since
// they were last reported.
func (w *Watch) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	newest := int64(0)
	for _, v := range w.sources {
		newest = max(newest, v)
	}
	if newest == 0 {
		return
	}
	w.mark = max(w.mark, newest)
	w.evaluate(w.mark)
	w.reportGrown(w.mark)
}

// Findings returns the findings made since the last call (unless
// Deps.OnFinding takes them).
func (w *Watch) Findings() []proxywatch.Finding {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.pending
	w.pending = nil
	return f
}

// Indicators returns the indicators promoted since the last call (unless
// Deps.OnIndicator takes them).
func (w *Watch) Indicators() []proxywatch.Indicator {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := w.inds
	w.inds = nil
	return i
}

// Stats returns the counts so far.
func (w *Watch) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Evictions = w.pairs.evicted + w.eps.evicted + w.hosts.evicted + w.relays.evicted + w.found.evicted + w.listed.evicted
	return s
}

// Run feeds the sessions of in to the detectors until in is closed or ctx
// is done, then flushes and returns nil: sources close their output when
// ctx ends, so either is a clean stop. While in is idle for longer than
// the lateness (in wall time), Run advances the watermark with the wall
// clock, so that live findings are not held back by a quiet network.
func (w *Watch) Run(ctx context.Context, in <-chan flow.Session) error {
	idle := max(w.cfg.Lateness, time.Second)
	tick := time.NewTicker(idle)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case s, ok := <-in:
			if !ok {
				w.Flush()
				return nil
			}
			w.Process(s)
			last = time.Now()
		case now := <-tick.C:
			if now.Sub(last) >= idle {
				w.Advance(now.Add(-w.cfg.Lateness))
			}
		case <-ctx.Done():
			w.Flush()
			return nil
		}
	}
}

// ProcessBatch feeds sessions from the default source, taking the lock
// once.
func (w *Watch) ProcessBatch(ss []flow.Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range ss {
		w.process("", &ss[i])
	}
}

// RunBatches is Run for a stage that sends batches of sessions, as the
// stitcher's Run does; the batches are not kept. Each processed batch is
// offered back on free, when it is not nil and has room, for the sender
// to reuse (stitch.RunOptions.Free).
func (w *Watch) RunBatches(ctx context.Context, in <-chan []flow.Session, free chan<- []flow.Session) error {
	idle := max(w.cfg.Lateness, time.Second)
	tick := time.NewTicker(idle)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case b, ok := <-in:
			if !ok {
				w.Flush()
				return nil
			}
			w.ProcessBatch(b)
			if free != nil {
				select {
				case free <- b:
				default:
				}
			}
			last = time.Now()
		case now := <-tick.C:
			if now.Sub(last) >= idle {
				w.Advance(now.Add(-w.cfg.Lateness))
			}
		case <-ctx.Done():
			w.Flush()
			return nil
		}
	}
}

// A Result is what a batch analysis found.
type Result struct {
	Findings   []proxywatch.Finding
	Indicators []proxywatch.Indicator
	Report     []ReportRow
	Stats      Stats
}

// Analyze runs the detectors over sessions, in order, as `proxywatch flows
// analyze` does, and returns everything they found. It stops early with
// ctx's error when ctx ends.
func Analyze(ctx context.Context, cfg Config, deps Deps, sessions iter.Seq[flow.Session]) (Result, error) {
	deps.OnFinding, deps.OnIndicator = nil, nil
	w, err := New(cfg, deps)
	if err != nil {
		return Result{}, err
	}
	var r Result
	n := 0
	for s := range sessions {
		if n++; n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			r.Findings = append(r.Findings, w.Findings()...)
		}
		w.Process(s)
	}
	w.Flush()
	r.Findings = append(r.Findings, w.Findings()...)
	r.Indicators = w.Indicators()
	r.Report = w.Report()
	r.Stats = w.Stats()
	slices.SortStableFunc(r.Findings, func(a, b proxywatch.Finding) int { return a.Time.Compare(b.Time) })
	return r, nil
}
