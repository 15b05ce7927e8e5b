package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/store"
)

// FeedInfo describes one feed for `feeds list`: its stored state and, for
// configured feeds, whether it is stale.
type FeedInfo struct {
	store.FeedState
	Configured bool   `json:"configured"`
	Stale      bool   `json:"stale"`
	Status     string `json:"status"` // "ok", "stale", "held", "error", "never fetched"
}

// Feeds lists every stored feed and every configured one, by name.
func (l *Local) Feeds(ctx context.Context, now time.Time) ([]FeedInfo, error) {
	states, err := l.store.FeedStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	byName := map[string]*FeedInfo{}
	for _, st := range states {
		byName[st.Name] = &FeedInfo{FeedState: st}
	}
	for _, f := range l.cfg.Feeds.Feeds {
		rf := l.cfg.Feeds.Resolve(f)
		fi, ok := byName[f.Name]
		if !ok {
			src := rf.URL
			if src == "" {
				src = rf.Path
			}
			fi = &FeedInfo{FeedState: store.FeedState{Name: f.Name, Format: f.Format, Source: src}}
			byName[f.Name] = fi
		}
		fi.Configured = true
		fi.Stale = isStale(fi.FeedState, rf.MaxAge, now)
	}
	out := make([]FeedInfo, 0, len(byName))
	for _, fi := range byName {
		switch {
		case fi.LastGood.IsZero():
			fi.Status = "never fetched"
		case fi.Stale:
			fi.Status = "stale"
		case fi.Holds > 0:
			fi.Status = "held"
		case fi.LastError != "":
			fi.Status = "error"
		default:
			fi.Status = "ok"
		}
		out = append(out, *fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateResult is the outcome of updating one feed now.
type UpdateResult struct {
	Name    string       `json:"name"`
	Outcome feed.Outcome `json:"outcome"`
	Detail  string       `json:"detail,omitempty"`
	Failed  bool         `json:"failed"`
	Report  feed.Report  `json:"report"`
}

// UpdateFeeds fetches the named configured feeds (all when none is named)
// now, through the same scheduler, guard and last-good copies as the
// daemon, and writes accepted copies to the store.
func (l *Local) UpdateFeeds(ctx context.Context, log *slog.Logger, names ...string) ([]UpdateResult, error) {
	if len(l.cfg.Feeds.Feeds) == 0 {
		return nil, errors.New("feeds update: no feeds configured (see docs/config.md#feeds)")
	}
	s, err := feed.New(l.cfg.Feeds, feed.Deps{
		Logger:  log,
		Formats: formats.Readers(),
		Sink:    storeSink{l.store},
		DataDir: l.cfg.DataDir,
		Version: Version,
	})
	if err != nil {
		return nil, err
	}
	results, err := s.Update(ctx, names...)
	if err != nil {
		return nil, err
	}
	out := make([]UpdateResult, len(results))
	for i, r := range results {
		out[i] = UpdateResult{Name: r.Name, Outcome: r.Outcome, Report: r.Report, Failed: r.Outcome == feed.OutcomeFailed}
		switch {
		case r.Err != nil:
			out[i].Detail = r.Err.Error()
		case r.HoldReason != "":
			out[i].Detail = r.HoldReason
		case r.Outcome == feed.OutcomeUpdated || r.Outcome == feed.OutcomeForced:
			out[i].Detail = fmt.Sprintf("%d indicators", r.Report.Accepted)
		}
	}
	return out, nil
}
