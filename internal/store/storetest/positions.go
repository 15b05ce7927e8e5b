package storetest

import (
	"errors"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// A PositionBackend is a store that keeps log positions too.
type PositionBackend interface {
	store.Store
	store.PositionStore
}

// RunPositions runs the conformance suite of [store.PositionStore]. open
// must return a new, empty store for each call, and close it in
// t.Cleanup.
func RunPositions(t *testing.T, open func(t *testing.T) PositionBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s PositionBackend)
	}{
		{"Commit", testCommit},
		{"CommitAtomic", testCommitAtomic},
		{"CommitKeepsOtherPositions", testCommitKeepsPositions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func wantPositions(t *testing.T, s PositionBackend, want map[string][]byte) {
	t.Helper()
	got, err := s.Positions(t.Context())
	if err != nil {
		t.Fatalf("Positions() error %v", err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("Positions() mismatch (-want +got):\n%s", diff)
	}
}

func testCommit(t *testing.T, s PositionBackend) {
	wantPositions(t, s, map[string][]byte{})
	a := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	b := decision("d-2", "198.51.100.8", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	al := alert("a-1", t0)
	err := s.Commit(t.Context(), store.Batch{
		Writes:    []store.Write{{Put: &a}, {Put: &b}, {Alert: &al}, {Delete: "d-2"}, {Delete: "d-missing"}},
		Positions: map[string][]byte{"auth": []byte(`{"seq":7}`), "web": []byte(`{"seq":3}`)},
	})
	if err != nil {
		t.Fatalf("Commit() error %v", err)
	}
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, a)})
	wantMirror(t, s, a)
	as, err := s.Alerts(t.Context(), time.Time{}, 0)
	if err != nil || len(as) != 1 || as[0].ID != "a-1" {
		t.Errorf("Alerts() = %v, %v; want a-1", ids(as), err)
	}
	wantPositions(t, s, map[string][]byte{"auth": []byte(`{"seq":7}`), "web": []byte(`{"seq":3}`)})
}

func testCommitAtomic(t *testing.T, s PositionBackend) {
	good := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	bad := decision("", "198.51.100.8", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	err := s.Commit(t.Context(), store.Batch{
		Writes:    []store.Write{{Put: &good}, {Put: &bad}},
		Positions: map[string][]byte{"auth": []byte("x")},
	})
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Fatalf("Commit(batch with an invalid decision) error %v, want ErrInvalid", err)
	}
	if err := s.Commit(t.Context(), store.Batch{Writes: []store.Write{{}}}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Commit(empty write) error %v, want ErrInvalid", err)
	}
	wantDecisions(t, s, time.Time{}, nil)
	wantPositions(t, s, map[string][]byte{})
}

func testCommitKeepsPositions(t *testing.T, s PositionBackend) {
	for _, b := range []store.Batch{
		{Positions: map[string][]byte{"auth": []byte("1"), "web": []byte("1")}},
		{Positions: map[string][]byte{"auth": []byte("2")}},
		{},
	} {
		if err := s.Commit(t.Context(), b); err != nil {
			t.Fatalf("Commit(%v) error %v", b.Positions, err)
		}
	}
	wantPositions(t, s, map[string][]byte{"auth": []byte("2"), "web": []byte("1")})
}
