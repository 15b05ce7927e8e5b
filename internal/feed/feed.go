// Package feed keeps threat-intelligence feeds current: it fetches each
// configured feed on its interval (conditional HTTP GET or a local file),
// reads it with the configured format, applies the feed's defaults and
// lifetimes, guards against poisoned or broken updates, keeps the last
// good copy on disk, and hands accepted updates to a Sink.
//
// Collect, which turns one document into indicators and a report, is also
// what `proxywatch import` uses. The package knows no reader, store or
// verdict table: formats come as a map of intel.Open functions, and
// accepted updates leave through the Sink interface.
package feed

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// A Sink receives what the scheduler decides. Its methods may be called
// concurrently for different feeds, never for the same feed.
//
// While a feed's State.Stale is true its indicators must not match: they
// stay stored and shown, but no verdict may rest on them.
type Sink interface {
	// ReplaceFeed replaces every indicator of feed st.Name with inds, as
	// one change. On error the feed keeps its previous indicators and the
	// scheduler tries the update again on the next refresh.
	ReplaceFeed(ctx context.Context, st State, inds []proxywatch.Indicator) error
	// FeedState records a change of st without new indicators: not
	// modified, held, failed, or stale. Errors are logged and ignored.
	FeedState(ctx context.Context, st State) error
}

// Deps are what a Scheduler needs from the rest of the program.
type Deps struct {
	Logger     *slog.Logger          // nil discards
	Registerer prometheus.Registerer // nil registers nothing
	// Formats maps format names to readers; required.
	Formats map[string]intel.Open
	// Sink receives accepted updates and state changes; required.
	Sink Sink
	// DataDir holds the last good copies under DataDir/feeds; "" keeps
	// none.
	DataDir string
	// Client fetches URLs; nil uses a client on http.DefaultTransport.
	// Timeouts come from each feed's configuration.
	Client *http.Client
	// Version goes into the User-Agent, "proxywatch/<version>".
	Version string
}

// A Scheduler refreshes feeds. Run refreshes them on their intervals;
// Update refreshes some now; Status reports on them. All methods are safe
// for concurrent use; refreshes of one feed never overlap.
type Scheduler struct {
	cfg       Config
	log       *slog.Logger
	sink      Sink
	client    *http.Client
	userAgent string
	disk      lastGood
	metrics   *metrics
	seed      maphash.Seed
	feeds     []*feedRun
	byName    map[string]*feedRun

	mu sync.Mutex // guards every feedRun's state, next, busy and notifiedStale
}

// feedRun is one feed's runtime state.
type feedRun struct {
	feed Feed // resolved
	open intel.Open

	mu      sync.Mutex // serialises refreshes; guards the fields below
	loaded  bool       // the kept copy has been looked for
	pushed  bool       // the kept copy has been given to the sink
	have    bool       // there is an accepted copy
	meta    meta       // of the accepted copy; Holds also without one
	keys    []uint64   // sorted key hashes of the accepted copy, for churn
	recheck bool       // ignore validators, times and hashes on the next fetch

	// Guarded by Scheduler.mu.
	state         State
	next          time.Time
	busy          bool
	notifiedStale bool
}

// feedsDir returns where the kept copies live.
func feedsDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "feeds")
}

// New validates cfg against deps and returns a Scheduler. It checks each
// feed's reader parameters by opening its reader on an empty document. It
// registers metrics but starts nothing and touches no file.
func New(cfg Config, deps Deps) (*Scheduler, error) {
	known := slices.Sorted(maps.Keys(deps.Formats))
	if known == nil {
		known = []string{}
	}
	var errs []error
	if err := cfg.Validate(known); err != nil {
		errs = append(errs, err)
	}
	if deps.Sink == nil {
		errs = append(errs, errors.New("feed: no sink"))
	}
	s := &Scheduler{
		cfg:       cfg,
		log:       deps.Logger,
		sink:      deps.Sink,
		client:    deps.Client,
		userAgent: "proxywatch/" + cmpOr(deps.Version, "dev"),
		disk:      lastGood{dir: feedsDir(deps.DataDir)},
		seed:      maphash.MakeSeed(),
		byName:    map[string]*feedRun{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	for i, f := range cfg.Feeds {
		open := deps.Formats[f.Format]
		if open == nil {
			continue // reported by Validate
		}
		if _, err := open(strings.NewReader(""), intel.Options{Name: f.Name, Params: f.Params}); err != nil {
			errs = append(errs, fmt.Errorf("feeds[%d].params: %w", i, err))
		}
		r := &feedRun{feed: cfg.Resolve(f), open: open}
		r.state = newState(&r.feed, nil, false)
		s.feeds = append(s.feeds, r)
		s.byName[f.Name] = r
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m, err := newMetrics(deps.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Status returns the state of every feed, in configuration order.
func (s *Scheduler) Status() []State {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]State, len(s.feeds))
	for i, f := range s.feeds {
		out[i] = f.state
		out[i].Stale = out[i].staleAt(now)
	}
	return out
}

// Update refreshes the named feeds now, or every feed when names is
// empty, and returns one Result per feed in the order asked. It returns
// an error wrapping proxywatch.ErrNotFound, and refreshes nothing, when a
// name is unknown. Refreshes run with the configured concurrency.
func (s *Scheduler) Update(ctx context.Context, names ...string) ([]Result, error) {
	runs := s.feeds
	if len(names) > 0 {
		runs = nil
		var unknown []string
		for _, n := range names {
			if r := s.byName[n]; r != nil {
				runs = append(runs, r)
			} else {
				unknown = append(unknown, n)
			}
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("feeds %q: %w", unknown, proxywatch.ErrNotFound)
		}
	}
	results := make([]Result, len(runs))
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, r := range runs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = s.refresh(ctx, r)
			next := time.Now().Add(delay(r.feed.Refresh, results[i]))
			s.mu.Lock()
			r.next, r.state.Next = next, next
			s.mu.Unlock()
		})
	}
	wg.Wait()
	return results, nil
}

// Run loads the kept copies and gives them to the sink, then refreshes
// each feed on its interval until ctx is done. It returns nil when ctx is
// done; a failing feed is logged, counted and retried with backoff, never
// fatal.
func (s *Scheduler) Run(ctx context.Context) error {
	now := time.Now()
	for _, r := range s.feeds {
		if ctx.Err() != nil {
			return nil
		}
		r.mu.Lock()
		s.load(ctx, r, true)
		r.mu.Unlock()
		s.mu.Lock()
		if age := r.state.Age(now); r.have && age < r.feed.Refresh {
			r.next = now.Add(r.feed.Refresh - age)
		} else {
			r.next = now.Add(randDuration(min(r.feed.Refresh/10, 10*time.Second)))
		}
		r.state.Next = r.next
		s.mu.Unlock()
	}
	done := make(chan *feedRun)
	inflight := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		wake := now.Add(24 * time.Hour)
		var staleCheck []*feedRun
		s.mu.Lock()
		for _, r := range s.feeds {
			if r.busy {
				continue
			}
			if !r.next.After(now) {
				if inflight < s.cfg.Concurrency {
					r.busy = true
					inflight++
					go s.work(ctx, r, done)
				}
				continue // a finishing worker wakes the loop
			}
			wake = minTime(wake, r.next)
			if r.state.staleAt(now) != r.notifiedStale {
				staleCheck = append(staleCheck, r)
			} else if !r.notifiedStale && r.state.MaxAge > 0 && !r.state.Checked.IsZero() {
				wake = minTime(wake, r.state.Checked.Add(r.state.MaxAge+time.Second))
			}
		}
		s.mu.Unlock()
		for _, r := range staleCheck {
			s.notifyStale(ctx, r)
		}
		timer.Reset(wake.Sub(now))
		select {
		case <-ctx.Done():
			for ; inflight > 0; inflight-- {
				<-done
			}
			return nil
		case <-done:
			inflight--
		case <-timer.C:
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// work refreshes r for Run and reschedules it.
func (s *Scheduler) work(ctx context.Context, r *feedRun, done chan<- *feedRun) {
	res := s.refresh(ctx, r)
	if ctx.Err() == nil && res.Outcome == OutcomeFailed {
		// Logged here, where the failure is finally handled; Update
		// returns it to its caller instead.
		if res.State.Failures == 1 {
			s.log.Warn("feed refresh failed", "feed", res.Name, "err", res.Err, "using_last_good", res.State.UsingLastGood)
		} else {
			s.log.Debug("feed refresh failed again", "feed", res.Name, "err", res.Err, "failures", res.State.Failures)
		}
	}
	next := time.Now().Add(delay(r.feed.Refresh, res))
	s.mu.Lock()
	r.busy = false
	r.next, r.state.Next = next, next
	s.mu.Unlock()
	done <- r
}

// delay returns how long to wait before the next refresh after res: the
// refresh interval with ±10% jitter, or after a failure an exponential
// backoff from 30s up to the interval.
func delay(refresh time.Duration, res Result) time.Duration {
	d := refresh
	if res.Outcome == OutcomeFailed {
		n := max(res.State.Failures-1, 0)
		d = min(30*time.Second<<min(n, 20), d)
	}
	return jitter(d)
}

// jitter returns d changed by a random amount of up to ±10%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// randDuration returns a random duration in [0, d).
func randDuration(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// notifyStale tells the sink that r went stale or fresh without a
// refresh, unless a refresh of r is under way.
func (s *Scheduler) notifyStale(ctx context.Context, r *feedRun) {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	s.mu.Lock()
	st := r.state
	st.Stale = st.staleAt(time.Now())
	changed := st.Stale != r.notifiedStale
	r.notifiedStale = st.Stale
	s.mu.Unlock()
	if !changed {
		return
	}
	if st.Stale {
		s.log.Warn("feed stale, its indicators stop matching", "feed", st.Name, "checked", st.Checked, "max_age", st.MaxAge)
	}
	if err := s.sink.FeedState(ctx, st); err != nil {
		s.log.Warn("record feed state", "feed", st.Name, "err", err)
	}
}
