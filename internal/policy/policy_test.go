package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

func addr(s string) proxywatch.Subject { return proxywatch.AddrSubject(netip.MustParseAddr(s)) }
func pfx(s string) proxywatch.Subject  { return proxywatch.PrefixSubject(netip.MustParsePrefix(s)) }

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v, want nil", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"short ttl", func(c *Config) { c.TTL.Campaign = 0 }, "ttl.campaign"},
		{"factor", func(c *Config) { c.Escalation.Factor = 0.5 }, "escalation.factor"},
		{"max below default", func(c *Config) { c.Escalation.Max = time.Minute }, "escalation.max"},
		{"prefix wider than bound", func(c *Config) { c.Aggregate.Prefix4 = 16 }, "aggregate.prefix4"},
		{"prefix6 wider than bound", func(c *Config) { c.Aggregate.Prefix6 = 32 }, "aggregate.prefix6"},
		{"min", func(c *Config) { c.Aggregate.Min4 = 1 }, "aggregate.min4"},
		{"bound", func(c *Config) { c.Aggregate.Widest4 = 4 }, "aggregate.widest4"},
		{"cgnat host bits", func(c *Config) { c.CGNAT = []netip.Prefix{netip.MustParsePrefix("198.18.128.1/20")} }, "cgnat[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestClassAndLifetime(t *testing.T) {
	c := DefaultConfig()
	tests := []struct {
		name  string
		d     proxywatch.Decision
		class Class
		count int
		want  time.Duration
	}{
		{"brute force", proxywatch.Decision{Subject: addr("198.51.100.66"), Origin: "detect:bruteforce", Kind: proxywatch.KindBruteForce}, ClassBruteForce, 1, 4 * time.Hour},
		{"brute force again", proxywatch.Decision{Subject: addr("198.51.100.66"), Origin: "detect:bruteforce"}, ClassBruteForce, 2, 16 * time.Hour},
		{"brute force capped", proxywatch.Decision{Subject: addr("198.51.100.66"), Origin: "detect:bruteforce"}, ClassBruteForce, 10, 7 * 24 * time.Hour},
		{"campaign", proxywatch.Decision{Subject: addr("198.51.100.7"), Origin: "detect:campaign"}, ClassCampaign, 1, 2 * time.Hour},
		{"residential beats origin", proxywatch.Decision{Subject: addr("198.51.100.7"), Origin: "detect:bruteforce", Kind: proxywatch.KindResidentialProxy}, ClassResidential, 1, time.Hour},
		{"listed", proxywatch.Decision{Subject: addr("203.0.113.9"), Origin: "detect:listed_login"}, ClassListed, 1, 2 * time.Hour},
		{"manual", proxywatch.Decision{Subject: addr("203.0.113.9"), Origin: "manual", Kind: proxywatch.KindResidentialProxy}, ClassManual, 1, 24 * time.Hour},
		{"aggregated", proxywatch.Decision{Subject: pfx("203.0.113.0/24"), Origin: "detect:campaign"}, ClassAggregated, 1, time.Hour},
		{"other", proxywatch.Decision{Subject: addr("203.0.113.9"), Origin: "detect:new_thing"}, ClassDefault, 1, 4 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassOf(tc.d); got != tc.class {
				t.Errorf("ClassOf(%+v) = %d, want %d", tc.d, got, tc.class)
			}
			if got := c.Lifetime(tc.class, tc.count); got != tc.want {
				t.Errorf("Lifetime(%d, %d) = %s, want %s", tc.class, tc.count, got, tc.want)
			}
		})
	}
}

func TestShapeEscalatesAction(t *testing.T) {
	c := DefaultConfig()
	t0 := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	for count, want := range map[int]proxywatch.Action{0: proxywatch.ActionChallenge, 2: proxywatch.ActionChallenge, 3: proxywatch.ActionBan} {
		d := c.Shape(proxywatch.Decision{Subject: addr("198.51.100.7"), Origin: "detect:campaign", Action: proxywatch.ActionChallenge, Created: t0, Count: count})
		if d.Action != want || d.Count != max(count, 1) || !d.Expires.After(t0) {
			t.Errorf("Shape(count %d) = %s count %d expires %s, want %s count %d, later than created", count, d.Action, d.Count, d.Expires, want, max(count, 1))
		}
	}
}

func TestAggregateOf(t *testing.T) {
	c := DefaultConfig()
	c.CGNAT = []netip.Prefix{netip.MustParsePrefix("198.18.128.0/20")}
	tests := []struct {
		addr string
		want string // "" when it must not aggregate
		min  int
	}{
		{"198.51.100.7", "198.51.100.0/24", 16},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", 4},
		{"::ffff:198.51.100.7", "198.51.100.0/24", 16},
		{"100.64.3.4", "", 0},   // RFC 6598, always
		{"198.18.130.9", "", 0}, // configured carrier range
		{"198.18.127.9", "198.18.127.0/24", 16},
	}
	for _, tc := range tests {
		p, n, ok := c.AggregateOf(netip.MustParseAddr(tc.addr))
		if tc.want == "" {
			if ok {
				t.Errorf("AggregateOf(%s) = %s, want no aggregation", tc.addr, p)
			}
			continue
		}
		if !ok || p.String() != tc.want || n != tc.min {
			t.Errorf("AggregateOf(%s) = %s, %d, %v, want %s, %d, true", tc.addr, p, n, ok, tc.want, tc.min)
		}
	}
	c.Aggregate.Enabled = false
	if _, _, ok := c.AggregateOf(netip.MustParseAddr("198.51.100.7")); ok {
		t.Errorf("AggregateOf with aggregation off: ok, want not")
	}
}

func TestCheckSubject(t *testing.T) {
	c := DefaultConfig()
	tests := []struct {
		s    proxywatch.Subject
		good bool
	}{
		{addr("198.51.100.7"), true},
		{addr("100.64.0.1"), true}, // a single shared address may be decided
		{pfx("198.51.100.0/24"), true},
		{pfx("198.51.0.0/16"), false},
		{pfx("100.64.0.0/24"), false},
		{pfx("2001:db8::/48"), true},
		{pfx("2001:db8::/32"), false},
		{proxywatch.DomainSubject("example.org"), false},
		{proxywatch.ASNSubject(64496), false},
	}
	for _, tc := range tests {
		err := c.CheckSubject(tc.s)
		if (err == nil) != tc.good || (err != nil && !errors.Is(err, proxywatch.ErrInvalid)) {
			t.Errorf("CheckSubject(%s) = %v, want ok %v (or ErrInvalid)", tc.s, err, tc.good)
		}
	}
}

func TestAllowlist(t *testing.T) {
	l := NewAllowlist([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("2001:db8:5::/48"), {}})
	tests := []struct {
		s    proxywatch.Subject
		want bool
	}{
		{addr("192.0.2.5"), true},
		{addr("192.0.2.200"), false},
		{pfx("192.0.2.0/24"), true}, // overlaps: the allowlist wins over the whole prefix
		{addr("::ffff:192.0.2.5"), true},
		{pfx("2001:db8:5:1::/64"), true},
		{addr("2001:db8:6::1"), false},
		{proxywatch.ASNSubject(64496), false},
	}
	for _, tc := range tests {
		if got := l.Covers(tc.s); got != tc.want {
			t.Errorf("Covers(%s) = %v, want %v", tc.s, got, tc.want)
		}
	}
	if !l.Contains(netip.MustParseAddr("::ffff:192.0.2.1")) || l.Contains(netip.MustParseAddr("198.51.100.1")) {
		t.Errorf("Contains gives the wrong answer for a mapped allowlisted address or an outside one")
	}
	var zero Allowlist
	if zero.Covers(addr("192.0.2.5")) {
		t.Errorf("zero Allowlist covers an address")
	}
}

func TestDetector(t *testing.T) {
	for in, want := range map[string]string{"detect:campaign": "campaign", "manual": "", "feed:x": ""} {
		if got := Detector(in); got != want {
			t.Errorf("Detector(%q) = %q, want %q", in, got, want)
		}
	}
}
