package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"path/filepath"
	"sync/atomic"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/tail"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// ScanOptions say what `logs scan` reads.
type ScanOptions struct {
	Format string   // "sshd", "access" or "json"
	Files  []string // each file is one source, in time order; gzip'd files are read as such
	// Progress, if set, is called with the number of lines read so far,
	// every 65,536 lines and at the end.
	Progress func(lines uint64)
	// Report, if set, receives every alert and decision as it is made.
	Report func(proxywatch.Record)
}

// ScanSummary is what `logs scan` did.
type ScanSummary struct {
	Lines     uint64          `json:"lines"`
	Events    uint64          `json:"events"`
	Unparsed  uint64          `json:"unparsed"` // lines of the format that did not parse
	Skipped   uint64          `json:"skipped"`  // lines that carry no login event
	Detectors authwatch.Stats `json:"detectors"`
	Decisions decision.Stats  `json:"decisions"`
	Alerts    int             `json:"alerts"`
	Decided   int             `json:"decided"`
}

// ScanLogs runs the login detectors over log files in batch, in event
// time: decision lifetimes count in the logs' time, not the wall clock.
// Addresses the local store lists are flagged, and the configured
// enrichment databases feed the ASN and country detectors. Decisions go
// through the decision policy (TTL, escalation, aggregation, allowlist)
// but are not written to the store.
func (l *Local) ScanLogs(ctx context.Context, o ScanOptions) (ScanSummary, error) {
	var sum ScanSummary
	pcfg := logparse.DefaultConfig()
	pcfg.Format = o.Format
	if err := pcfg.Validate(); err != nil {
		return sum, err
	}
	tbl, err := l.loadTable(ctx)
	if err != nil {
		return sum, err
	}
	dm, err := decision.New(l.cfg.Decisions, decision.Deps{
		Allowlist: l.cfg.Allowlist.Effective(),
		Logger:    l.log.With("component", "decision"),
		Report: func(r proxywatch.Record) {
			switch r.Type {
			case proxywatch.RecordAlert:
				sum.Alerts++
			case proxywatch.RecordDecision:
				sum.Decided++
			}
			if o.Report != nil {
				o.Report(r)
			}
		},
	})
	if err != nil {
		return sum, fmt.Errorf("decisions: %w", err)
	}
	minConf := l.cfg.Verdict.MinConfidence.Check
	var hits []verdict.Hit
	deps := authwatch.Deps{
		Logger: l.log.With("component", "authwatch"),
		Out:    dm,
		Listed: func(a netip.Addr) (authwatch.Listing, bool) {
			hits = tbl.Lookup(a, hits[:0])
			s := verdict.Summarize(hits, minConf)
			if !s.Listed {
				return authwatch.Listing{}, false
			}
			return authwatch.Listing{Kind: s.Top.Kind(), Confidence: s.Top.Confidence(), Feed: s.Top.Feed()}, true
		},
		Enrich:  func(a netip.Addr) enrich.Info { return l.enrich.Lookup(a) },
		Decided: func(a netip.Addr) (proxywatch.Decision, bool) { return proxywatch.Decision{}, false },
		Policy:  &l.cfg.Decisions.Config,
	}
	var lines atomic.Uint64
	var parsers []logparse.Parser
	var sources []iter.Seq[proxywatch.Event]
	var readErr error
	for _, path := range o.Files {
		p, err := logparse.New(pcfg, filepath.Base(path))
		if err != nil {
			return sum, err
		}
		parsers = append(parsers, p)
		sources = append(sources, prefetch(ctx, fileEvents(ctx, path, p, &lines, o.Progress, &readErr)))
	}
	stats, err := authwatch.ScanStats(ctx, l.cfg.AuthWatch, deps, sources...)
	if err == nil {
		err = readErr
	}
	dm.Flush(ctx)
	for _, p := range parsers {
		st := p.Stats()
		sum.Lines += st.Lines
		sum.Events += st.Events + st.Repeats
		sum.Skipped += st.Skipped()
	}
	sum.Unparsed = sum.Lines - sum.Events - sum.Skipped
	if sum.Events > sum.Lines { // repeats
		sum.Unparsed = 0
	}
	sum.Detectors = stats
	sum.Decisions = dm.Stats()
	if o.Progress != nil {
		o.Progress(lines.Load())
	}
	return sum, err
}

// prefetch runs seq in a goroutine of its own and yields its events, in
// order, handed over in batches: reading and parsing a file then proceed
// beside the detectors instead of taking turns with them.
func prefetch(ctx context.Context, seq iter.Seq[proxywatch.Event]) iter.Seq[proxywatch.Event] {
	const batch = 1024
	return func(yield func(proxywatch.Event) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		full := make(chan []proxywatch.Event, 4)
		free := make(chan []proxywatch.Event, 6)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(full)
			b := make([]proxywatch.Event, 0, batch)
			send := func() bool {
				select {
				case full <- b:
				case <-ctx.Done():
					return false
				}
				select {
				case b = <-free:
					b = b[:0]
				default:
					b = make([]proxywatch.Event, 0, batch)
				}
				return true
			}
			for ev := range seq {
				if b = append(b, ev); len(b) == batch && !send() {
					return
				}
			}
			if len(b) > 0 {
				send()
			}
		}()
		defer func() { cancel(); <-done }()
		for b := range full {
			for _, ev := range b {
				if !yield(ev) {
					return
				}
			}
			select {
			case free <- b:
			default:
			}
		}
	}
}

// fileEvents yields the events of one file, parsed with p. A read error
// ends the sequence and is stored in *errp.
func fileEvents(ctx context.Context, path string, p logparse.Parser, lines *atomic.Uint64, progress func(uint64), errp *error) iter.Seq[proxywatch.Event] {
	return func(yield func(proxywatch.Event) bool) {
		tc := tail.DefaultConfig()
		tc.Name = filepath.Base(path)
		r := tail.OpenFiles(tc, []string{path})
		defer r.Close()
		var ev proxywatch.Event
		for {
			ln, err := r.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				*errp = errors.Join(*errp, fmt.Errorf("read %s: %w", path, err))
				return
			}
			if n := lines.Add(1); progress != nil && n%65536 == 0 {
				progress(n)
			}
			n, _ := p.Parse(ln.Text, ln.Pos.Seq, &ev)
			for range n {
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// loadTable builds a verdict table from every feed in the store, for the
// batch commands that flag listed addresses.
func (l *Local) loadTable(ctx context.Context) (*verdict.Table, error) {
	tbl, err := verdict.New(l.cfg.Verdict)
	if err != nil {
		return nil, err
	}
	tbl.SetAllowlist(l.cfg.Allowlist.Effective())
	states, err := l.store.FeedStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		var ierr error
		tbl.ReplaceFeedSeq(st.Name, values(l.store.Indicators(ctx, st.Name), &ierr))
		if ierr != nil {
			return nil, fmt.Errorf("load feed %q: %w", st.Name, ierr)
		}
	}
	return tbl, nil
}
