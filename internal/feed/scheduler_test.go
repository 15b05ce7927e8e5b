package feed

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/proxywatch/proxywatch"
)

// pathConfig returns a config with one local-file feed "f" at path.
func pathConfig(path string, mod func(*Feed)) Config {
	c := DefaultConfig()
	f := testFeed("f")
	f.Path = path
	if mod != nil {
		mod(&f)
	}
	c.Feeds = []Feed{f}
	return c
}

func TestGuardHoldsThenAccepts(t *testing.T) {
	path := tempPath(t, "list.txt")
	cfg := pathConfig(path, func(f *Feed) { f.Guard.AcceptAfterHolds = 2 })
	h := newHarness(t, cfg, Deps{})
	mtime := now0
	step := func(lines []string) Result {
		mtime = mtime.Add(time.Minute)
		writeList(t, path, mtime, lines...)
		return h.update(t, "f")
	}
	v1 := addrs("203.0.113.", 1, 40)
	if res := step(v1); res.Outcome != OutcomeUpdated {
		t.Fatalf("first load = %s, %v, want updated (no churn check)", res.Outcome, res.Err)
	}
	// A quarter replaced: within the bound.
	v2 := append(addrs("203.0.113.", 11, 30), addrs("198.51.100.", 1, 10)...)
	if res := step(v2); res.Outcome != OutcomeUpdated {
		t.Fatalf("small change = %s, %v, want updated", res.Outcome, res.Err)
	}
	// Everything replaced: held twice, then accepted with an alert.
	v3 := addrs("198.51.100.", 100, 40)
	for i := 1; i <= 2; i++ {
		res := step(v3)
		if res.Outcome != OutcomeHeld || res.State.Holds != i || !strings.Contains(res.HoldReason, "churn") {
			t.Fatalf("hold %d = %s (%q), holds %d; want held for churn", i, res.Outcome, res.HoldReason, res.State.Holds)
		}
		if diff := cmp.Diff(v2, trimSuffix(h.sink.subjects("f"))); diff != "" {
			t.Fatalf("hold %d changed the sink (-want +got):\n%s", i, diff)
		}
		if st := h.s.Status()[0]; st.Holds != i || st.Indicators != 40 {
			t.Errorf("Status() after hold %d = %+v", i, st)
		}
	}
	// Unchanged file after a hold is judged again, not skipped.
	res := h.update(t, "f")
	if res.Outcome != OutcomeForced || res.State.Forced.IsZero() {
		t.Fatalf("third try = %s, want forced", res.Outcome)
	}
	if diff := cmp.Diff(v3, trimSuffix(h.sink.subjects("f"))); diff != "" {
		t.Errorf("forced update not in the sink (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(h.s.metrics.holds.WithLabelValues("f", HoldChurn)); got != 2 {
		t.Errorf("holds{reason=churn} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(h.s.metrics.forced.WithLabelValues("f")); got != 1 {
		t.Errorf("forced_accepts = %v, want 1", got)
	}
	if !strings.Contains(h.log.String(), "level=ERROR msg=\"feed update accepted despite the guard\"") {
		t.Errorf("log lacks the error-level alert:\n%s", h.log.String())
	}
	if st := h.s.Status()[0]; st.Holds != 0 || st.HoldReason != "" {
		t.Errorf("Status() after acceptance = %+v, want holds cleared", st)
	}
}

// trimSuffix turns "203.0.113.1/32" into "203.0.113.1".
func trimSuffix(subjects []string) []string {
	var out []string
	for _, s := range subjects {
		out = append(out, strings.TrimSuffix(s, "/32"))
	}
	return out
}

func TestGuardHoldsPersistAndNever(t *testing.T) {
	path := tempPath(t, "list.txt")
	dir := t.TempDir()
	cfg := pathConfig(path, func(f *Feed) { f.Guard.AcceptAfterHolds = -1 })
	writeList(t, path, now0, addrs("203.0.113.", 1, 40)...)
	h := newHarness(t, cfg, Deps{DataDir: dir})
	h.update(t, "f")
	writeList(t, path, now0.Add(time.Minute), addrs("198.51.100.", 1, 40)...)
	for range 5 {
		if res := h.update(t, "f"); res.Outcome != OutcomeHeld {
			t.Fatalf("Update() = %s, want held for ever", res.Outcome)
		}
	}
	// A restart remembers the holds and the accepted copy.
	h2 := newHarness(t, cfg, Deps{DataDir: dir})
	res := h2.update(t, "f")
	if res.Outcome != OutcomeHeld || res.State.Holds != 6 {
		t.Errorf("after restart: Update() = %s with %d holds, want held with 6", res.Outcome, res.State.Holds)
	}
	// The source returns to the accepted copy: holds clear.
	writeList(t, path, now0.Add(2*time.Minute), addrs("203.0.113.", 1, 40)...)
	if res := h2.update(t, "f"); res.Outcome != OutcomeUpdated || res.State.Holds != 0 {
		t.Errorf("back to the accepted copy: Update() = %s with %d holds, want updated with 0", res.Outcome, res.State.Holds)
	}
}

func TestGuardRefusedShare(t *testing.T) {
	path := tempPath(t, "list.txt")
	lines := append(addrs("203.0.113.", 1, 5), "0.0.0.0/0", "::/0", "junk", "more junk", "0.0.0.0/1", "x")
	writeList(t, path, now0, lines...)
	h := newHarness(t, pathConfig(path, func(f *Feed) { f.Guard.AcceptAfterHolds = 1 }), Deps{})
	res := h.update(t, "f")
	if res.Outcome != OutcomeHeld || !strings.Contains(res.HoldReason, "refused") {
		t.Fatalf("Update() = %s (%q), want held for the refused share", res.Outcome, res.HoldReason)
	}
	if got := h.sink.count(); got != 0 {
		t.Errorf("ReplaceFeed calls = %d, want 0 for a held first load", got)
	}
	if diff := cmp.Diff(map[string]int{ReasonTooWideV4: 2, ReasonTooWideV6: 1}, res.Report.GuardRefused); diff != "" {
		t.Errorf("Report.GuardRefused (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(h.s.metrics.guardRefused.WithLabelValues("f", ReasonTooWideV4)); got != 2 {
		t.Errorf("guard_refused{reason=too-wide-v4} = %v, want 2", got)
	}
	if res := h.update(t, "f"); res.Outcome != OutcomeForced || res.State.Indicators != 5 {
		t.Errorf("second Update() = %s with %d indicators, want forced with 5", res.Outcome, res.State.Indicators)
	}
}

func TestPathFeed(t *testing.T) {
	path := tempPath(t, "list.txt")
	h := newHarness(t, pathConfig(path, nil), Deps{})
	if res := h.update(t, "f"); res.Outcome != OutcomeFailed || reasonOf(res.Err) != errRead {
		t.Errorf("missing file: Update() = %s, %v, want failed (read)", res.Outcome, res.Err)
	}
	writeList(t, path, now0, "203.0.113.1")
	if res := h.update(t, "f"); res.Outcome != OutcomeUpdated {
		t.Errorf("Update() = %s, %v, want updated", res.Outcome, res.Err)
	}
	if res := h.update(t, "f"); res.Outcome != OutcomeNotModified {
		t.Errorf("same mtime: Update() = %s, want not-modified", res.Outcome)
	}
	writeList(t, path, now0.Add(time.Second), "203.0.113.1")
	if res := h.update(t, "f"); res.Outcome != OutcomeUnchanged {
		t.Errorf("touched: Update() = %s, want unchanged", res.Outcome)
	}
	writeList(t, path, now0.Add(2*time.Second), "203.0.113.2")
	if res := h.update(t, "f"); res.Outcome != OutcomeUpdated {
		t.Errorf("edited: Update() = %s, want updated", res.Outcome)
	}
	if diff := cmp.Diff([]string{"203.0.113.2/32"}, h.sink.subjects("f")); diff != "" {
		t.Errorf("sink (-want +got):\n%s", diff)
	}
}

func TestSinkFailureRetries(t *testing.T) {
	path := tempPath(t, "list.txt")
	writeList(t, path, now0, "203.0.113.1")
	h := newHarness(t, pathConfig(path, nil), Deps{})
	h.sink.setFail(errors.New("disk full"))
	res := h.update(t, "f")
	if res.Outcome != OutcomeFailed || reasonOf(res.Err) != errSink {
		t.Fatalf("Update() = %s, %v, want failed (sink)", res.Outcome, res.Err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "feeds", "f.body")); !os.IsNotExist(err) {
		t.Errorf("a copy the sink refused was kept: %v", err)
	}
	h.sink.setFail(nil)
	if res := h.update(t, "f"); res.Outcome != OutcomeUpdated {
		t.Errorf("retry: Update() = %s, %v, want updated", res.Outcome, res.Err)
	}
}

func TestLastGoodAtStartup(t *testing.T) {
	srv := newDocServer(t, "203.0.113.1\n203.0.113.2\n")
	dir := t.TempDir()
	cfg := urlConfig(srv.URL, nil)
	h := newHarness(t, cfg, Deps{Client: srv.Client(), DataDir: dir})
	if res := h.update(t, "f"); res.Outcome != OutcomeUpdated {
		t.Fatalf("Update() = %s, %v", res.Outcome, res.Err)
	}
	fetched := h.s.Status()[0].Fetched

	// The source goes down; a restarted scheduler serves the kept copy.
	srv.set(func(d *docServer) { d.status = http.StatusBadGateway })
	h2 := newHarness(t, cfg, Deps{Client: srv.Client(), DataDir: dir})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- h2.s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for h2.sink.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if diff := cmp.Diff([]string{"203.0.113.1/32", "203.0.113.2/32"}, h2.sink.subjects("f")); diff != "" {
		t.Fatalf("kept copy given to the sink at start-up (-want +got):\n%s", diff)
	}
	st := h2.s.Status()[0]
	if !st.UsingLastGood || !st.Fetched.Equal(fetched) || st.Indicators != 2 {
		t.Errorf("Status() = %+v, want the kept copy of %v in use", st, fetched)
	}
	ls := LoadStatus(cfg, dir, time.Now())
	if len(ls) != 1 || !ls[0].Fetched.Equal(fetched) || ls[0].Bytes != 24 {
		t.Errorf("LoadStatus() = %+v, want the kept copy's metadata", ls)
	}

	// A kept body that no longer matches its metadata is not trusted.
	if err := os.WriteFile(filepath.Join(dir, "feeds", "f.body"), []byte("198.51.100.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h3 := newHarness(t, cfg, Deps{Client: srv.Client(), DataDir: dir})
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if err := h3.s.Run(ctx); err != nil {
		t.Errorf("Run() = %v", err)
	}
	h3.s.Update(t.Context())
	if got := h3.sink.count(); got != 0 {
		t.Errorf("a corrupt kept copy reached the sink (%d calls)", got)
	}
	if !strings.Contains(h3.log.String(), "does not match") {
		t.Errorf("log lacks the refused copy:\n%s", h3.log.String())
	}
}

func TestNewErrors(t *testing.T) {
	good := pathConfig("/nonexistent", nil)
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		want []string
	}{
		{"unknown-format", pathConfig("/x", func(f *Feed) { f.Format = "stix" }), Deps{Sink: newSink(), Formats: testFormats}, []string{`"stix": unknown (known: [lines])`}},
		{"bad-params", pathConfig("/x", func(f *Feed) { f.Params = map[string]string{"colums": "1"} }), Deps{Sink: newSink(), Formats: testFormats}, []string{"feeds[0].params", "colums"}},
		{"no-sink", good, Deps{Formats: testFormats}, []string{"no sink"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, tc.deps)
			if err == nil {
				t.Fatal("New() = nil error, want one")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestUpdateUnknown(t *testing.T) {
	h := newHarness(t, pathConfig("/nonexistent", nil), Deps{})
	if _, err := h.s.Update(t.Context(), "f", "nope"); !errors.Is(err, proxywatch.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf(`Update("f", "nope") = %v, want ErrNotFound naming "nope"`, err)
	}
}

func TestMetricsReload(t *testing.T) {
	reg := prometheus.NewRegistry()
	deps := Deps{Sink: newSink(), Formats: testFormats, Registerer: reg}
	cfg := pathConfig("/nonexistent", nil)
	if _, err := New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	cfg.Feeds[0].Name = "g"
	s2, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("second New() on the same registry = %v", err)
	}
	// The state gauges follow the newest scheduler.
	if n := testutil.CollectAndCount(s2.metrics.state, "proxywatch_feed_entries"); n != 1 {
		t.Errorf("entries series = %d, want 1", n)
	}
	want := "# HELP proxywatch_feed_entries Indicators in the feed's current copy.\n# TYPE proxywatch_feed_entries gauge\nproxywatch_feed_entries{feed=\"g\"} 0\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "proxywatch_feed_entries"); err != nil {
		t.Error(err)
	}
}
