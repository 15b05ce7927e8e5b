package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// TestQueryPlans checks that the lookups the CLI and the follower make
// use the indexes, not a scan of a million rows.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	keys, _ := store.CoveringKeys(netip.MustParseAddr("203.0.113.7"))
	covering := `SELECT ` + indicatorCols + ` FROM indicators WHERE skey IN (?` + strings.Repeat(`, ?`, len(keys)-1) + `)`
	var args []any
	for _, k := range keys {
		args = append(args, k)
	}
	tests := []struct {
		name, query, want string
		args              []any
	}{
		{"covering", covering, "USING INDEX indicators_key (skey=?)", args},
		{"subject", `SELECT ` + indicatorCols + ` FROM indicators WHERE skey = ?`, "USING INDEX indicators_key (skey=?)", []any{keys[32]}},
		{"feed", `SELECT ` + indicatorCols + ` FROM indicators WHERE feed = ?`, "USING INDEX indicators_feed (feed=?)", []any{"x"}},
		{"key", `DELETE FROM indicators WHERE ` + keyWhere, "USING INDEX indicators_key (skey=? AND feed=? AND kind=? AND port=? AND proto=?)",
			keyArgs(proxywatch.Key{Feed: "f", Subject: proxywatch.ASNSubject(1)})},
		{"changes", `SELECT seq FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, "USING INTEGER PRIMARY KEY", []any{0, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN error %v", err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatalf("scan plan: %v", err)
				}
				plan = append(plan, detail)
			}
			if got := strings.Join(plan, "; "); !strings.Contains(got, tc.want) || strings.Contains(got, "SCAN indicators") {
				t.Errorf("plan of %s = %q, want %q and no scan", tc.name, got, tc.want)
			}
		})
	}
}

// TestTwoHandles opens one file twice, as `serve` and `import` do from two
// processes: the reader sees the old set during the other's import, and
// its changes after; a write meanwhile waits, then reports ErrUnavailable.
func TestTwoHandles(t *testing.T) {
	daemon := openTest(t)
	cfg := daemon.cfg
	cfg.BusyTimeout = 200 * time.Millisecond
	cli, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open(second handle) error %v", err)
	}
	defer cli.Close()
	ctx := t.Context()

	old := indicators("f", 100)
	if err := cli.ReplaceFeed(ctx, store.FeedState{Name: "f"}, store.FromSlice(old)); err != nil {
		t.Fatalf("ReplaceFeed(old) error %v", err)
	}
	cur, err := daemon.Seq(ctx)
	if err != nil || cur == 0 {
		t.Fatalf("daemon Seq() = %d, %v, want > 0", cur, err)
	}

	// An import that stops halfway until told to go on.
	half, resume := make(chan struct{}), make(chan struct{})
	next := indicators("f", 300)
	done := make(chan error, 1)
	go func() {
		done <- cli.ReplaceFeed(ctx, store.FeedState{Name: "f", ETag: "v2"}, func(yield func(proxywatch.Indicator, error) bool) {
			for i, ind := range next {
				if i == 150 {
					close(half)
					<-resume
				}
				if !yield(ind, nil) {
					return
				}
			}
		})
	}()
	<-half
	n := 0
	for _, err := range daemon.Indicators(ctx, "f") {
		if err != nil {
			t.Fatalf("daemon Indicators(f) during import: error %v", err)
		}
		n++
	}
	if n != len(old) {
		t.Errorf("daemon Indicators(f) during import = %d indicators, want the old %d", n, len(old))
	}
	if cs, err := daemon.Changes(ctx, cur, 0); err != nil || len(cs) != 0 {
		t.Errorf("daemon Changes(%d) during import = %v, %v, want none", cur, cs, err)
	}
	// A third process's write waits for the import's lock, then gives up.
	third := openHandle(t, cfg)
	start := time.Now()
	err = third.Add(ctx, proxywatch.Indicator{Subject: old[0].Subject, Source: proxywatch.Source{Feed: "local"}})
	if !errors.Is(err, proxywatch.ErrUnavailable) {
		t.Errorf("Add during another handle's import: error = %v, want ErrUnavailable", err)
	}
	if waited := time.Since(start); waited < cfg.BusyTimeout/2 {
		t.Errorf("Add during another handle's import gave up after %v, want about %v", waited, cfg.BusyTimeout)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatalf("ReplaceFeed(next) error %v", err)
	}
	cs, err := daemon.Changes(ctx, cur, 0)
	if err != nil || len(cs) != 1 || cs[0].Op != store.ChangeFeed || cs[0].Feed != "f" {
		t.Fatalf("daemon Changes(%d) after import = %v, %v, want one ChangeFeed of f", cur, cs, err)
	}
	n = 0
	for _, err := range daemon.Indicators(ctx, "f") {
		if err != nil {
			t.Fatalf("daemon Indicators(f) after import: error %v", err)
		}
		n++
	}
	if n != len(next) {
		t.Errorf("daemon Indicators(f) after import = %d indicators, want %d", n, len(next))
	}
}

// openHandle opens another handle with cfg, closed at cleanup.
func openHandle(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.WithoutCancel(t.Context()), cfg)
	if err != nil {
		t.Fatalf("Open(another handle) error %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// indicators returns n distinct address indicators of feed.
func indicators(feed string, n int) []proxywatch.Indicator {
	inds := make([]proxywatch.Indicator, n)
	for i := range inds {
		a := netip.AddrFrom4([4]byte{198, 51, byte(100 + i/256), byte(i)})
		inds[i] = proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: feed, Line: i + 1}, Comment: fmt.Sprint(i)}
	}
	return inds
}
