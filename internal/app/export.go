package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/csvexport"
	"github.com/proxywatch/proxywatch/internal/export/ipset"
	"github.com/proxywatch/proxywatch/internal/export/nftables"
	"github.com/proxywatch/proxywatch/internal/export/plain"
	"github.com/proxywatch/proxywatch/internal/export/rbldnsd"
	"github.com/proxywatch/proxywatch/internal/export/stixexport"
	"github.com/proxywatch/proxywatch/internal/store"
)

// exporters names every export format.
func exporters() map[string]export.Exporter {
	return map[string]export.Exporter{
		"nftables": nftables.Exporter{},
		"ipset":    ipset.Exporter{},
		"plain":    plain.Exporter{},
		"csv":      csvexport.Exporter{},
		"stix":     stixexport.Exporter{},
		"rbldnsd":  rbldnsd.Exporter{},
	}
}

// ExportFormats lists the export format names, sorted.
func ExportFormats() []string {
	var ns []string
	for n := range exporters() {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// ExportOptions choose what an export holds.
type ExportOptions struct {
	Format  string
	Kinds   []proxywatch.Kind // empty: all
	Name    string            // nftables table or ipset set name
	Timeout bool              // give firewall elements their remaining lifetime
}

// Export writes the store's live indicators in a format: stale feeds are
// left out, the allowlist is carved out, and the export interface's
// minimum confidence applies. The document is complete only when the
// returned error is nil.
func (l *Local) Export(ctx context.Context, w io.Writer, o ExportOptions, now time.Time) (export.Stats, error) {
	stale, err := l.staleFeeds(ctx, now)
	if err != nil {
		return export.Stats{}, err
	}
	return exportStore(ctx, l.store, l.cfg, stale, w, o, now)
}

// exportStore writes the indicators of st, but those of stale feeds, as o
// says. It serves both the command line and the API.
func exportStore(ctx context.Context, st store.Store, cfg config.File, stale map[string]bool, w io.Writer, o ExportOptions, now time.Time) (export.Stats, error) {
	ex, ok := exporters()[o.Format]
	if !ok {
		return export.Stats{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid,
			Message: fmt.Sprintf("export: unknown format %q (known: %v)", o.Format, ExportFormats())}
	}
	var rerr error
	live := func(yield func(proxywatch.Indicator) bool) {
		for ind := range export.Values(st.Indicators(ctx, ""), &rerr) {
			if stale[ind.Source.Feed] {
				continue
			}
			if !yield(ind) {
				return
			}
		}
	}
	stats, err := ex.Export(w, live, export.Options{
		Allowlist:     cfg.Allowlist.Effective(),
		MinConfidence: cfg.Verdict.MinConfidence.Export,
		Now:           now,
		Kinds:         o.Kinds,
		Name:          o.Name,
		Timeout:       o.Timeout,
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return stats, fmt.Errorf("export %s: %w", o.Format, err)
	}
	return stats, nil
}
