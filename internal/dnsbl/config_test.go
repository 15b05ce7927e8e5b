package dnsbl

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the error; none for a valid config
	}{
		{"default is off and valid", func(c *Config) { *c = DefaultConfig() }, nil},
		{"test config", func(*Config) {}, nil},
		{"zero TTLs take the defaults", func(c *Config) { c.Zones[0].TTL, c.Zones[0].NegativeTTL, c.Zones[0].TXT = 0, 0, "" }, nil},
		{"no zone", func(c *Config) { c.Zones = nil }, []string{"zones: at least one"}},
		{"not fully qualified", func(c *Config) { c.Zones[0].Name = "bl.test" }, []string{`zones[0]: name "bl.test"`}},
		{"root zone", func(c *Config) { c.Zones[0].Name = "." }, []string{"not the root"}},
		{"duplicate zone", func(c *Config) { c.Zones[1].Name = "BL.test." }, []string{"configured twice"}},
		{"unknown kind", func(c *Config) { c.Zones[0].Kinds = []proxywatch.Kind{proxywatch.KindUnknown} }, []string{"kinds"}},
		{"bad template", func(c *Config) { c.Zones[1].TXT = "costs $5" }, []string{"zones[1]: txt"}},
		{"short TTL", func(c *Config) { c.Zones[0].TTL = time.Millisecond }, []string{"ttl 1ms"}},
		{"bad nameserver", func(c *Config) { c.Zones[0].Nameservers = []string{"ns1"} }, []string{`"ns1"`}},
		{"bad listen", func(c *Config) { c.Listen = "localhost" }, []string{"listen"}},
		{"txt too long", func(c *Config) { c.TXTMax = 300 }, []string{"txt_max 300"}},
		{"small udp size", func(c *Config) { c.UDPSize = 100 }, []string{"udp_size 100"}},
		{"bad rate limit", func(c *Config) { c.RateLimit.Rate = -1 }, []string{"rate_limit"}},
		{"invalid allow", func(c *Config) { c.Allow = []netip.Prefix{{}} }, []string{"allow[0]"}},
		{"every problem at once", func(c *Config) { c.TXTMax, c.UDPSize = 0, 0 }, []string{"txt_max", "udp_size"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.change(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestNewRefusesWithoutTable(t *testing.T) {
	if _, err := New(testConfig(), Deps{MinConfidence: 50}); err == nil {
		t.Error("New without a table = nil error, want one")
	}
	if _, err := New(testConfig(), Deps{Table: newTable(t, nil, nil)}); err == nil {
		t.Error("New with min confidence 0 = nil error, want one")
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		tmpl string
		ok   bool
	}{
		{DefaultTXT, true},
		{"{kind} {feed} {code} {prefix} {confidence} see http://x/?ip={addr}", true},
		{"{addr}", true},
		{"", true},
		{"{addr}{code}", false},
		{"{addr}1", false},
		{"{addr}=", false},
		{"cost $5", false},
		{`say "hi"`, false},
		{" lead", false},
		{"trail ", false},
		{"{nope}", false},
		{"{kind", false},
		{"tab\there", false},
		{strings.Repeat("x", proxywatch.DNSBLMaxTXT+1), false},
	}
	for _, tc := range tests {
		_, err := proxywatch.ParseDNSBLTemplate(tc.tmpl)
		if (err == nil) != tc.ok {
			t.Errorf("ParseDNSBLTemplate(%q) = %v, want ok %v", tc.tmpl, err, tc.ok)
		}
	}
	tm := proxywatch.MustParseDNSBLTemplate("{addr} {kind} {feed} {code} {prefix} {confidence}")
	e := proxywatch.DNSBLEntry{Kind: proxywatch.KindResidentialProxy, Feed: "my feed/x$", Prefix: netip.MustParsePrefix("192.0.2.0/24"), Confidence: 7}
	got := string(tm.AppendTXT(nil, []byte("$"), &e))
	if want := "$ residential-proxy my_feed/x_ 127.0.0.15 192.0.2.0/24 7"; got != want {
		t.Errorf("AppendTXT = %q, want %q", got, want)
	}
}
