package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/tail"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// logWatch is login watch in serve: it follows the configured logs,
// parses each line, feeds the events to the login detectors, and every
// Logs.Commit commits the detectors' alerts and decisions together with
// each source's position, in one store transaction.
//
// One goroutine per source reads and parses; a single goroutine (run)
// feeds the detectors and commits, so that a commit sees every line it
// covers fully processed. A source's committed position is the one before
// its oldest event still held behind the detectors' watermark (or after
// its last line when none is held): a restart reads again exactly the
// lines whose events had not reached the detectors, and none whose alerts
// and decisions were committed. The detectors' windows (counts of recent
// failures, the learned baseline) live in memory and start afresh after
// a restart; docs/logs.md says so.
type logWatch struct {
	cfg      config.Logs
	onCommit func() // after a commit that wrote decisions or alerts
	log      *slog.Logger
	store    store.PositionStore
	watch    *authwatch.Watch
	dm       *decision.Manager
	srcs     []*logSource
	lines    chan logLine

	commits, commitErrs atomic.Uint64
	lastCommit          time.Time // kept by run
	closeOnce           sync.Once
}

// logSource is one followed log.
type logSource struct {
	idx    int
	cfg    config.LogSource
	parser logparse.Parser
	reader *tail.Reader

	// Kept by run only:
	last      tail.Checkpoint // after the last line run has seen
	before    []linePos       // before each line whose events went to the detectors, in sequence order, from bh
	bh        int
	committed tail.Checkpoint

	lines, events atomic.Uint64
	parsed        parseSnapshot // the parser's counts, for the metrics
}

// linePos is the position before a line, by its sequence number.
type linePos struct {
	seq uint64
	pos tail.Checkpoint
}

// logLine is one line of a source, parsed.
type logLine struct {
	src    int
	n      int // events: 0, 1, or a repeat count
	ev     proxywatch.Event
	before tail.Checkpoint
	after  tail.Checkpoint
}

// commitSoon is how long a queued decision or alert waits for others to
// share its commit.
const commitSoon = 50 * time.Millisecond

// newLogWatch opens the sources of cfg at their stored positions. It reads
// no line yet.
func newLogWatch(ctx context.Context, cfg config.Logs, st store.PositionStore, w *authwatch.Watch, dm *decision.Manager, log *slog.Logger) (*logWatch, error) {
	lw := &logWatch{cfg: cfg, log: log, store: st, watch: w, dm: dm, lines: make(chan logLine, 4096)}
	stored, err := st.Positions(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	for i, sc := range cfg.Sources {
		var cp tail.Checkpoint
		if b, ok := stored[sc.Name]; ok {
			if err := json.Unmarshal(b, &cp); err != nil {
				return nil, fmt.Errorf("logs: source %q: stored position: %w", sc.Name, err)
			}
		}
		p, err := logparse.New(sc.Parser(), sc.Name)
		if err != nil {
			return nil, fmt.Errorf("logs: source %q: %w", sc.Name, err)
		}
		var r *tail.Reader
		if jc, ok := sc.JournalConfig(); ok {
			jc.Logger = log.With("source", sc.Name)
			r, err = tail.OpenJournal(jc, cp)
		} else {
			tc := sc.Tail()
			tc.Logger = log.With("source", sc.Name)
			r, err = tail.Open(tc, cp)
		}
		if err != nil {
			lw.close()
			return nil, fmt.Errorf("logs: source %q: %w", sc.Name, err)
		}
		lw.srcs = append(lw.srcs, &logSource{idx: i, cfg: sc, parser: p, reader: r,
			last: r.Checkpoint(), committed: r.Checkpoint()})
	}
	return lw, nil
}

func (lw *logWatch) close() {
	lw.closeOnce.Do(func() {
		for _, s := range lw.srcs {
			s.reader.Close()
		}
	})
}

// Run follows every source until ctx ends, then commits a last time. A
// source that fails (its journal command exits, a read error) is logged
// and stops; the others go on.
func (lw *logWatch) Run(ctx context.Context) error {
	defer lw.close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{}, len(lw.srcs))
	for _, s := range lw.srcs {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := lw.read(rctx, s); err != nil && rctx.Err() == nil {
				lw.log.Error("log source stopped", "source", s.cfg.Name, "err", err)
			}
		}()
	}
	tick := time.NewTicker(lw.cfg.Commit)
	defer tick.Stop()
	running := len(lw.srcs)
	var soon <-chan time.Time
	for running > 0 || ctx.Err() == nil {
		select {
		case ln := <-lw.lines:
			lw.take(ln)
		case <-tick.C:
			if err := lw.commit(ctx); err != nil {
				lw.log.Warn("commit log positions", "err", err)
			}
		case <-lw.dm.Queued():
			// A decision or an alert: commit it with the positions
			// now, or, within commitSoon of the last commit, when
			// commitSoon has passed, so that a storm of alerts
			// shares transactions.
			if soon != nil {
				break
			}
			if wait := commitSoon - time.Since(lw.lastCommit); wait > 0 {
				soon = time.After(wait)
				break
			}
			if err := lw.commit(ctx); err != nil {
				lw.log.Warn("commit log positions", "err", err)
			}
		case <-soon:
			soon = nil
			if err := lw.commit(ctx); err != nil {
				lw.log.Warn("commit log positions", "err", err)
			}
		case <-done:
			running--
		case <-ctx.Done():
			// Drain what the readers sent until they have all stopped.
			for running > 0 {
				select {
				case ln := <-lw.lines:
					lw.take(ln)
				case <-done:
					running--
				}
			}
		}
	}
	for {
		select {
		case ln := <-lw.lines:
			lw.take(ln)
			continue
		default:
		}
		break
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := lw.commit(cctx); err != nil {
		return fmt.Errorf("last commit: %w", err)
	}
	return nil
}

// read reads and parses one source, sending each line to run.
func (lw *logWatch) read(ctx context.Context, s *logSource) error {
	for {
		before := s.reader.Checkpoint()
		ln, err := s.reader.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) { // standard input or a recorded journal ended
				lw.log.Info("log source ended", "source", s.cfg.Name, "lines", s.lines.Load())
				<-ctx.Done()
				return nil
			}
			return err
		}
		s.lines.Add(1)
		l := logLine{src: s.idx, before: before, after: ln.Pos}
		// A line without an event, malformed or not, is counted by the
		// parser by reason; the metrics show those counts, which only
		// such a line changes.
		if l.n, _ = s.parser.Parse(ln.Text, ln.Pos.Seq, &l.ev); l.n == 0 {
			s.parsed.set(s.parser.Stats())
		}
		select {
		case lw.lines <- l:
		case <-ctx.Done():
			return nil
		}
	}
}

// take gives one parsed line's events to the detectors and moves its
// source's position past it. Only run calls it.
func (lw *logWatch) take(l logLine) {
	s := lw.srcs[l.src]
	if l.n > 0 {
		if n := len(s.before); n == 0 || s.before[n-1].seq < l.ev.Seq {
			s.before = append(s.before, linePos{l.ev.Seq, l.before})
		}
		s.events.Add(uint64(l.n))
		for range l.n {
			lw.watch.Process(l.ev)
		}
	}
	s.last = l.after
}

// commit writes the decision process's queued writes and the sources'
// positions in one transaction. Only run calls it.
func (lw *logWatch) commit(ctx context.Context) error {
	var writes []store.Write
	pos := map[string][]byte{}
	var errs []error
	lw.watch.Sync(func(held map[string]uint64) {
		writes = lw.dm.Take()
		for _, s := range lw.srcs {
			cp := s.last
			oldest, isHeld := held[s.cfg.Name]
			// Lines before the oldest held event are judged: forget
			// their positions. The next one is the oldest held line's.
			live := s.before[s.bh:]
			i := len(live)
			if isHeld {
				i = sort.Search(len(live), func(i int) bool { return live[i].seq >= oldest })
			}
			if i < len(live) && live[i].seq == oldest {
				cp = live[i].pos
			}
			s.bh += i
			if s.bh == len(s.before) {
				s.before, s.bh = s.before[:0], 0
			} else if s.bh >= 4096 && 2*s.bh >= len(s.before) {
				s.before, s.bh = s.before[:copy(s.before, s.before[s.bh:])], 0
			}
			if cp == s.committed {
				continue
			}
			b, err := json.Marshal(cp)
			if err != nil {
				errs = append(errs, fmt.Errorf("source %q: %w", s.cfg.Name, err))
				continue
			}
			pos[s.cfg.Name] = b
			s.committed = cp
		}
	})
	if len(writes) == 0 && len(pos) == 0 {
		return errors.Join(errs...)
	}
	if err := lw.store.Commit(ctx, store.Batch{Writes: writes, Positions: pos}); err != nil {
		lw.commitErrs.Add(1)
		lw.dm.Requeue(writes)
		for _, s := range lw.srcs { // commit these positions again next time
			if _, ok := pos[s.cfg.Name]; ok {
				s.committed = tail.Checkpoint{Seq: ^uint64(0)}
			}
		}
		return errors.Join(append(errs, err)...)
	}
	lw.commits.Add(1)
	lw.lastCommit = time.Now()
	if len(writes) > 0 && lw.onCommit != nil {
		lw.onCommit()
	}
	return errors.Join(errs...)
}

// loginDeps returns the detectors' view of the daemon: listings from the
// verdict table, except the decisions login watch itself made (an address
// banned for brute force is not also "listed"), enrichment, and the live
// decisions for Assess.
func loginDeps(tbl *verdict.Table, minConf uint8, dm *decision.Manager, lookup func(netip.Addr) enrich.Info, log *slog.Logger, pol *decision.Config) authwatch.Deps {
	return authwatch.Deps{
		Logger: log,
		Out:    dm,
		Listed: func(a netip.Addr) (authwatch.Listing, bool) {
			var buf [8]verdict.Hit
			hits := tbl.Lookup(a, buf[:0])
			kept := hits[:0]
			for _, h := range hits {
				if h.Feed() != store.DecisionFeed {
					kept = append(kept, h)
				}
			}
			s := verdict.Summarize(kept, minConf)
			if !s.Listed {
				return authwatch.Listing{}, false
			}
			return authwatch.Listing{Kind: s.Top.Kind(), Confidence: s.Top.Confidence(), Feed: s.Top.Feed()}, true
		},
		Enrich:  lookup,
		Decided: func(a netip.Addr) (proxywatch.Decision, bool) { return dm.Active(a, time.Time{}) },
		Policy:  &pol.Config,
	}
}

// newLoginWatch builds the decision process and the login detectors,
// which serve always runs (the API's decisions and assessments need
// them), and the log watcher when logs.sources lists any source.
func (a *App) newLoginWatch(ctx context.Context) error {
	ps, ok := a.store.(store.PositionStore)
	if !ok {
		return errors.New("login watch: the store keeps no decisions or positions")
	}
	var err error
	following := len(a.cfg.Logs.Sources) > 0
	a.dm, err = decision.New(a.cfg.Decisions, decision.Deps{
		Store: ps, Allowlist: a.cfg.Allowlist.Effective(), Logger: a.log.With("component", "decision"),
		Now: time.Now, Hold: following,
	})
	if err != nil {
		return fmt.Errorf("decisions: %w", err)
	}
	deps := loginDeps(a.table, a.cfg.Verdict.MinConfidence.Check, a.dm, a.enrich.Lookup, a.log.With("component", "authwatch"), &a.cfg.Decisions)
	deps.Sources = len(a.cfg.Logs.Sources)
	a.watch, err = authwatch.New(a.cfg.AuthWatch, deps)
	if err != nil {
		return fmt.Errorf("authwatch: %w", err)
	}
	a.follow.decisions = a.dm
	a.procs = append(a.procs, proc{"decisions", a.dm.Run}, proc{"authwatch", a.watch.Run})
	if !following {
		return nil
	}
	if a.logs, err = newLogWatch(ctx, a.cfg.Logs, ps, a.watch, a.dm, a.log.With("component", "logs")); err != nil {
		return err
	}
	a.logs.onCommit = a.follow.kick
	a.closers = append(a.closers, func() error { a.logs.close(); return nil })
	a.procs = append(a.procs, proc{"logs", a.logs.Run})
	return nil
}
