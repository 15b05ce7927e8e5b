package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// fullState returns a state of feed with every field set.
func fullState(feed string) store.FeedState {
	return store.FeedState{
		Name: feed, Format: "plainlist", Source: "https://feeds.example.org/" + feed + ".txt",
		LastFetch: t0.Add(time.Minute), LastGood: t0, ETag: `W/"abc-123"`, LastModified: "Tue, 01 Sep 2026 08:00:00 GMT",
		Accepted: 1000, Refused: 3, Excluded: 2, GuardRefused: 1, Duplicates: 7, Holds: 2, LastError: "held: churn 80% > 50%",
	}
}

func wantState(t *testing.T, s store.Store, want store.FeedState) {
	t.Helper()
	got, err := s.FeedState(t.Context(), want.Name)
	if err != nil {
		t.Fatalf("FeedState(%q) error %v", want.Name, err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("FeedState(%q) mismatch (-want +got):\n%s", want.Name, diff)
	}
	for _, tm := range []time.Time{got.LastFetch, got.LastGood} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("FeedState(%q) time %v in %v, want UTC", want.Name, tm, tm.Location())
		}
	}
}

func testFeedStateRoundTrip(t *testing.T, s store.Store) {
	tests := []struct {
		name  string
		state store.FeedState
	}{
		{"full", fullState("full")},
		{"zero", store.FeedState{Name: "zero"}},
		{"indicators ignored", store.FeedState{Name: "ign", Indicators: 99}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.UpdateFeedState(t.Context(), tc.state); err != nil {
				t.Fatalf("UpdateFeedState(%q) error %v", tc.state.Name, err)
			}
			want, _ := store.NormalizeState(tc.state)
			want.Indicators = 0
			wantState(t, s, want)
		})
	}
	states, err := s.FeedStates(t.Context())
	if err != nil {
		t.Fatalf("FeedStates() error %v", err)
	}
	var names []string
	for _, st := range states {
		names = append(names, st.Name)
	}
	if diff := gocmp.Diff([]string{"full", "ign", "zero"}, names); diff != "" {
		t.Errorf("FeedStates() names mismatch (-want +got):\n%s", diff)
	}
}

func testFeedStateNotFound(t *testing.T, s store.Store) {
	if _, err := s.FeedState(t.Context(), "absent"); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("FeedState(absent) error = %v, want ErrNotFound", err)
	}
	states, err := s.FeedStates(t.Context())
	if err != nil || len(states) != 0 {
		t.Errorf("FeedStates() on an empty store = %v, %v, want none, nil", states, err)
	}
}

func testReplaceFeedRoundTrip(t *testing.T, s store.Store) {
	a, b := sample("a"), sample("b")
	mustReplace(t, s, fullState("a"), a)
	mustReplace(t, s, store.FeedState{Name: "b"}, b)
	wantFeed(t, s, "a", stored(t, a))
	wantFeed(t, s, "b", stored(t, b))
	wantFeed(t, s, "", stored(t, append(append([]proxywatch.Indicator{}, a...), b...)))
	wantFeed(t, s, "absent", nil)

	want := fullState("a")
	want, _ = store.NormalizeState(want)
	want.Indicators = len(a)
	wantState(t, s, want)

	for _, ind := range collect(t, s.Indicators(t.Context(), "a")) {
		for _, tm := range []time.Time{ind.FirstSeen, ind.LastSeen, ind.Expires} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("indicator %s time %v in %v, want UTC", ind.Subject, tm, tm.Location())
			}
		}
	}
}

func testReplaceFeedReplaces(t *testing.T, s store.Store) {
	old := sample("a")
	mustReplace(t, s, fullState("a"), old)
	mustReplace(t, s, store.FeedState{Name: "other"}, sample("other"))
	next := []proxywatch.Indicator{
		old[0], // kept, changed
		{Subject: addr("192.0.2.99"), Kind: proxywatch.KindBruteForce, Source: proxywatch.Source{Feed: "a", Line: 1}, Confidence: 10},
	}
	next[0].Confidence = 11
	next[0].Tags = []string{"changed"}
	st := store.FeedState{Name: "a", Format: "csv", ETag: "v2", LastGood: t0.Add(time.Hour)}
	mustReplace(t, s, st, next)
	wantFeed(t, s, "a", stored(t, next))
	wantFeed(t, s, "other", stored(t, sample("other")))
	st, _ = store.NormalizeState(st)
	st.Indicators = 2
	wantState(t, s, st) // the whole state is replaced, not merged
}

func testReplaceFeedDuplicateKeys(t *testing.T, s store.Store) {
	first := proxywatch.Indicator{Subject: addr("192.0.2.1"), Kind: proxywatch.KindOpenProxy,
		Source: proxywatch.Source{Feed: "d", Line: 1}, Confidence: 10, Port: 80, Proto: "http"}
	other := first
	other.Port = 81
	last := first
	last.Source.Line, last.Confidence, last.Comment = 3, 20, "later"
	mustReplace(t, s, store.FeedState{Name: "d"}, []proxywatch.Indicator{first, other, last})
	wantFeed(t, s, "d", stored(t, []proxywatch.Indicator{other, last}))
	st, err := s.FeedState(t.Context(), "d")
	if err != nil || st.Indicators != 2 {
		t.Errorf("FeedState(d) = %d indicators, %v, want 2, nil", st.Indicators, err)
	}
}

func testReplaceFeedSourceFeed(t *testing.T, s store.Store) {
	ind := proxywatch.Indicator{Subject: addr("192.0.2.1"), Kind: proxywatch.KindC2}
	mustReplace(t, s, store.FeedState{Name: "f"}, []proxywatch.Indicator{ind})
	ind.Source.Feed = "f"
	wantFeed(t, s, "f", []proxywatch.Indicator{ind})

	bad := ind
	bad.Source.Feed = "g"
	err := s.ReplaceFeed(t.Context(), store.FeedState{Name: "f"}, store.FromSlice([]proxywatch.Indicator{bad}))
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("ReplaceFeed(f) with an indicator of feed g: error = %v, want ErrInvalid", err)
	}
	wantFeed(t, s, "f", []proxywatch.Indicator{ind})
}

var errReader = errors.New("reader broke")

// failingAfter yields inds, then what fail returns, then inds again.
func failingAfter(inds []proxywatch.Indicator, fail func() (proxywatch.Indicator, error)) func(yield func(proxywatch.Indicator, error) bool) {
	return func(yield func(proxywatch.Indicator, error) bool) {
		for _, ind := range inds {
			if !yield(ind, nil) {
				return
			}
		}
		if !yield(fail()) {
			return
		}
		for _, ind := range inds { // more after the failure, which must not be used
			if !yield(ind, nil) {
				return
			}
		}
	}
}

func testReplaceFeedAtomic(t *testing.T, s store.Store) {
	old := sample("a")
	oldState := fullState("a")
	mustReplace(t, s, oldState, old)
	oldState, _ = store.NormalizeState(oldState)
	oldState.Indicators = len(old)

	// A new set large enough that an implementation writing in batches
	// has written some of it before the failure.
	var next []proxywatch.Indicator
	for i := range 2000 {
		next = append(next, proxywatch.Indicator{
			Subject: addr(fmt.Sprintf("198.51.%d.%d", 100+i/256%50, i%256)), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: "a", Line: i + 1}, Port: uint16(1 + i/256),
		})
	}
	newState := store.FeedState{Name: "a", ETag: "new", Accepted: 5000}

	tests := []struct {
		name    string
		fail    func(cancel context.CancelFunc) (proxywatch.Indicator, error)
		wantErr error
	}{
		{
			name:    "reader error",
			fail:    func(context.CancelFunc) (proxywatch.Indicator, error) { return proxywatch.Indicator{}, errReader },
			wantErr: errReader,
		},
		{
			name: "invalid indicator",
			fail: func(context.CancelFunc) (proxywatch.Indicator, error) {
				return proxywatch.Indicator{Source: proxywatch.Source{Feed: "a"}}, nil
			},
			wantErr: proxywatch.ErrInvalid,
		},
		{
			name: "context cancelled",
			fail: func(cancel context.CancelFunc) (proxywatch.Indicator, error) {
				cancel()
				return next[0], nil
			},
			wantErr: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq := mustSeq(t, s)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			err := s.ReplaceFeed(ctx, newState, failingAfter(next, func() (proxywatch.Indicator, error) { return tc.fail(cancel) }))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReplaceFeed(failing after %d) error = %v, want %v", len(next), err, tc.wantErr)
			}
			wantFeed(t, s, "a", stored(t, old))
			wantState(t, s, oldState)
			if got := mustSeq(t, s); got != seq {
				t.Errorf("Seq() after a failed ReplaceFeed = %d, want %d", got, seq)
			}
		})
	}
	// The store is still writable.
	mustReplace(t, s, newState, next)
	wantFeed(t, s, "a", stored(t, next))
}

func testReplaceFeedInvalidState(t *testing.T, s store.Store) {
	for _, st := range []store.FeedState{{}, {Name: "x", Refused: -1}} {
		err := s.ReplaceFeed(t.Context(), st, store.FromSlice(sample(st.Name)))
		if !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("ReplaceFeed(%+v) error = %v, want ErrInvalid", st, err)
		}
		if err := s.UpdateFeedState(t.Context(), st); !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("UpdateFeedState(%+v) error = %v, want ErrInvalid", st, err)
		}
	}
	if seq := mustSeq(t, s); seq != 0 {
		t.Errorf("Seq() after only invalid writes = %d, want 0", seq)
	}
}

func testReplaceFeedEmpty(t *testing.T, s store.Store) {
	mustReplace(t, s, store.FeedState{Name: "e"}, sample("e"))
	mustReplace(t, s, store.FeedState{Name: "e", LastError: "empty copy"}, nil)
	wantFeed(t, s, "e", nil)
	wantState(t, s, store.FeedState{Name: "e", LastError: "empty copy"})
}

func testUpdateFeedState(t *testing.T, s store.Store) {
	a := sample("a")
	mustReplace(t, s, fullState("a"), a)
	upd := store.FeedState{Name: "a", LastFetch: t0.Add(2 * time.Hour), LastError: "fetch: connection refused", Holds: 3}
	if err := s.UpdateFeedState(t.Context(), upd); err != nil {
		t.Fatalf("UpdateFeedState(a) error %v", err)
	}
	upd, _ = store.NormalizeState(upd)
	upd.Indicators = len(a)
	wantState(t, s, upd)
	wantFeed(t, s, "a", stored(t, a))
}

func testDeleteFeed(t *testing.T, s store.Store) {
	mustReplace(t, s, fullState("a"), sample("a"))
	mustReplace(t, s, store.FeedState{Name: "b"}, sample("b"))
	if err := s.DeleteFeed(t.Context(), "a"); err != nil {
		t.Fatalf("DeleteFeed(a) error %v", err)
	}
	wantFeed(t, s, "a", nil)
	wantFeed(t, s, "", stored(t, sample("b")))
	if _, err := s.FeedState(t.Context(), "a"); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("FeedState(a) after DeleteFeed error = %v, want ErrNotFound", err)
	}
	seq := mustSeq(t, s)
	if err := s.DeleteFeed(t.Context(), "a"); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("DeleteFeed(a) again error = %v, want ErrNotFound", err)
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq() after a failed DeleteFeed = %d, want %d", got, seq)
	}
	// The name can be used again.
	mustReplace(t, s, store.FeedState{Name: "a"}, sample("a")[:1])
	wantFeed(t, s, "a", stored(t, sample("a")[:1]))
}
