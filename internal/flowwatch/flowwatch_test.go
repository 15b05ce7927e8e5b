package flowwatch

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
)

var (
	t0      = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	inside  = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	testCfg = func() Config {
		c := DefaultConfig()
		c.Enabled, c.Inside = true, inside
		return c
	}
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// sess builds a TCP session that completed.
func sess(start time.Time, dur time.Duration, orig, resp string, ob, rb uint64) flow.Session {
	return flow.Session{Start: start, Duration: dur, Orig: ap(orig), Resp: ap(resp), Proto: flow.ProtoTCP,
		OrigBytes: ob, RespBytes: rb, OrigPackets: ob/1400 + 3, RespPackets: rb/1400 + 2, State: "SF"}
}

// run feeds sessions, sorted by end as a live source delivers them, and
// returns the findings by detector and role, with the Watch.
func run(t *testing.T, cfg Config, deps Deps, ss []flow.Session) ([]proxywatch.Finding, *Watch) {
	t.Helper()
	slices.SortStableFunc(ss, func(a, b flow.Session) int { return a.End().Compare(b.End()) })
	w, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		w.Process(s)
	}
	w.Flush()
	return w.Findings(), w
}

// claims lists "role subject" of findings, once each, sorted.
func claims(fs []proxywatch.Finding) []string {
	var out []string
	for _, f := range fs {
		c := fmt.Sprintf("%s %s", f.Role, f.Subject.Prefix.Addr())
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
	if err := testCfg().Validate(); err != nil {
		t.Errorf("Validate() with inside prefixes = %v, want nil", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{name: "enabled without inside", edit: func(c *Config) { c.Inside = nil }, want: []string{"inside: at least one prefix"}},
		{name: "window", edit: func(c *Config) { c.Window = time.Minute }, want: []string{"window 1m0s"}},
		{name: "eval", edit: func(c *Config) { c.EvalEvery = time.Second }, want: []string{"eval_every 1s"}},
		{name: "limits", edit: func(c *Config) { c.Limits.Pairs = 1 }, want: []string{"limits.pairs 1"}},
		{name: "shares", edit: func(c *Config) { c.Relay.MinShare, c.Beacon.Strong = 2, -1 },
			want: []string{"relay.min_share 2", "beacon.strong -1"}},
		{name: "relay delay", edit: func(c *Config) { c.Relay.MaxDelay = time.Hour }, want: []string{"relay.max_delay 1h0m0s"}},
		{name: "promote ttl", edit: func(c *Config) { c.Promote.TTL = 0 }, want: []string{"promote.ttl 0s"}},
		{name: "every problem at once", edit: func(c *Config) { c.Lateness, c.C2.MinClients = -1, 0 },
			want: []string{"lateness -1ns", "c2.min_clients 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testCfg()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Errorf("New() accepted an invalid config")
			}
		})
	}
}

func TestLateSessionsDropped(t *testing.T) {
	cfg := testCfg()
	cfg.Lateness = time.Minute
	w, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	h := t0.Add(time.Hour)
	w.Process(sess(h, time.Second, "192.0.2.1:40000", "198.51.100.1:443", 100, 100))
	w.Process(sess(h.Add(-30*time.Second), time.Second, "192.0.2.1:40001", "198.51.100.1:443", 100, 100))
	w.Process(sess(h.Add(-10*time.Minute), time.Second, "192.0.2.1:40002", "198.51.100.1:443", 100, 100))
	w.Process(sess(h, time.Second, "198.51.100.1:40002", "198.51.100.2:443", 100, 100))
	if st := w.Stats(); st.Late != 1 || st.Sessions != 3 || st.External != 1 {
		t.Errorf("Stats() = %+v, want 1 late, 3 processed, 1 external", st)
	}
	// A second source that is behind holds the watermark back.
	w.ProcessFrom("zeek", sess(h.Add(10*time.Second), time.Second, "192.0.2.1:40003", "198.51.100.1:443", 100, 100))
	w.Process(sess(h.Add(5*time.Minute), time.Second, "192.0.2.1:40004", "198.51.100.1:443", 100, 100))
	w.ProcessFrom("zeek", sess(h.Add(-20*time.Second), time.Second, "192.0.2.1:40005", "198.51.100.1:443", 100, 100))
	if st := w.Stats(); st.Late != 1 || st.Sessions != 6 {
		t.Errorf("Stats() = %+v after a second source, want still 1 late, 6 processed", st)
	}
	w.Advance(h.Add(time.Hour))
	w.ProcessFrom("zeek", sess(h.Add(20*time.Minute), time.Second, "192.0.2.1:40006", "198.51.100.1:443", 100, 100))
	if st := w.Stats(); st.Late != 2 {
		t.Errorf("Stats().Late = %d after Advance, want 2", st.Late)
	}
}

// relaySessions has host relay n outside clients' sessions in lockstep,
// with the SOCKS handshake on the inbound leg.
func relaySessions(host string, port uint16, n int, start time.Time) []flow.Session {
	var ss []flow.Session
	for i := range n {
		at := start.Add(time.Duration(i) * 17 * time.Minute)
		ob, rb := uint64(800+37*i), uint64(20000+911*i)
		client := fmt.Sprintf("198.51.100.%d:%d", 10+i%50, 40000+i)
		out := sess(at.Add(150*time.Millisecond), 3*time.Second, fmt.Sprintf("%s:%d", host, 50000+i),
			fmt.Sprintf("203.0.113.%d:443", 100+i%20), ob, rb)
		in := sess(at, 3*time.Second+170*time.Millisecond, client, fmt.Sprintf("%s:%d", host, port), ob+13, rb+12)
		in.Service = "socks"
		ss = append(ss, in, out)
	}
	return ss
}

func TestRelay(t *testing.T) {
	var ss []flow.Session
	ss = append(ss, relaySessions("192.0.2.10", 31337, 12, t0)...)
	// A home server answers many clients on 8080 and browses on its own.
	for i := range 200 {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		ss = append(ss, sess(at, 2*time.Second, fmt.Sprintf("198.51.100.%d:%d", i%250, 41000+i), "192.0.2.20:8080", 700, 25000))
		if i%3 == 0 {
			ss = append(ss, sess(at.Add(40*time.Second), 3*time.Second, fmt.Sprintf("192.0.2.20:%d", 50000+i), "203.0.113.5:443", 900, 30000))
		}
	}
	fs, w := run(t, testCfg(), Deps{}, ss)
	if last := fs[len(fs)-1]; last.Counts["matched"] != 11 {
		t.Errorf("last relay finding counts %v, want 11 matched", last.Counts)
	}
	want := []string{"exposed-proxy 192.0.2.10", "relay 192.0.2.10"}
	if diff := cmp.Diff(want, claims(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range fs {
		// The first relay's outbound leg ends before the host is known to
		// serve outside clients: it cannot be matched.
		if f.Role == proxywatch.RoleRelay && (f.Counts["matched"] < 3 || !f.Inside || f.Ports[0] != 31337) {
			t.Errorf("relay finding = %+v, want matched relays on port 31337, inside", f)
		}
	}
	if len(w.Indicators()) != 0 {
		t.Errorf("inside hosts were promoted to indicators")
	}
	rep := w.Report()
	if len(rep) != 1 || rep[0].Host != netip.MustParseAddr("192.0.2.10") || len(rep[0].Roles) != 2 {
		t.Errorf("Report() = %+v, want one row for 192.0.2.10 with two roles", rep)
	}
}

// beaconTimes returns when device d of a test botnet beacons: every five
// minutes for a day, with a few seconds of jitter.
func beaconTimes(d int) []time.Time {
	ts := make([]time.Time, 288)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i)*5*time.Minute + time.Duration(d*7+i%5)*time.Second)
	}
	return ts
}

// beacon returns device host's i-th beacon, at, to its C2.
func beacon(host, c2 string, i int, at time.Time) flow.Session {
	return sess(at, 700*time.Millisecond, fmt.Sprintf("%s:%d", host, 33000+i), c2, 180, 110)
}

func TestCollectorAndC2(t *testing.T) {
	var ss []flow.Session
	// 24 devices: each beacons to one of four C2s every five minutes
	// (pinned), and reports to a silent UDP collector every half hour.
	for d := range 24 {
		host := fmt.Sprintf("192.0.2.%d", 100+d)
		c2 := fmt.Sprintf("203.0.113.%d:28432", 16+d%4)
		for i, at := range beaconTimes(d) {
			ss = append(ss, beacon(host, c2, i, at))
			if i%6 == 0 {
				ss = append(ss, flow.Session{Start: at.Add(time.Minute), Orig: ap(fmt.Sprintf("%s:%d", host, 44000+i)),
					Resp: ap("203.0.113.20:41414"), Proto: flow.ProtoUDP, OrigPackets: 1, OrigBytes: 80, State: "S0"})
			}
		}
		// An NTP server answers the same devices: not a collector.
		for i := range 12 {
			at := t0.Add(time.Duration(i)*2*time.Hour + time.Duration(d)*time.Minute)
			ss = append(ss, flow.Session{Start: at, Duration: 30 * time.Millisecond, Orig: ap(host + ":123"),
				Resp: ap("198.51.100.123:123"), Proto: flow.ProtoUDP, OrigPackets: 1, RespPackets: 1, OrigBytes: 48, RespBytes: 48, State: "SF"})
		}
	}
	fs, w := run(t, testCfg(), Deps{}, ss)
	got := claims(fs)
	for _, want := range []string{"c2 203.0.113.16", "c2 203.0.113.17", "c2 203.0.113.18", "c2 203.0.113.19",
		"collector 203.0.113.20", "bot 192.0.2.100", "bot 192.0.2.123"} {
		if !slices.Contains(got, want) {
			t.Errorf("findings %v: missing %q", got, want)
		}
	}
	for _, c := range got {
		if strings.Contains(c, "198.51.100.123") {
			t.Errorf("finding %q: the NTP server answers", c)
		}
	}
	kinds := map[string]string{}
	for _, ind := range w.Indicators() {
		kinds[ind.Subject.String()] = ind.Kind.String()
		if ind.Source.Feed != Feed || ind.Expires.IsZero() || ind.Port == 0 {
			t.Errorf("indicator %+v: want feed %q, an expiry and a port", ind, Feed)
		}
	}
	if kinds["203.0.113.20/32"] != "collector" {
		t.Errorf("indicators %v: want the collector promoted", kinds)
	}
	for a, k := range kinds {
		if strings.HasPrefix(a, "192.0.2.") {
			t.Errorf("inside host %s promoted as %s", a, k)
		}
	}
}

func TestSingleHostFailingC2(t *testing.T) {
	var ss []flow.Session
	for i := range 8 * 360 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		s := flow.Session{Start: at, Duration: 3 * time.Second, Orig: ap(fmt.Sprintf("192.0.2.195:%d", 40000+i%20000)),
			Resp: ap("203.0.113.235:6667"), Proto: flow.ProtoTCP, OrigPackets: 3, State: "S0"}
		ss = append(ss, s)
	}
	// A monitoring agent reaches its server every minute: no finding.
	for i := range 8 * 60 {
		ss = append(ss, sess(t0.Add(time.Duration(i)*time.Minute), 400*time.Millisecond,
			fmt.Sprintf("192.0.2.50:%d", 40000+i), "198.51.100.2:8086", 900, 1400))
	}
	fs, w := run(t, testCfg(), Deps{}, ss)
	if diff := cmp.Diff([]string{"bot 192.0.2.195", "c2 203.0.113.235"}, claims(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if ind := w.Indicators(); len(ind) != 0 {
		t.Errorf("Indicators() = %v: a single host's view is not promoted by default", ind)
	}
}

func TestBackconnect(t *testing.T) {
	var ss []flow.Session
	for b := range 2 {
		host := fmt.Sprintf("192.0.2.%d", 60+b)
		var up, down uint64
		for i := range 30 {
			at := t0.Add(time.Duration(i)*3*time.Minute + 10*time.Second)
			ob, rb := uint64(900+i), uint64(40000+1000*i)
			ss = append(ss, sess(at, 4*time.Second, fmt.Sprintf("%s:%d", host, 50000+i), fmt.Sprintf("198.51.100.%d:443", 20+i), ob, rb))
			up += rb + 40
			down += ob + 40
		}
		tunnel := sess(t0, 95*time.Minute, host+":45000", "203.0.113.64:443", up, down)
		ss = append(ss, tunnel)
	}
	// A VPN client's tunnel downloads far more than it uploads.
	ss = append(ss, flow.Session{Start: t0, Duration: 3 * time.Hour, Orig: ap("192.0.2.70:45000"), Resp: ap("198.51.100.10:51820"),
		Proto: flow.ProtoUDP, OrigBytes: 2e5, RespBytes: 5e6, OrigPackets: 400, RespPackets: 4000, State: "SF"})
	fs, _ := run(t, testCfg(), Deps{}, ss)
	want := []string{"backconnect-bot 192.0.2.60", "backconnect-bot 192.0.2.61", "backconnect-c2 203.0.113.64"}
	if diff := cmp.Diff(want, claims(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// The same two tunnels to a server that six other inside hosts use
	// in the ordinary way: its bots are a quarter of its inside clients,
	// so the bots are reported and the server is not, unless
	// min_bot_share allows a quarter.
	for i := range 6 {
		for j := range 4 {
			at := t0.Add(time.Duration(10*i+j) * time.Minute)
			ss = append(ss, sess(at, 20*time.Second, fmt.Sprintf("192.0.2.%d:%d", 80+i, 40000+j), "203.0.113.64:443", 2000, 60000))
		}
	}
	for _, tt := range []struct {
		name  string
		share float64
		want  []string
	}{
		{name: "shared server", share: 0.5, want: []string{"backconnect-bot 192.0.2.60", "backconnect-bot 192.0.2.61"}},
		{name: "share allowed", share: 0.2, want: []string{"backconnect-bot 192.0.2.60", "backconnect-bot 192.0.2.61", "backconnect-c2 203.0.113.64"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCfg()
			cfg.Backconnect.MinBotShare = tt.share
			fs, _ := run(t, cfg, Deps{}, slices.Clone(ss))
			var got []string
			for _, c := range claims(fs) {
				if strings.HasPrefix(c, "backconnect") {
					got = append(got, c)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("min_bot_share %g: backconnect findings (-want +got):\n%s", tt.share, diff)
			}
		})
	}
}

func TestListedContact(t *testing.T) {
	listed := netip.MustParseAddr("203.0.113.99")
	deps := Deps{Listed: func(a netip.Addr) (Listing, bool) {
		if a == listed {
			return Listing{Kind: proxywatch.KindC2, Confidence: 90, Feed: "blf"}, true
		}
		return Listing{}, false
	}}
	ss := []flow.Session{
		sess(t0, time.Second, "192.0.2.5:40000", "203.0.113.99:443", 100, 100),
		sess(t0.Add(time.Minute), time.Second, "192.0.2.5:40001", "203.0.113.99:443", 100, 100),
		sess(t0.Add(2*time.Minute), time.Second, "203.0.113.99:40001", "192.0.2.6:22", 100, 100),
		sess(t0.Add(3*time.Minute), time.Second, "192.0.2.7:40001", "203.0.113.98:443", 100, 100),
	}
	fs, _ := run(t, testCfg(), deps, ss)
	if diff := cmp.Diff([]string{"listed-contact 192.0.2.5", "listed-contact 192.0.2.6"}, claims(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if len(fs) != 2 {
		t.Errorf("got %d findings, want one per inside host and listed address in the window", len(fs))
	}
}

func TestLimitsBound(t *testing.T) {
	cfg := testCfg()
	cfg.Inside = []netip.Prefix{insideNet}
	cfg.Limits = Limits{Pairs: 64, Endpoints: 64, Hosts: 64, Relays: 16, Findings: 16}
	w, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g := newSynth(100_000, 5_000, 50_000)
	var s flow.Session
	for range 50_000 {
		g.next(&s)
		w.Process(s)
	}
	w.Flush()
	for name, n := range map[string][2]int{"pairs": {w.pairs.len(), 64}, "endpoints": {w.eps.len(), 64},
		"hosts": {w.hosts.len(), 64}, "relays": {w.relays.len(), 16}, "found": {w.found.len(), 16}} {
		if n[0] > n[1] {
			t.Errorf("%s holds %d entries, limit %d", name, n[0], n[1])
		}
	}
	if w.Stats().Evictions == 0 {
		t.Errorf("Stats().Evictions = 0, want evictions once the limits are reached")
	}
}

func TestRunAndAnalyze(t *testing.T) {
	ss := relaySessions("192.0.2.10", 31337, 12, t0)
	slices.SortStableFunc(ss, func(a, b flow.Session) int { return a.End().Compare(b.End()) })
	var got []proxywatch.Finding
	w, err := New(testCfg(), Deps{OnFinding: func(f proxywatch.Finding) { got = append(got, f) }})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan flow.Session)
	done := make(chan error)
	go func() { done <- w.Run(context.Background(), in) }()
	for _, s := range ss {
		in <- s
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v, want nil when the input closes", err)
	}
	if len(w.Findings()) != 0 {
		t.Errorf("Findings() returned findings OnFinding took")
	}
	wb, err := New(testCfg(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	batches := make(chan []flow.Session, 2)
	batches <- ss[:len(ss)/2]
	batches <- ss[len(ss)/2:]
	close(batches)
	if err := wb.RunBatches(t.Context(), batches, nil); err != nil {
		t.Fatalf("RunBatches() = %v", err)
	}
	if diff := cmp.Diff(claims(got), claims(wb.Findings())); diff != "" {
		t.Errorf("Run and RunBatches disagree (-run +batches):\n%s", diff)
	}
	res, err := Analyze(t.Context(), testCfg(), Deps{}, slices.Values(ss))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(claims(got), claims(res.Findings)); diff != "" || len(got) == 0 {
		t.Errorf("Run and Analyze disagree (-run +analyze):\n%s", diff)
	}
	if res.Stats.Sessions != int64(len(ss)) || len(res.Report) != 1 {
		t.Errorf("Analyze() stats %+v, report %d rows; want %d sessions, one row", res.Stats, len(res.Report), len(ss))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Analyze(ctx, testCfg(), Deps{}, func(yield func(flow.Session) bool) {
		for range 10000 {
			if !yield(ss[0]) {
				return
			}
		}
	}); err == nil {
		t.Errorf("Analyze() with a cancelled context = nil error")
	}
}

// TestProxyBots: 24 devices beacon to four C2s, six each; 16 of them
// (four of each C2's six) relay in lockstep. Under sampling the other
// eight are taken for relays too, as clients of C2s most of whose clients
// relay; when every session is seen, they are not.
func TestProxyBots(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sampled bool
		want    int // devices reported as client-of-proxy-c2 relays
	}{
		{name: "sampled", sampled: true, want: 8},
		{name: "every session", sampled: false, want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ss []flow.Session
			for d := range 24 {
				host := fmt.Sprintf("192.0.2.%d", 100+d)
				c2 := fmt.Sprintf("203.0.113.%d:28432", 16+d%4)
				for i, at := range beaconTimes(d) {
					s := beacon(host, c2, i, at)
					s.Sampled = tt.sampled
					ss = append(ss, s)
				}
				if d < 16 {
					ss = append(ss, relaySessions(host, 31337, 12, t0.Add(time.Duration(d)*time.Minute))...)
				}
			}
			fs, _ := run(t, testCfg(), Deps{}, ss)
			inferred := map[netip.Addr]bool{}
			for _, f := range fs {
				if f.Role == proxywatch.RoleRelay && slices.Contains(f.Reasons, "client-of-proxy-c2") {
					a := f.Subject.Prefix.Addr()
					if d := int(a.As4()[3]) - 100; d < 16 {
						t.Errorf("%s relays in lockstep, yet is reported by inference: %s", a, f.Summary)
					}
					inferred[a] = true
				}
			}
			if len(inferred) != tt.want {
				t.Errorf("%d devices reported as relays by inference, want %d: %v", len(inferred), tt.want, inferred)
			}
		})
	}
}
