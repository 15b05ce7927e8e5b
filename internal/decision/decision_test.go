package decision

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

var t0 = time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)

func addr(s string) proxywatch.Subject { return proxywatch.AddrSubject(netip.MustParseAddr(s)) }

func proposal(s string, action proxywatch.Action, origin string, at time.Duration) proxywatch.Decision {
	return proxywatch.Decision{ID: "p-" + s + "-" + at.String(), Subject: addr(s), Action: action, Origin: origin,
		Kind: proxywatch.KindBruteForce, Created: t0.Add(at)}
}

func newManager(t *testing.T, edit func(*Config), deps Deps) *Manager {
	t.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New() error %v", err)
	}
	return m
}

func TestProposeEscalates(t *testing.T) {
	var reported []proxywatch.Record
	m := newManager(t, nil, Deps{Report: func(r proxywatch.Record) { reported = append(reported, r) }})
	steps := []struct {
		name   string
		d      proxywatch.Decision
		taken  int
		count  int
		action proxywatch.Action
		ttl    time.Duration
	}{
		{"first", proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 0), 1, 1, proxywatch.ActionBan, 4 * time.Hour},
		{"again while live", proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 30*time.Minute), 0, 0, "", 0},
		{"after expiry", proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 5*time.Hour), 1, 2, proxywatch.ActionBan, 16 * time.Hour},
		{"third", proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 22*time.Hour), 1, 3, proxywatch.ActionBan, 64 * time.Hour},
		{"challenge 1", proposal("203.0.113.9", proxywatch.ActionChallenge, "detect:campaign", 23*time.Hour), 1, 1, proxywatch.ActionChallenge, 2 * time.Hour},
		{"ban over challenge", proposal("203.0.113.9", proxywatch.ActionBan, "detect:campaign", 23*time.Hour+time.Minute), 1, 2, proxywatch.ActionBan, 8 * time.Hour},
		{"challenge under ban", proposal("203.0.113.9", proxywatch.ActionChallenge, "detect:campaign", 23*time.Hour+2*time.Minute), 0, 0, "", 0},
		{"challenge escalates to ban", proposal("203.0.113.9", proxywatch.ActionChallenge, "detect:campaign", 32*time.Hour), 1, 3, proxywatch.ActionBan, 32 * time.Hour},
	}
	for _, s := range steps {
		got := m.Propose(s.d)
		if len(got) != s.taken {
			t.Fatalf("%s: Propose = %d decisions, want %d", s.name, len(got), s.taken)
		}
		if s.taken == 0 {
			continue
		}
		d := got[0]
		if d.Count != s.count || d.Action != s.action || d.Expires.Sub(d.Created) != s.ttl || !d.Created.Equal(s.d.Created) {
			t.Errorf("%s: Propose = count %d %s ttl %s created %s, want count %d %s ttl %s created %s",
				s.name, d.Count, d.Action, d.Expires.Sub(d.Created), d.Created, s.count, s.action, s.ttl, s.d.Created)
		}
	}
	if st := m.Stats(); st.Taken != 6 || st.Duplicate != 2 || st.Escalated != 4 {
		t.Errorf("Stats() = %+v, want 6 taken, 2 duplicates, 4 escalated", st)
	}
	if len(reported) != 6 || reported[0].Decision == nil {
		t.Errorf("reported %d records, want the 6 decisions", len(reported))
	}
}

func TestProposeRefuses(t *testing.T) {
	m := newManager(t, nil, Deps{Allowlist: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for _, d := range []proxywatch.Decision{
		proposal("192.0.2.5", proxywatch.ActionBan, "detect:bruteforce", 0),
		{Subject: proxywatch.PrefixSubject(netip.MustParsePrefix("198.51.0.0/16")), Action: proxywatch.ActionBan, Origin: "detect:x", Created: t0},
		{Subject: proxywatch.DomainSubject("example.org"), Action: proxywatch.ActionBan, Created: t0},
	} {
		if got := m.Propose(d); len(got) != 0 {
			t.Errorf("Propose(%s) = %v, want refused", d.Subject, got)
		}
	}
	if st := m.Stats(); st.Allowlisted != 1 || st.Refused != 2 {
		t.Errorf("Stats() = %+v, want 1 allowlisted and 2 refused", st)
	}
	if _, err := m.Add(context.Background(), proxywatch.Decision{Subject: addr("192.0.2.9")}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Add(allowlisted) error = %v, want ErrInvalid", err)
	}
}

func TestAggregate(t *testing.T) {
	tests := []struct {
		name   string
		cgnat  string
		allow  string
		prefix string
		addrs  func(i int) string
		n      int
		want   string // the aggregated subject, or ""
	}{
		{"ipv4 /24 at 16", "", "", "", func(i int) string { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String() }, 16, "198.51.100.0/24"},
		{"ipv4 15 is not enough", "", "", "", func(i int) string { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String() }, 15, ""},
		{"ipv6 /64 at 4", "", "", "", func(i int) string {
			return netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, byte(i + 1)}).String()
		}, 4, "2001:db8:1:2::/64"},
		{"never inside carrier NAT", "198.51.100.0/22", "", "", func(i int) string { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String() }, 40, ""},
		{"never over the allowlist", "", "198.51.100.128/25", "", func(i int) string { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String() }, 40, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var deps Deps
			if tc.allow != "" {
				deps.Allowlist = []netip.Prefix{netip.MustParsePrefix(tc.allow)}
			}
			m := newManager(t, func(c *Config) {
				if tc.cgnat != "" {
					c.CGNAT = []netip.Prefix{netip.MustParsePrefix(tc.cgnat)}
				}
			}, deps)
			var agg []proxywatch.Decision
			for i := 0; i < tc.n; i++ {
				got := m.Propose(proposal(tc.addrs(i), proxywatch.ActionBan, "detect:campaign", time.Duration(i)*time.Second))
				if len(got) == 2 {
					agg = append(agg, got[1])
				}
			}
			switch {
			case tc.want == "" && len(agg) > 0:
				t.Errorf("aggregated into %s, want no aggregation", agg[0].Subject)
			case tc.want != "" && (len(agg) != 1 || agg[0].Subject.String() != tc.want):
				t.Errorf("aggregated into %v, want one decision on %s", agg, tc.want)
			case tc.want != "":
				if !strings.Contains(agg[0].Reason, "aggregate") || agg[0].Expires.Sub(agg[0].Created) != time.Hour {
					t.Errorf("aggregate decision %+v: want an aggregate reason and the aggregated TTL", agg[0])
				}
				// A later address of the prefix is covered already.
				p := netip.MustParsePrefix(tc.want)
				next := p.Addr().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next().Next()
				if got := m.Propose(proposal(next.String(), proxywatch.ActionBan, "detect:campaign", time.Minute)); len(got) != 0 {
					t.Errorf("Propose(%s) under a live aggregate = %v, want nothing", next, got)
				}
				if d, ok := m.Active(next, t0.Add(2*time.Minute)); !ok || d.Subject.String() != tc.want {
					t.Errorf("Active(%s) = %v, %v, want the aggregate", next, d.Subject, ok)
				}
			}
		})
	}
}

func TestActiveListExpire(t *testing.T) {
	m := newManager(t, nil, Deps{})
	m.Propose(proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 0))
	m.Propose(proposal("2001:db8::7", proxywatch.ActionChallenge, "detect:campaign", time.Minute))
	if d, ok := m.Active(netip.MustParseAddr("::ffff:198.51.100.7"), t0.Add(30*time.Minute)); !ok || d.Action != proxywatch.ActionBan {
		t.Errorf("Active(mapped address) = %v, %v, want its ban", d, ok)
	}
	if _, ok := m.Active(netip.MustParseAddr("198.51.100.7"), t0.Add(4*time.Hour)); ok {
		t.Errorf("Active at expiry: found, want expired")
	}
	if got := m.List(t0.Add(90 * time.Minute)); len(got) != 2 || got[0].Subject != addr("198.51.100.7") {
		t.Errorf("List(t0+90m) = %v, want both, oldest first", got)
	}
	if got := m.List(t0.Add(3 * time.Hour)); len(got) != 1 || got[0].Subject != addr("198.51.100.7") {
		t.Errorf("List(t0+3h) = %v, want the ban only (the challenge lasts 2h)", got)
	}
	// A later event moves event time on and sweeps.
	m.Propose(proposal("203.0.113.1", proxywatch.ActionBan, "detect:bruteforce", 5*time.Hour))
	if st := m.Stats(); st.Expired != 2 {
		t.Errorf("Stats().Expired = %d, want 2 after event time passed both", st.Expired)
	}
}

// fakeStore is a DecisionStore in memory.
type fakeStore struct {
	mu        sync.Mutex
	decisions map[string]proxywatch.Decision
	alerts    map[string]proxywatch.Alert
	writes    int
}

func newFakeStore() *fakeStore {
	return &fakeStore{decisions: map[string]proxywatch.Decision{}, alerts: map[string]proxywatch.Alert{}}
}

func (f *fakeStore) PutDecision(_ context.Context, d proxywatch.Decision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := store.NormalizeDecision(d); err != nil {
		return err
	}
	for id, o := range f.decisions {
		if o.Subject == d.Subject {
			delete(f.decisions, id)
		}
	}
	f.decisions[d.ID] = d
	f.writes++
	return nil
}

func (f *fakeStore) DeleteDecision(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.decisions[id]; !ok {
		return proxywatch.ErrNotFound
	}
	delete(f.decisions, id)
	return nil
}

func (f *fakeStore) Decisions(_ context.Context, t time.Time) ([]proxywatch.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []proxywatch.Decision
	for _, d := range f.decisions {
		if t.IsZero() || (!d.Created.After(t) && t.Before(d.Expires)) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeStore) PruneDecisions(_ context.Context, t time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for id, d := range f.decisions {
		if !t.Before(d.Expires) {
			delete(f.decisions, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeStore) PutAlert(_ context.Context, a proxywatch.Alert) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alerts[a.ID] = a
	return nil
}

func (f *fakeStore) Alerts(context.Context, time.Time, int) ([]proxywatch.Alert, error) {
	return nil, nil
}
func (f *fakeStore) PruneAlerts(context.Context, time.Time) (int, error) { return 0, nil }

func (f *fakeStore) count() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.decisions), len(f.alerts)
}

func TestServe(t *testing.T) {
	st := newFakeStore()
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := newManager(t, func(c *Config) { c.Sweep = time.Second }, Deps{Store: st, Now: clock})
	// Decisions from another process are loaded at start.
	st.PutDecision(context.Background(), proxywatch.Decision{ID: "old", Subject: addr("203.0.113.3"), Action: proxywatch.ActionBan,
		Origin: "manual", Created: t0.Add(-time.Hour), Expires: t0.Add(time.Hour), Count: 2})
	if err := m.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Active(netip.MustParseAddr("203.0.113.3"), time.Time{}); !ok {
		t.Errorf("Active(loaded decision) = not found")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	// Wall time, not the proposal's time, dates a decision in serve.
	got := m.Propose(proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", -48*time.Hour))
	if len(got) != 1 || !got[0].Created.Equal(t0) {
		t.Fatalf("Propose in serve = %v, want one decision created at the wall clock %s", got, t0)
	}
	m.Alert(proxywatch.Alert{ID: "a-1", Detector: "bruteforce", Time: t0})
	waitFor(t, func() bool { d, a := st.count(); return d == 2 && a == 1 })

	man, err := m.Add(context.Background(), proxywatch.Decision{Subject: addr("203.0.113.44")})
	if err != nil || man.Origin != "manual" || man.Expires.Sub(man.Created) != 24*time.Hour {
		t.Fatalf("Add(manual) = %+v, %v, want a manual ban for 24h", man, err)
	}
	if err := m.Delete(context.Background(), man.ID); err != nil {
		t.Errorf("Delete(%s) error %v", man.ID, err)
	}
	if err := m.Delete(context.Background(), "nope"); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("Delete(nope) error = %v, want ErrNotFound", err)
	}
	// Five hours later the sweep removes the expired decisions.
	mu.Lock()
	now = t0.Add(5 * time.Hour)
	mu.Unlock()
	waitFor(t, func() bool { d, _ := st.count(); return d == 0 })
	if _, ok := m.Active(netip.MustParseAddr("198.51.100.7"), time.Time{}); ok {
		t.Errorf("Active after expiry: found")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil after cancel", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	c := DefaultConfig()
	c.MaxLive, c.Sweep, c.TTL.Campaign = 0, 0, 0
	err := c.Validate()
	for _, want := range []string{"max_live", "sweep", "ttl.campaign"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want an error naming %s", err, want)
		}
	}
}

// TestCoveringManyPrefixes checks that a live prefix covers its addresses
// however many prefix decisions there are (the lookup changes strategy).
func TestCoveringManyPrefixes(t *testing.T) {
	m := newManager(t, nil, Deps{})
	for i := 0; i < 100; i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24)
		if _, err := m.Add(context.Background(), proxywatch.Decision{Subject: proxywatch.PrefixSubject(p), Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{{"198.18.42.7", true}, {"198.18.99.255", true}, {"198.18.100.1", false}, {"2001:db8::1", false}} {
		if _, ok := m.Active(netip.MustParseAddr(tc.addr), time.Time{}); ok != tc.want {
			t.Errorf("Active(%s) with 100 prefix decisions = %v, want %v", tc.addr, ok, tc.want)
		}
	}
}

// TestHold checks that with Deps.Hold detected decisions and alerts wait
// for Take, in order, and that Run and Flush do not write them.
func TestHold(t *testing.T) {
	st := newFakeStore()
	m := newManager(t, nil, Deps{Store: st, Now: func() time.Time { return t0 }, Hold: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	m.Alert(proxywatch.Alert{ID: "a-1", Detector: "bruteforce", Time: t0})
	if got := m.Propose(proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 0)); len(got) != 1 {
		t.Fatalf("Propose() = %v, want one decision", got)
	}
	select {
	case <-m.Queued():
	default:
		t.Errorf("Queued() did not signal the held writes")
	}
	m.Flush(context.Background())
	time.Sleep(50 * time.Millisecond)
	if d, a := st.count(); d != 0 || a != 0 {
		t.Errorf("store holds %d decisions and %d alerts before Take, want none", d, a)
	}
	ws := m.Take()
	if len(ws) != 2 || ws[0].Alert == nil || ws[0].Alert.ID != "a-1" || ws[1].Put == nil || ws[1].Put.Subject != addr("198.51.100.7") {
		t.Fatalf("Take() = %+v, want the alert then the decision", ws)
	}
	if again := m.Take(); len(again) != 0 {
		t.Errorf("second Take() = %d writes, want 0", len(again))
	}
	m.Alert(proxywatch.Alert{ID: "a-2", Detector: "bruteforce", Time: t0})
	m.Requeue(ws)
	if ws := m.Take(); len(ws) != 3 || ws[0].Alert.ID != "a-1" || ws[2].Alert.ID != "a-2" {
		t.Errorf("Take() after Requeue = %+v, want a-1, the decision, a-2", ws)
	}
	// An operator's decision is written at once.
	if _, err := m.Add(context.Background(), proxywatch.Decision{Subject: addr("203.0.113.44")}); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.count(); d != 1 {
		t.Errorf("store holds %d decisions after Add, want 1", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}

// TestSync checks that decisions another process adds to or deletes from
// the store reach the live set, and that queued ones are kept.
func TestSync(t *testing.T) {
	st := newFakeStore()
	m := newManager(t, nil, Deps{Store: st, Now: func() time.Time { return t0 }, Hold: true})
	kept := m.Propose(proposal("198.51.100.7", proxywatch.ActionBan, "detect:bruteforce", 0)) // queued, not in the store
	if len(kept) != 1 {
		t.Fatalf("Propose() = %v", kept)
	}
	if _, err := m.Add(context.Background(), proxywatch.Decision{Subject: addr("203.0.113.44")}); err != nil {
		t.Fatal(err)
	}
	other := proxywatch.Decision{ID: "cli-1", Subject: addr("203.0.113.9"), Action: proxywatch.ActionBan, Origin: "manual",
		Created: t0.Add(-time.Minute), Expires: t0.Add(time.Hour)}
	st.PutDecision(context.Background(), other)
	for id := range st.decisions {
		if id != "cli-1" {
			st.DeleteDecision(context.Background(), id) // another process deletes the operator's decision
		}
	}
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		want bool
	}{{"203.0.113.9", true}, {"203.0.113.44", false}, {"198.51.100.7", true}} {
		if _, got := m.Active(netip.MustParseAddr(c.addr), time.Time{}); got != c.want {
			t.Errorf("after Sync Active(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	if !m.Knows(netip.MustParsePrefix("203.0.113.9/32")) {
		t.Errorf("Knows(203.0.113.9/32) = false after Sync")
	}
	m.Forget(netip.MustParsePrefix("203.0.113.9/32"), proxywatch.KindBruteForce) // another kind's mirror: kept
	if _, ok := m.Active(netip.MustParseAddr("203.0.113.9"), time.Time{}); !ok {
		t.Errorf("Active after Forget of another kind: not found")
	}
	m.Forget(netip.MustParsePrefix("203.0.113.9/32"), proxywatch.KindOther)
	if _, ok := m.Active(netip.MustParseAddr("203.0.113.9"), time.Time{}); ok {
		t.Errorf("Active after Forget: found")
	}
}
