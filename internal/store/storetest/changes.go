package storetest

import (
	"errors"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// mustChanges returns s.Changes(after, limit).
func mustChanges(t *testing.T, s store.Store, after uint64, limit int) []store.Change {
	t.Helper()
	cs, err := s.Changes(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("Changes(%d, %d) error %v", after, limit, err)
	}
	return cs
}

func testChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	if seq := mustSeq(t, s); seq != 0 {
		t.Errorf("Seq() on an empty store = %d, want 0", seq)
	}
	if cs := mustChanges(t, s, 0, 0); len(cs) != 0 {
		t.Errorf("Changes(0, 0) on an empty store = %v, want none", cs)
	}

	start := time.Now()
	local := proxywatch.Indicator{Subject: addr("2001:db8::99"), Kind: proxywatch.KindScanner,
		Source: proxywatch.Source{Feed: "local", Section: "manual"}, Confidence: 77, Tags: []string{"x"},
		Port: 22, Proto: "tcp", FirstSeen: t0}
	updated := local
	updated.Comment, updated.Expires = "seen again", t0.Add(time.Hour)
	steps := []struct {
		name  string
		write func() error
		want  *store.Change // nil when the write must fail and record nothing
	}{
		{"replace", func() error { return s.ReplaceFeed(ctx, store.FeedState{Name: "a"}, store.FromSlice(sample("a"))) },
			&store.Change{Op: store.ChangeFeed, Feed: "a"}},
		{"state", func() error { return s.UpdateFeedState(ctx, store.FeedState{Name: "a", LastError: "x"}) },
			&store.Change{Op: store.ChangeState, Feed: "a"}},
		{"add", func() error { return s.Add(ctx, local) },
			&store.Change{Op: store.ChangeAdd, Feed: "local", Indicator: stored(t, []proxywatch.Indicator{local})[0]}},
		{"add again", func() error { return s.Add(ctx, updated) },
			&store.Change{Op: store.ChangeAdd, Feed: "local", Indicator: stored(t, []proxywatch.Indicator{updated})[0]}},
		{"delete absent", func() error { return s.Delete(ctx, proxywatch.Key{Feed: "local", Subject: addr("192.0.2.1")}) }, nil},
		{"add invalid", func() error { return s.Add(ctx, proxywatch.Indicator{Source: proxywatch.Source{Feed: "local"}}) }, nil},
		{"delete", func() error { return s.Delete(ctx, local.Key()) },
			&store.Change{Op: store.ChangeDelete, Feed: "local", Indicator: stored(t, []proxywatch.Indicator{updated})[0]}},
		{"delete feed", func() error { return s.DeleteFeed(ctx, "a") }, &store.Change{Op: store.ChangeFeed, Feed: "a"}},
		{"delete feed absent", func() error { return s.DeleteFeed(ctx, "a") }, nil},
	}
	var want []store.Change
	for _, st := range steps {
		err := st.write()
		if (err == nil) != (st.want != nil) {
			t.Fatalf("%s: error = %v, want error %v", st.name, err, st.want == nil)
		}
		if st.want != nil {
			want = append(want, *st.want)
		}
	}
	end := time.Now()

	got := mustChanges(t, s, 0, 0)
	if diff := gocmp.Diff(want, got, cmpOpts, cmpopts.IgnoreFields(store.Change{}, "Seq", "Time")); diff != "" {
		t.Errorf("Changes(0, 0) mismatch (-want +got):\n%s", diff)
	}
	var prev uint64
	for _, c := range got {
		if c.Seq <= prev {
			t.Errorf("Changes(0, 0): seq %d after %d, want increasing", c.Seq, prev)
		}
		prev = c.Seq
		if c.Time.Before(start.Add(-time.Minute)) || c.Time.After(end.Add(time.Minute)) {
			t.Errorf("Changes(0, 0): seq %d time %v, want between %v and %v", c.Seq, c.Time, start, end)
		}
	}
	if seq := mustSeq(t, s); seq != prev {
		t.Errorf("Seq() = %d, want the last change's %d", seq, prev)
	}
	if cs := mustChanges(t, s, prev, 10); len(cs) != 0 {
		t.Errorf("Changes(Seq(), 10) = %v, want none", cs)
	}
}

func testChangesPaging(t *testing.T, s store.Store) {
	for i := range 25 {
		ind := proxywatch.Indicator{Subject: addr("192.0.2.1"), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: "local"}, Port: uint16(1000 + i), Proto: "tcp"}
		if err := s.Add(t.Context(), ind); err != nil {
			t.Fatalf("Add(port %d) error %v", ind.Port, err)
		}
	}
	all := mustChanges(t, s, 0, 100)
	if len(all) != 25 {
		t.Fatalf("Changes(0, 100) = %d changes, want 25", len(all))
	}
	var paged []store.Change
	var sizes []int
	for after := uint64(0); ; {
		cs := mustChanges(t, s, after, 10)
		sizes = append(sizes, len(cs))
		if len(cs) == 0 {
			break
		}
		paged = append(paged, cs...)
		after = cs[len(cs)-1].Seq
	}
	if diff := gocmp.Diff([]int{10, 10, 5, 0}, sizes); diff != "" {
		t.Errorf("page sizes of Changes(after, 10) mismatch (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff(all, paged, cmpOpts); diff != "" {
		t.Errorf("paged changes mismatch (-want +got):\n%s", diff)
	}
	for i, c := range all {
		if c.Indicator.Port != uint16(1000+i) {
			t.Errorf("Changes(0, 100)[%d] port %d, want %d (in commit order)", i, c.Indicator.Port, 1000+i)
		}
	}
}

func testChangesCursorExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	add := func(port uint16) {
		t.Helper()
		ind := proxywatch.Indicator{Subject: addr("192.0.2.2"), Source: proxywatch.Source{Feed: "local"}, Port: port}
		if err := s.Add(ctx, ind); err != nil {
			t.Fatalf("Add(port %d) error %v", port, err)
		}
	}
	add(1)
	time.Sleep(5 * time.Millisecond)
	add(2)
	cs := mustChanges(t, s, 0, 0)
	if len(cs) != 2 {
		t.Fatalf("Changes(0, 0) = %d changes, want 2", len(cs))
	}
	if n, err := s.PruneChanges(ctx, cs[0].Time.Add(-time.Second)); err != nil || n != 0 {
		t.Errorf("PruneChanges(before the first) = %d, %v, want 0, nil", n, err)
	}
	if n, err := s.PruneChanges(ctx, cs[1].Time); err != nil || n != 1 {
		t.Errorf("PruneChanges(second's time) = %d, %v, want 1, nil", n, err)
	}
	if _, err := s.Changes(ctx, 0, 0); !errors.Is(err, store.ErrCursorExpired) {
		t.Errorf("Changes(0) after pruning the first change: error = %v, want ErrCursorExpired", err)
	}
	if got := mustChanges(t, s, cs[0].Seq, 0); len(got) != 1 || got[0].Seq != cs[1].Seq {
		t.Errorf("Changes(%d) after pruning = %v, want only seq %d", cs[0].Seq, got, cs[1].Seq)
	}

	// Prune everything: the newest seq is still known and not reused.
	if n, err := s.PruneChanges(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("PruneChanges(future) = %d, %v, want 1, nil", n, err)
	}
	last := cs[1].Seq
	if seq := mustSeq(t, s); seq != last {
		t.Errorf("Seq() after pruning all = %d, want %d", seq, last)
	}
	if _, err := s.Changes(ctx, cs[0].Seq, 0); !errors.Is(err, store.ErrCursorExpired) {
		t.Errorf("Changes(%d) after pruning all: error = %v, want ErrCursorExpired", cs[0].Seq, err)
	}
	if got := mustChanges(t, s, last, 0); len(got) != 0 {
		t.Errorf("Changes(%d) after pruning all = %v, want none", last, got)
	}
	if _, err := s.Changes(ctx, last+1, 0); !errors.Is(err, store.ErrCursorExpired) {
		t.Errorf("Changes(%d) ahead of the store: error = %v, want ErrCursorExpired", last+1, err)
	}
	add(3)
	got := mustChanges(t, s, last, 0)
	if len(got) != 1 || got[0].Seq <= last || got[0].Indicator.Port != 3 {
		t.Errorf("Changes(%d) after a new write = %v, want one change with seq > %d and port 3", last, got, last)
	}
}
