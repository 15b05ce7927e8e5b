package verdict

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
)

func mustNew(t testing.TB) *Table {
	t.Helper()
	tab, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New(DefaultConfig()) error: %v", err)
	}
	return tab
}

func ind(subject string, kind proxywatch.Kind, conf uint8, feed string) proxywatch.Indicator {
	s, err := proxywatch.ParseSubject(subject)
	if err != nil {
		panic(err)
	}
	return proxywatch.Indicator{Subject: s, Kind: kind, Confidence: conf, Source: proxywatch.Source{Feed: feed}}
}

// hitSet renders hits as sorted "prefix kind conf feed [allowlisted]"
// strings.
func hitSet(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		s := h.Prefix().String() + " " + h.Kind().String() + " " + h.Feed()
		if h.Allowlisted() {
			s += " allowlisted"
		}
		out = append(out, s)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestLookup(t *testing.T) {
	now := time.Now()
	tab := mustNew(t)
	expired := ind("198.51.100.9", proxywatch.KindOpenProxy, 90, "proxies")
	expired.Expires = now.Add(-time.Minute)
	later := ind("198.51.100.10", proxywatch.KindOpenProxy, 90, "proxies")
	later.Expires = now.Add(time.Hour)
	tab.ReplaceFeed("proxies", []proxywatch.Indicator{
		ind("203.0.113.7", proxywatch.KindOpenProxy, 60, ""), expired, later,
		ind("2001:db8::7", proxywatch.KindOpenProxy, 60, ""),
		ind("proxy.example", proxywatch.KindOpenProxy, 60, ""), // not a prefix: skipped
	})
	tab.ReplaceFeed("c2", []proxywatch.Indicator{
		ind("203.0.113.0/24", proxywatch.KindC2, 90, ""),
		ind("2001:db8::/32", proxywatch.KindScanner, 40, ""),
	})
	tab.ReplaceFeed("firehol_level1", []proxywatch.Indicator{ind("10.0.0.0/8", proxywatch.KindOther, 70, "")})
	tab.Put(ind("203.0.113.0/25", proxywatch.KindBackconnectC2, 80, "local"))
	tab.SetAllowlist([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})

	tests := []struct {
		name string
		addr string
		want []string
	}{
		{"address inside a range gives both", "203.0.113.7", []string{
			"203.0.113.0/24 c2 c2", "203.0.113.0/25 backconnect-c2 local", "203.0.113.7/32 open-proxy proxies"}},
		{"mapped address is unmapped", "::ffff:203.0.113.7", []string{
			"203.0.113.0/24 c2 c2", "203.0.113.0/25 backconnect-c2 local", "203.0.113.7/32 open-proxy proxies"}},
		{"range only", "203.0.113.200", []string{"203.0.113.0/24 c2 c2"}},
		{"unlisted", "192.0.2.1", nil},
		{"expired never matches", "198.51.100.9", nil},
		{"not yet expired", "198.51.100.10", []string{"198.51.100.10/32 open-proxy proxies"}},
		{"allowlisted hits are kept and marked", "10.1.2.3", []string{"10.0.0.0/8 other firehol_level1 allowlisted"}},
		{"ipv6 host in range", "2001:db8::7", []string{"2001:db8::/32 scanner c2", "2001:db8::7/128 open-proxy proxies"}},
		{"ipv6 range only", "2001:db8:1::1", []string{"2001:db8::/32 scanner c2"}},
		{"zoned ipv6", "2001:db8::7%eth0", []string{"2001:db8::/32 scanner c2", "2001:db8::7/128 open-proxy proxies"}},
		{"invalid address", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a netip.Addr
			if tc.addr != "" {
				a = netip.MustParseAddr(tc.addr)
			}
			got := hitSet(tab.Lookup(a, nil))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Lookup(%v) mismatch (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
}

func TestLookupAppends(t *testing.T) {
	tab := mustNew(t)
	tab.Put(ind("192.0.2.1", proxywatch.KindC2, 90, "local"))
	first := tab.Lookup(netip.MustParseAddr("192.0.2.1"), nil)
	got := tab.Lookup(netip.MustParseAddr("192.0.2.1"), first)
	if len(got) != 2 || got[0] != first[0] {
		t.Errorf("Lookup(192.0.2.1, one hit) = %d hits, want the given hit and one more", len(got))
	}
}

func TestPutDelete(t *testing.T) {
	tab := mustNew(t)
	a := netip.MustParseAddr("192.0.2.1")
	base := ind("192.0.2.1", proxywatch.KindC2, 60, "feed")
	tab.ReplaceFeed("feed", []proxywatch.Indicator{base})

	update := base
	update.Confidence = 95
	if !tab.Put(update) {
		t.Fatalf("Put(%v) = false, want true", update.Subject)
	}
	hits := tab.Lookup(a, nil)
	if len(hits) != 1 || hits[0].Confidence() != 95 {
		t.Fatalf("after Put of the same key, Lookup(%v) = %v, want one hit of confidence 95", a, hitSet(hits))
	}
	if tab.Put(ind("AS64496", proxywatch.KindC2, 60, "feed")) {
		t.Errorf("Put(AS64496) = true, want false")
	}
	other := base
	other.Port = 1080
	tab.Put(other)
	if got := len(tab.Lookup(a, nil)); got != 2 {
		t.Errorf("after Put of another port, Lookup(%v) = %d hits, want 2", a, got)
	}
	if !tab.Delete(base.Key()) {
		t.Errorf("Delete(%v) = false, want true", base.Key())
	}
	if tab.Delete(base.Key()) {
		t.Errorf("second Delete(%v) = true, want false", base.Key())
	}
	if st := tab.Stats(); st.Indicators != 1 || st.Pending != 4 {
		t.Errorf("Stats() = %+v, want 1 indicator and 4 pending changes", st)
	}
	tab.Compact()
	if st := tab.Stats(); st.Indicators != 1 || st.Pending != 0 || st.Prefixes != 1 {
		t.Errorf("after Compact, Stats() = %+v, want 1 indicator, 1 prefix, nothing pending", st)
	}
	hits = tab.Lookup(a, nil)
	if len(hits) != 1 || hits[0].Indicator().Port != 1080 {
		t.Errorf("after Compact, Lookup(%v) = %v, want the port 1080 indicator", a, hitSet(hits))
	}
	tab.RemoveFeed("feed")
	if hits := tab.Lookup(a, nil); len(hits) != 0 {
		t.Errorf("after RemoveFeed, Lookup(%v) = %v, want none", a, hitSet(hits))
	}
}

func TestIndicatorRoundTrip(t *testing.T) {
	in := proxywatch.Indicator{
		Subject:    proxywatch.PrefixSubject(netip.MustParsePrefix("2001:db8:40::/48")),
		Kind:       proxywatch.KindBackconnectC2,
		Source:     proxywatch.Source{Feed: "lumen", Section: "Backconnect C2s", Line: 42},
		Confidence: 85,
		Tags:       []string{"5socks", "themoon"},
		Port:       1080,
		Proto:      "socks5",
		Comment:    "seen 2024-03",
		FirstSeen:  time.Date(2024, 3, 1, 10, 0, 0, 123, time.UTC),
		LastSeen:   time.Date(2024, 3, 9, 10, 0, 0, 0, time.FixedZone("x", 3600)),
		Expires:    time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	}
	tab := mustNew(t)
	tab.ReplaceFeed("lumen", []proxywatch.Indicator{in})
	hits := tab.Lookup(netip.MustParseAddr("2001:db8:40::1"), nil)
	if len(hits) != 1 {
		t.Fatalf("Lookup = %d hits, want 1", len(hits))
	}
	got := hits[0].Indicator()
	want := in
	want.LastSeen = want.LastSeen.UTC()
	want.Expires = maxTime.UTC() // clamped
	if diff := cmp.Diff(want, got, cmpNetip); diff != "" {
		t.Errorf("Hit.Indicator() mismatch (-want +got):\n%s", diff)
	}
	got.Tags[0] = "changed"
	if again := hits[0].Indicator(); again.Tags[0] != "5socks" {
		t.Errorf("Indicator().Tags shares storage with the table")
	}
}

func TestLookupAllocs(t *testing.T) {
	tab := mustNew(t)
	tab.ReplaceFeed("a", []proxywatch.Indicator{
		ind("203.0.113.0/24", proxywatch.KindC2, 90, ""), ind("203.0.113.7", proxywatch.KindOpenProxy, 60, ""),
	})
	tab.Put(ind("203.0.113.0/25", proxywatch.KindC2, 90, "local")) // a pending change
	gone := ind("203.0.113.0/24", proxywatch.KindC2, 90, "a")
	tab.Delete(gone.Key())
	tab.SetAllowlist([]netip.Prefix{netip.MustParsePrefix("203.0.113.0/28")})
	dst := make([]Hit, 0, 8)
	for _, s := range []string{"203.0.113.7", "192.0.2.1", "::ffff:203.0.113.7", "2001:db8::1"} {
		a := netip.MustParseAddr(s)
		var n int
		allocs := testing.AllocsPerRun(1000, func() {
			n = len(tab.Lookup(a, dst[:0]))
			s := Summarize(tab.Lookup(a, dst[:0]), 50)
			_ = s
		})
		if allocs != 0 {
			t.Errorf("Lookup(%v) + Summarize allocated %v times per run, want 0", a, allocs)
		}
		t.Logf("Lookup(%v): %d hits", a, n)
	}
}

func TestRunClock(t *testing.T) {
	tab := mustNew(t)
	e := ind("192.0.2.1", proxywatch.KindC2, 90, "local")
	e.Expires = time.Now().Add(time.Second)
	tab.Put(e)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tab.Run(ctx) }()
	a := netip.MustParseAddr("192.0.2.1")
	if n := len(tab.Lookup(a, nil)); n != 1 {
		t.Errorf("before expiry, Lookup = %d hits, want 1", n)
	}
	for !time.Now().After(e.Expires) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(tab.Lookup(a, nil)); n != 0 {
		t.Errorf("after expiry, Lookup = %d hits, want 0", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	if c := tab.clock.Load(); c != 0 {
		t.Errorf("after Run returned, clock = %d, want 0", c)
	}
}

func TestRunCompacts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CompactAfter = 3
	tab, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		tab.Put(ind(s, proxywatch.KindC2, 90, "local"))
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tab.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for tab.Stats().Pending != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if st := tab.Stats(); st.Pending != 0 || st.Prefixes != 3 {
		t.Errorf("Stats() = %+v, want 3 prefixes, none pending", st)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none for valid
	}{
		{"default", func(*Config) {}, nil},
		{"zero confidence", func(c *Config) { c.MinConfidence.DNSBL = 0 }, []string{"min_confidence.dnsbl 0"}},
		{"every problem at once", func(c *Config) {
			c.MinConfidence.Check, c.MinConfidence.Export = 101, 0
			c.CompactAfter, c.CompactInterval = 0, time.Millisecond
		}, []string{"min_confidence.check 101", "min_confidence.export 0", "compact_after 0", "compact_interval 1ms"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if (err != nil) != (len(tc.want) > 0) {
				t.Fatalf("Validate() = %v, want error %v", err, tc.want != nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
			if _, err := New(c); (err != nil) != (len(tc.want) > 0) {
				t.Errorf("New() error = %v, want error %v", err, tc.want != nil)
			}
		})
	}
}
