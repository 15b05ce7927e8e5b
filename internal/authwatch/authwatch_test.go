package authwatch

import (
	"context"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"lateness", func(c *Config) { c.Lateness = 2 * time.Hour }, "lateness"},
		{"caps", func(c *Config) { c.MaxSources = 0 }, "max_sources"},
		{"services", func(c *Config) { c.MaxServices = 40 }, "max_services"},
		{"tier", func(c *Config) { c.BruteForce.Tiers = []Tier{{time.Minute, 17}} }, "brute_force.tiers[0]"},
		{"invalid users", func(c *Config) { c.BruteForce.InvalidUsers = 9 }, "brute_force.invalid_users"},
		{"account", func(c *Config) { c.Account.Sources = 20 }, "account.sources"},
		{"window multiple", func(c *Config) { c.Campaign.Window = 25 * time.Minute }, "campaign.window"},
		{"history", func(c *Config) { c.Campaign.History = time.Hour }, "campaign.history"},
		{"quantile", func(c *Config) { c.Campaign.Quantile = 0 }, "campaign.quantile"},
		{"assess", func(c *Config) { c.Assess.ChallengeAt = 90 }, "assess"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Errorf("New() with an invalid config: nil error")
			}
		})
	}
}

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func ev(at time.Duration, svc, addr string, typ proxywatch.EventType, user string) proxywatch.Event {
	return proxywatch.Event{Time: t0.Add(at), Service: svc, Addr: netip.MustParseAddr(addr), Port: uint16(10000 + at/time.Second%50000),
		Type: typ, User: user, Method: "password", Source: "test"}
}

func TestAssess(t *testing.T) {
	banned := netip.MustParseAddr("192.0.2.66")
	deps := Deps{
		Out: &discard{},
		Decided: func(a netip.Addr) (proxywatch.Decision, bool) {
			return proxywatch.Decision{Action: proxywatch.ActionBan}, a == banned
		},
		Listed: func(a netip.Addr) (Listing, bool) {
			return Listing{Kind: proxywatch.KindResidentialProxy, Confidence: 90, Feed: "x"}, a == netip.MustParseAddr("192.0.2.90")
		},
	}
	w, err := New(DefaultConfig(), deps)
	if err != nil {
		t.Fatal(err)
	}
	var evs []proxywatch.Event
	evs = append(evs, ev(0, "web", "203.0.113.5", proxywatch.EventLoginSuccess, "anna"))
	for i := 0; i < 6; i++ { // a brute forcer
		evs = append(evs, ev(time.Hour+time.Duration(i)*20*time.Second, "ssh", "198.51.100.66", proxywatch.EventLoginFailure, "root"))
	}
	for i := 0; i < 8; i++ { // a campaign, a day later
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}).String()
		evs = append(evs, ev(24*time.Hour+time.Duration(i)*5*time.Minute, "web", a, proxywatch.EventInvalidUser, "u"+a))
	}
	evs = append(evs, ev(24*time.Hour+50*time.Minute, "web", "203.0.113.5", proxywatch.EventLoginSuccess, "anna"))
	for _, e := range evs {
		w.Process(e)
	}
	if st := w.Stats(); st.Campaigns != 1 {
		t.Fatalf("setup: %d campaigns, want 1 open", st.Campaigns)
	}
	tests := []struct {
		ip      string
		user    string
		outcome Outcome
		action  Action
		reason  string // one of the reasons given; "" for none at all
	}{
		{"192.0.2.66", "", OutcomeUnknown, Deny, "decision:ban"},
		{"198.51.100.66", "root", OutcomeUnknown, Deny, "brute-force"},
		{"198.51.100.12", "x", OutcomeUnknown, Challenge, "campaign-participant"},
		{"192.0.2.90", "", OutcomeUnknown, Deny, "listed:residential-proxy"}, // 72 for the listing, 30 for a new source in a campaign
		{"192.0.2.200", "anna", OutcomeFailure, Challenge, "campaign-active:web"},
		{"192.0.2.200", "anna", OutcomeUnknown, Allow, "campaign-active:web"},
		{"203.0.113.5", "anna", OutcomeUnknown, Allow, "known-source"},
		{"::ffff:203.0.113.5", "anna", OutcomeSuccess, Allow, "known-source"},
	}
	for _, tc := range tests {
		a := w.Assess(netip.MustParseAddr(tc.ip), tc.user, tc.outcome)
		if a.Action != tc.action || (tc.reason != "" && !slices.Contains(a.Reasons, tc.reason)) || a.Score < 0 || a.Score > 100 {
			t.Errorf("Assess(%s, %q, %s) = %+v, want %s with reason %q", tc.ip, tc.user, tc.outcome, a, tc.action, tc.reason)
		}
	}
	if a := w.Assess(netip.Addr{}, "", OutcomeUnknown); a.Action != Allow {
		t.Errorf("Assess(invalid address) = %+v, want allow", a)
	}
}

func TestParseOutcome(t *testing.T) {
	for _, s := range []string{"", "unknown", "failure", "success"} {
		o, err := ParseOutcome(s)
		if err != nil || (s != "" && o.String() != s) {
			t.Errorf("ParseOutcome(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := ParseOutcome("maybe"); err == nil {
		t.Errorf("ParseOutcome(maybe) error = nil, want ErrInvalid")
	}
}

// TestScanMerges checks that Scan merges sources by time: the same events
// split over two sources give the same alerts and decisions as one source.
func TestScanMerges(t *testing.T) {
	var all []proxywatch.Event
	for i := 0; i < 12; i++ {
		typ := proxywatch.EventLoginFailure
		all = append(all, ev(time.Duration(i)*30*time.Second, "ssh", "198.51.100.7", typ, "root"))
		all = append(all, ev(time.Duration(i)*31*time.Second, "web", "198.51.100.8", typ, "admin"))
	}
	slices.SortStableFunc(all, func(a, b proxywatch.Event) int { return a.Time.Compare(b.Time) })
	seq := func(evs []proxywatch.Event) iter.Seq[proxywatch.Event] { return slices.Values(evs) }
	var ssh, web []proxywatch.Event
	for _, e := range all {
		if e.Service == "ssh" {
			ssh = append(ssh, e)
		} else {
			web = append(web, e)
		}
	}
	one, err := Scan(context.Background(), DefaultConfig(), Deps{}, seq(all))
	if err != nil {
		t.Fatal(err)
	}
	two, err := Scan(context.Background(), DefaultConfig(), Deps{}, seq(web), seq(ssh))
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Alerts) != 2 || len(one.Decisions) != 2 {
		t.Errorf("Scan(one source) = %d alerts, %d decisions, want 2, 2", len(one.Alerts), len(one.Decisions))
	}
	if diff := cmp.Diff(one.Decisions, two.Decisions, cmp.Comparer(func(a, b proxywatch.Subject) bool { return a == b })); diff != "" {
		t.Errorf("Scan(two sources) decisions differ from one source (-one +two):\n%s", diff)
	}
	if two.Stats.Late != 0 {
		t.Errorf("Scan(two sources) counted %d late events, want 0", two.Stats.Late)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, DefaultConfig(), Deps{}, seq(all)); err == nil {
		t.Errorf("Scan(cancelled context) error = nil")
	}
}

// TestBounded feeds many distinct sources and accounts through small caps
// and checks no structure outgrows its cap.
func TestBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSources, cfg.MaxUsers, cfg.Campaign.MaxMembers, cfg.Campaign.MaxPrefixes = 500, 50, 100, 20
	cfg.Campaign.MaxPending, cfg.Campaign.MaxCandidates, cfg.MaxBuffered = 64, 64, 32
	w, err := New(cfg, Deps{Out: &discard{}})
	if err != nil {
		t.Fatal(err)
	}
	n := 20000
	if testing.Short() || raceEnabled {
		n = 5000
	}
	warmUp(w, t0)
	for i := 0; i < n; i++ {
		e := floodEvent(t0.Add(warm), i)
		e.User = "user" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		w.Process(e)
	}
	w.Flush()
	st := w.Stats()
	if w.ips.Len() > cfg.MaxSources || w.users.Len() > cfg.MaxUsers || w.pending.size > cfg.Campaign.MaxPending ||
		w.clock.q.len() > cfg.MaxBuffered || len(w.svcs) > cfg.MaxServices {
		t.Errorf("sizes ips %d users %d pending %d buffered %d services %d exceed the caps", w.ips.Len(), w.users.Len(), w.pending.size, w.clock.q.len(), len(w.svcs))
	}
	for _, s := range w.svcs {
		if len(s.cands.buf) > cfg.Campaign.MaxCandidates {
			t.Errorf("service %s keeps %d candidates, cap %d", s.name, len(s.cands.buf), cfg.Campaign.MaxCandidates)
		}
	}
	if st.SourcesEvict == 0 || st.UsersEvict == 0 || st.MembersFolded == 0 || st.PendingForced == 0 || st.Forced == 0 {
		t.Errorf("stats %+v: want evictions of sources, users and members, and forced releases", st)
	}
	if st.Participants < uint64(n)/2 {
		t.Errorf("%d participants of %d sources, want most identified however full the tables", st.Participants, n)
	}
	if est := cfg.MemoryEstimate(); est <= 0 || est > DefaultConfig().MemoryEstimate() {
		t.Errorf("MemoryEstimate() = %d with small caps, want positive and below the default's", est)
	}
}

// warm is how long warmUp's history lasts: the campaign baseline's
// MinHistory and the Lookback it leaves out, and an hour more.
const warm = 13 * time.Hour

// warmUp gives w a quiet history from t0 on, so that the campaign baseline
// is trusted from t0+warm.
func warmUp(w *Watch, t0 time.Time) {
	for h := 0; h < int(warm/time.Hour); h++ {
		for _, svc := range []string{"ssh", "web"} {
			w.Process(proxywatch.Event{Time: t0.Add(time.Duration(h) * time.Hour), Type: proxywatch.EventLoginSuccess, Service: svc,
				Addr: netip.MustParseAddr("192.0.2.1"), User: "anna", Method: "publickey"})
		}
	}
}

// FuzzProcess feeds arbitrary events: nothing panics and the tables stay
// within their caps.
func FuzzProcess(f *testing.F) {
	f.Add(int64(0), uint8(1), []byte{198, 51, 100, 7}, uint16(22), "root", "password", "ssh")
	f.Add(int64(-1<<40), uint8(3), []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(0), "", "", "")
	f.Add(int64(1<<50), uint8(9), []byte{}, uint16(65535), "ü\x00", "form", "web")
	f.Fuzz(func(t *testing.T, offset int64, typ uint8, addr []byte, port uint16, user, method, svc string) {
		cfg := DefaultConfig()
		cfg.MaxSources, cfg.MaxServices = 64, 2
		w, err := New(cfg, Deps{Out: &discard{}})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := netip.AddrFromSlice(addr)
		for i := 0; i < 50; i++ {
			e := proxywatch.Event{Time: t0.Add(time.Duration(offset) + time.Duration(i)*time.Second), Type: proxywatch.EventType(typ % 6),
				Service: svc, Addr: a, Port: port, User: user, Method: method}
			if i%7 == 3 {
				e.Type = proxywatch.EventLoginSuccess
			}
			w.Process(e)
			w.Assess(a, user, OutcomeFailure)
		}
		w.Flush()
		if w.ips.Len() > cfg.MaxSources || len(w.svcs) > cfg.MaxServices {
			t.Errorf("tables past their caps: %d sources, %d services", w.ips.Len(), len(w.svcs))
		}
	})
}
