package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/store"
)

// ImportOptions adjust an import.
type ImportOptions struct {
	// Format names the reader; "" detects it from the file.
	Format string
	// Feed names the feed the file's indicators belong to; "" uses the
	// file's base name. Importing into a configured feed's name uses that
	// feed's kind, confidence, lifetimes and guard.
	Feed string
	// Params are passed to the reader (e.g. a CSV column mapping).
	Params map[string]string
	// DryRun reads and counts without writing to the store.
	DryRun bool
}

// ImportResult reports one imported file.
type ImportResult struct {
	Path   string      `json:"path"`
	Feed   string      `json:"feed"`
	Format string      `json:"format"`
	Report feed.Report `json:"report"`
	Stored bool        `json:"stored"`
}

// Import reads the file at path and replaces the feed's indicators in the
// store with what it accepted, in one transaction: on any error the
// previous state stays whole. A running daemon picks the change up through
// the store's change cursor. Entries wider than the guard's bounds are
// refused one by one; the churn guard, which protects against a poisoned
// remote update, does not apply to an operator's explicit import.
func (l *Local) Import(ctx context.Context, path string, opts ImportOptions, now time.Time) (ImportResult, error) {
	res := ImportResult{Path: path, Feed: opts.Feed, Format: opts.Format}
	if res.Feed == "" {
		res.Feed = filepath.Base(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, formats.SniffLen)
	if res.Format == "" {
		head, err := br.Peek(formats.SniffLen)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return res, fmt.Errorf("import %s: %w", path, err)
		}
		if res.Format, err = formats.Detect(path, head); err != nil {
			return res, fmt.Errorf("import: %w", err)
		}
	}
	open, ok := formats.Readers()[res.Format]
	if !ok {
		return res, fmt.Errorf("import %s: unknown format %q (known: %v)", path, res.Format, formats.Names())
	}
	r, err := open(br, intel.Options{Name: res.Feed, Params: opts.Params})
	if err != nil {
		return res, fmt.Errorf("import %s: %w", path, err)
	}
	fc := l.feedConfig(res.Feed, res.Format)
	inds, rep, err := feed.Collect(r, fc, now)
	res.Report = rep
	if err != nil {
		return res, fmt.Errorf("import %s: %w", path, err)
	}
	if opts.DryRun {
		return res, nil
	}
	abs, _ := filepath.Abs(path)
	st := store.FeedState{
		Name:         res.Feed,
		Format:       res.Format,
		Source:       abs,
		LastFetch:    now,
		LastGood:     now,
		Accepted:     rep.Accepted,
		Refused:      rep.Read.RefusedTotal(),
		Excluded:     rep.Read.ExcludedTotal(),
		GuardRefused: rep.GuardRefusedTotal(),
		Duplicates:   rep.Duplicates,
	}
	if err := l.store.ReplaceFeed(ctx, st, store.FromSlice(inds)); err != nil {
		return res, fmt.Errorf("import %s: store: %w", path, err)
	}
	res.Stored = true
	return res, nil
}
