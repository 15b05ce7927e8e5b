// Package app is proxywatch's composition root: the only package that
// knows every component. It builds them from the configuration, wires them
// together, runs the daemon's processes, and offers the one-shot operations
// of the command line (check, import, feeds) on the same components.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// Version is the program version, set by the command.
var Version = "devel"

// Local gives the command line the components it needs without running the
// daemon: the store, the enrichment databases and the configuration. Check
// answers from the store directly, so a one-shot command does not load
// every feed into memory.
type Local struct {
	cfg    config.File
	log    *slog.Logger
	store  store.Store
	enrich *enrich.Enricher
}

// OpenLocal opens the store (creating it if needed) and the enrichment
// databases that cfg names. Close releases them.
func OpenLocal(ctx context.Context, cfg config.File, log *slog.Logger) (*Local, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	st, err := sqlitestore.Open(ctx, cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	en, err := enrich.Open(cfg.Enrich)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open enrichment: %w", err)
	}
	return &Local{cfg: cfg, log: log, store: st, enrich: en}, nil
}

// Close closes the enrichment databases and the store.
func (l *Local) Close() error {
	return errors.Join(l.enrich.Close(), l.store.Close())
}

// Store returns the store, for commands that list its contents.
func (l *Local) Store() store.Store { return l.store }

// A Verdict is the answer for one address: whether it is listed, every
// indicator that covers it (directly or through its ASN), and what
// enrichment knows of it.
type Verdict struct {
	Addr        netip.Addr   `json:"addr"`
	Listed      bool         `json:"listed"`
	Allowlisted bool         `json:"allowlisted"`
	Kind        string       `json:"kind,omitempty"`       // the highest-priority kind that reaches the minimum confidence
	Confidence  uint8        `json:"confidence,omitempty"` // the highest confidence among the hits
	Evidence    []Evidence   `json:"evidence"`
	Enrichment  *enrich.Info `json:"enrichment,omitempty"`
	StaleFeeds  []string     `json:"stale_feeds,omitempty"` // feeds whose entries were ignored as too old
	Error       string       `json:"error,omitempty"`
}

// Evidence is one indicator behind a verdict.
type Evidence struct {
	proxywatch.Indicator
	// Via says how the indicator matched: "prefix" or "asn".
	Via string `json:"via"`
	// Counts reports whether the indicator reaches the minimum confidence.
	Counts bool `json:"counts"`
}

// Check answers for each address, for the `check` interface's minimum
// confidence. Indicators of feeds that are stale (older than their
// max_age) are left out and named.
func (l *Local) Check(ctx context.Context, addrs []netip.Addr, now time.Time) ([]Verdict, error) {
	stale, err := l.staleFeeds(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]Verdict, 0, len(addrs))
	for _, a := range addrs {
		v, err := l.check(ctx, a.Unmap(), now, stale)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (l *Local) check(ctx context.Context, addr netip.Addr, now time.Time, stale map[string]bool) (Verdict, error) {
	v := Verdict{Addr: addr, Evidence: []Evidence{}}
	inds, err := l.store.Covering(ctx, addr)
	if err != nil {
		return v, fmt.Errorf("check %s: %w", addr, err)
	}
	via := make([]string, len(inds))
	for i := range via {
		via[i] = "prefix"
	}
	if info := l.enrich.Lookup(addr); info != (enrich.Info{}) {
		v.Enrichment = &info
		if info.ASN != 0 {
			byASN, err := l.store.Subject(ctx, proxywatch.ASNSubject(info.ASN))
			if err != nil {
				return v, fmt.Errorf("check %s: %w", addr, err)
			}
			for _, ind := range byASN {
				inds = append(inds, ind)
				via = append(via, "asn")
			}
		}
	}
	// A private table with just these indicators applies the same
	// combination rule as the daemon's (verdict.Summarize).
	tbl, err := verdict.New(l.cfg.Verdict)
	if err != nil {
		return v, err
	}
	tbl.SetAllowlist(l.cfg.Allowlist.Effective())
	seen := map[string]bool{}
	for i, ind := range inds {
		if stale[ind.Source.Feed] {
			if !seen[ind.Source.Feed] {
				v.StaleFeeds = append(v.StaleFeeds, ind.Source.Feed)
				seen[ind.Source.Feed] = true
			}
			continue
		}
		if ind.ExpiredAt(now) {
			continue
		}
		if via[i] == "asn" {
			// Match the ASN indicator as the address itself, keeping its
			// own subject for display.
			asInd := ind
			asInd.Subject = proxywatch.AddrSubject(addr)
			asInd.Comment = strings.TrimSpace(ind.Subject.String() + " " + ind.Comment)
			tbl.Put(asInd)
		} else {
			tbl.Put(ind)
		}
		v.Evidence = append(v.Evidence, Evidence{Indicator: ind, Via: via[i]})
	}
	minConf := l.cfg.Verdict.MinConfidence.Check
	hits := tbl.LookupAt(addr, now, nil)
	sum := verdict.Summarize(hits, minConf)
	v.Listed, v.Allowlisted = sum.Listed, sum.Allowlisted
	v.Confidence = sum.MaxConfidence
	if sum.Qualified && sum.Top.Valid() {
		v.Kind = sum.Top.Kind().String()
	}
	for i := range v.Evidence {
		v.Evidence[i].Counts = v.Evidence[i].Confidence >= minConf
	}
	sort.SliceStable(v.Evidence, func(i, j int) bool {
		a, b := v.Evidence[i], v.Evidence[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Confidence > b.Confidence
	})
	slices.Sort(v.StaleFeeds)
	return v, nil
}

// staleFeeds returns the configured feeds whose last good copy is older
// than their max_age.
func (l *Local) staleFeeds(ctx context.Context, now time.Time) (map[string]bool, error) {
	states, err := l.store.FeedStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read feed states: %w", err)
	}
	maxAge := map[string]time.Duration{}
	for _, f := range l.cfg.Feeds.Feeds {
		maxAge[f.Name] = l.cfg.Feeds.Resolve(f).MaxAge
	}
	stale := map[string]bool{}
	for _, st := range states {
		if isStale(st, maxAge[st.Name], now) {
			stale[st.Name] = true
		}
	}
	return stale, nil
}

func isStale(st store.FeedState, maxAge time.Duration, now time.Time) bool {
	return maxAge > 0 && !st.LastGood.IsZero() && now.Sub(st.LastGood) > maxAge
}

// Lookup returns the indicators stored for a domain or ASN subject.
func (l *Local) Lookup(ctx context.Context, s proxywatch.Subject) ([]proxywatch.Indicator, error) {
	return l.store.Subject(ctx, s)
}

// Readers returns the format table.
func Readers() map[string]intel.Open { return formats.Readers() }

// feedConfig returns the resolved configuration of the configured feed
// named name, or of an ad-hoc feed for an imported file.
func (l *Local) feedConfig(name, format string) feed.Feed {
	for _, f := range l.cfg.Feeds.Feeds {
		if f.Name == name {
			return l.cfg.Feeds.Resolve(f)
		}
	}
	return l.cfg.Feeds.Resolve(feed.Feed{Name: name, Format: format})
}
