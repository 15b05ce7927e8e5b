package feed

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeTransport answers every request in memory, so the scheduler can run
// on fake time inside a synctest bubble.
type fakeTransport struct {
	mu    sync.Mutex
	body  string
	fail  bool
	times []time.Time // of each request
}

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, time.Now())
	status, body := http.StatusOK, f.body
	if f.fail {
		status, body = http.StatusInternalServerError, "down"
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func (f *fakeTransport) set(body string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.fail = body, fail
}

func (f *fakeTransport) requests() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.times...)
}

func TestRunSchedule(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		tr := &fakeTransport{body: "203.0.113.1\n"}
		cfg := urlConfig("http://127.0.0.1:1", func(f *Feed) {
			f.Refresh = 10 * time.Minute
			f.MaxAge = 30 * time.Minute
		})
		h := newHarness(t, cfg, Deps{Client: &http.Client{Transport: tr}, DataDir: dir})
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.s.Run(ctx) }()

		// The first fetch comes within 10% of the interval (at most 10s).
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(tr.requests()); n != 1 || h.sink.count() != 1 {
			t.Fatalf("after 10s: %d requests, %d updates; want 1, 1", n, h.sink.count())
		}
		// Then every 10 minutes ±10%.
		time.Sleep(55 * time.Minute)
		synctest.Wait()
		reqs := tr.requests()
		if len(reqs) < 5 || len(reqs) > 7 {
			t.Fatalf("after 55m more: %d requests, want 5-7", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			if gap := reqs[i].Sub(reqs[i-1]); gap < 9*time.Minute || gap > 11*time.Minute {
				t.Errorf("gap %d = %v, want 10m ±10%%", i, gap)
			}
		}
		if st := h.s.Status()[0]; st.Outcome != OutcomeUnchanged || st.Next.Before(time.Now()) {
			t.Errorf("Status() = %+v, want unchanged with a future Next", st)
		}

		// The source fails: retries back off from 30s, and after max_age
		// without success the feed goes stale and the sink is told.
		tr.set("", true)
		failStart := len(tr.requests())
		lastOK := h.s.Status()[0].Checked
		time.Sleep(time.Until(lastOK.Add(31 * time.Minute)))
		synctest.Wait()
		st := h.s.Status()[0]
		if !st.Stale || !st.UsingLastGood || st.Failures < 3 {
			t.Errorf("Status() = %+v, want stale, using the last good copy, failing", st)
		}
		if last := h.sink.lastState(); !last.Stale {
			t.Errorf("sink's last state = %+v, want stale", last)
		}
		fails := tr.requests()[failStart:]
		for i := 2; i < len(fails); i++ {
			prev, gap := fails[i-1].Sub(fails[i-2]), fails[i].Sub(fails[i-1])
			if gap < prev && gap < 9*time.Minute {
				t.Errorf("backoff shrank: %v after %v", gap, prev)
			}
		}
		if len(fails) > 8 {
			t.Errorf("%d failed requests in 30m, want a backoff", len(fails))
		}

		// Recovery clears staleness.
		tr.set("203.0.113.1\n", false)
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		if st := h.s.Status()[0]; st.Stale || st.UsingLastGood || st.Failures != 0 {
			t.Errorf("after recovery: Status() = %+v, want healthy", st)
		}
		if last := h.sink.lastState(); last.Stale {
			t.Errorf("sink's last state = %+v, want fresh", last)
		}

		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		if time.Since(start) < time.Hour {
			t.Fatal("fake time did not advance")
		}
	})
}

func TestRunStaleWithoutRefresh(t *testing.T) {
	// A feed refreshed daily with a 25h max age, whose source stops
	// answering: staleness is noticed at max_age, not at the next refresh.
	path := tempPath(t, "list.txt")
	writeList(t, path, now0, "203.0.113.1")
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		cfg := pathConfig(path, func(f *Feed) { f.Refresh = 24 * time.Hour; f.MaxAge = 25 * time.Hour })
		h := newHarness(t, cfg, Deps{DataDir: dir})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.s.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if h.sink.count() != 1 {
			t.Fatalf("updates = %d, want 1", h.sink.count())
		}
		checked := h.s.Status()[0].Checked
		if err := removeFile(path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(checked.Add(25*time.Hour + 2*time.Second)))
		synctest.Wait()
		if st := h.sink.lastState(); !st.Stale {
			t.Errorf("sink's last state = %+v, want stale", st)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
}

func TestRunNoFeeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, DefaultConfig(), Deps{})
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		if err := h.s.Run(ctx); err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		if ctx.Err() == nil {
			t.Error("Run() returned before its context was done")
		}
	})
}
