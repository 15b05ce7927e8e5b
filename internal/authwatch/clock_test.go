package authwatch

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	ev := func(src string, secs int) proxywatch.Event {
		return proxywatch.Event{Source: src, Time: t0.Add(time.Duration(secs) * time.Second), Seq: uint64(secs)}
	}
	type step struct {
		push proxywatch.Event
		want []string // events handled by this push, "src@secs"
	}
	name := func(e *proxywatch.Event) string {
		return fmt.Sprintf("%s@%ds", e.Source, int(e.Time.Sub(t0)/time.Second))
	}
	tests := []struct {
		name       string
		max        int
		steps      []step
		drain      []string
		late, forc uint64
	}{
		{
			name: "two sources merge behind the slower",
			max:  100,
			steps: []step{
				{ev("a", 0), nil},
				{ev("a", 10), []string{"a@0s"}}, // watermark 10-5 = 5s
				{ev("b", 5), nil},               // watermark min(10, 5)-5 = 0s: nothing new
				{ev("b", 20), []string{"b@5s"}}, // watermark min(10, 20)-5 = 5s
				{ev("a", 30), []string{"a@10s"}},
			},
			drain: []string{"b@20s", "a@30s"},
		},
		{
			name: "late events are counted and handled at once",
			max:  100,
			steps: []step{
				{ev("a", 0), nil},
				{ev("a", 20), []string{"a@0s"}},
				{ev("a", 30), []string{"a@20s"}},
				{ev("a", 3), []string{"a@20s"}}, // older than what was processed: late, clamped
			},
			drain: []string{"a@30s"},
			late:  1,
		},
		{
			name: "an idle source stops holding the watermark back",
			max:  100,
			steps: []step{
				{ev("b", 0), nil},
				{ev("a", 1), nil},
				{ev("a", 200), nil}, // b is behind but not idle: it holds the watermark at 0
				{ev("a", 400), []string{"b@0s", "a@1s", "a@200s"}}, // b silent for 400s > idle 300s
			},
			drain: []string{"a@400s"},
		},
		{
			name: "a full buffer releases its oldest",
			max:  2,
			steps: []step{
				{ev("b", 0), nil},
				{ev("a", 1), nil},
				{ev("a", 2), []string{"b@0s"}}, // three held, two allowed
				{ev("a", 3), []string{"a@1s"}},
			},
			drain: []string{"a@2s", "a@3s"},
			forc:  2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Lateness, cfg.IdleSource, cfg.MaxBuffered = 5*time.Second, 300*time.Second, tc.max
			var c clock
			c.init(cfg)
			var st Stats
			for i, s := range tc.steps {
				var got []string
				c.push(s.push, func(e *proxywatch.Event) { got = append(got, name(e)) }, &st)
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("step %d push(%s): handled mismatch (-want +got):\n%s", i, name(&s.push), diff)
				}
			}
			var got []string
			c.drain(func(e *proxywatch.Event) { got = append(got, name(e)) })
			if diff := cmp.Diff(tc.drain, got); diff != "" {
				t.Errorf("drain mismatch (-want +got):\n%s", diff)
			}
			if st.Late != tc.late || st.Forced != tc.forc {
				t.Errorf("stats late %d forced %d, want %d, %d", st.Late, st.Forced, tc.late, tc.forc)
			}
		})
	}
}

// TestAdvance checks that the wall clock moves a quiet Watch on: a failure
// waiting for a success is judged without any further event.
func TestAdvance(t *testing.T) {
	rec := &recorder{}
	w, err := New(DefaultConfig(), Deps{Out: rec})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		w.Process(proxywatch.Event{Time: t0.Add(time.Duration(i) * time.Second / 2), Type: proxywatch.EventLoginFailure,
			Service: "ssh", Addr: netip.MustParseAddr("198.51.100.7"), Port: uint16(40000 + i), User: "root", Method: "password"})
	}
	if len(rec.decisions) != 0 {
		t.Fatalf("decisions before the lateness passed: %v", rec.decisions)
	}
	w.Advance(t0.Add(time.Minute))
	if len(rec.decisions) != 1 {
		t.Fatalf("Advance: %d decisions, want the brute forcer's", len(rec.decisions))
	}
	if st := w.Stats(); st.NewFailing != 0 {
		t.Errorf("NewFailing = %d before Forgive passed, want 0", st.NewFailing)
	}
	w.Advance(t0.Add(10 * time.Minute))
	if st := w.Stats(); st.NewFailing != 1 {
		t.Errorf("NewFailing = %d after Forgive passed, want 1", st.NewFailing)
	}
	// An event older than the advanced clock is late.
	w.Process(proxywatch.Event{Time: t0.Add(2 * time.Minute), Type: proxywatch.EventLoginFailure, Service: "ssh",
		Addr: netip.MustParseAddr("198.51.100.8"), User: "root"})
	if st := w.Stats(); st.Late != 1 {
		t.Errorf("Late = %d, want 1", st.Late)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Errorf("Run(cancelled) = %v, want nil", err)
	}
}

// TestSync checks that Sync reports each source's oldest held event, and
// nothing once the watermark has passed them.
func TestSync(t *testing.T) {
	w, err := New(DefaultConfig(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, src := range []string{"auth", "web", "auth", "web", "auth"} {
		w.Process(proxywatch.Event{Time: t0.Add(time.Duration(i) * time.Second / 4), Type: proxywatch.EventLoginFailure,
			Service: "ssh", Addr: netip.MustParseAddr("198.51.100.7"), User: "root", Source: src, Seq: uint64(10 + i)})
	}
	var got map[string]uint64
	w.Sync(func(held map[string]uint64) { got = held })
	if want := map[string]uint64{"auth": 10, "web": 11}; !maps.Equal(got, want) {
		t.Errorf("Sync() held = %v, want %v", got, want)
	}
	w.Advance(t0.Add(time.Minute))
	w.Sync(func(held map[string]uint64) { got = held })
	if len(got) != 0 {
		t.Errorf("Sync() after Advance held = %v, want none", got)
	}
}

// TestEvQueue pushes mostly ordered events with stragglers, popping at
// random, and checks every pop returns the earliest event held.
func TestEvQueue(t *testing.T) {
	var q evQueue
	var held []item
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	x, seq := uint64(7), uint64(0)
	for step := range 100000 {
		x = x*6364136223846793005 + 1442695040888963407
		if x>>61 < 4 || len(held) == 0 { // push
			seq++
			d := time.Duration(step) * time.Millisecond
			if x>>58&7 == 0 { // a straggler, up to 2 s late
				d -= time.Duration(x>>40%2000) * time.Millisecond
			}
			it := item{ev: proxywatch.Event{Time: t0.Add(d), Seq: seq}, seq: seq}
			q.push(it)
			held = append(held, it)
			continue
		}
		min := 0
		for i := range held {
			if held[i].before(&held[min]) {
				min = i
			}
		}
		if got := q.peek().seq; got != held[min].seq {
			t.Fatalf("step %d: peek() = seq %d, want %d", step, got, held[min].seq)
		}
		if got := q.pop(); got.seq != held[min].seq {
			t.Fatalf("step %d: pop() = seq %d, want %d", step, got.seq, held[min].seq)
		}
		held = append(held[:min], held[min+1:]...)
		if q.len() != len(held) {
			t.Fatalf("step %d: len() = %d, want %d", step, q.len(), len(held))
		}
	}
}
