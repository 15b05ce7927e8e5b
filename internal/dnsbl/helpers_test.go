package dnsbl

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// frozen is the time the tests look the table up at.
var frozen = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

func ind(prefix string, k proxywatch.Kind, conf uint8, feed string) proxywatch.Indicator {
	return proxywatch.Indicator{
		Subject:    proxywatch.PrefixSubject(netip.MustParsePrefix(prefix)),
		Kind:       k,
		Confidence: conf,
		Source:     proxywatch.Source{Feed: feed},
	}
}

// fixture is the table most tests ask: documentation ranges only.
func fixture() []proxywatch.Indicator {
	expired := ind("203.0.113.9/32", proxywatch.KindC2, 90, "old")
	expired.Expires = frozen.Add(-time.Hour)
	return []proxywatch.Indicator{
		ind("192.0.2.0/24", proxywatch.KindOpenProxy, 90, "f1"),
		ind("192.0.2.5/32", proxywatch.KindC2, 80, "f2"),
		ind("192.0.2.6/32", proxywatch.KindBruteForce, 30, "f3"), // below the minimum
		ind("192.0.2.7/32", proxywatch.KindResidentialProxy, 90, "a"),
		ind("192.0.2.7/32", proxywatch.KindOpenProxy, 60, "b"), // same prefix: kind priority wins
		ind("198.51.100.0/24", proxywatch.KindC2, 90, "f1"),
		ind("2001:db8::/32", proxywatch.KindAnonymizer, 70, "v6"),
		ind("2001:db8:1::1/128", proxywatch.KindScanner, 70, "v6 feed$"),
		ind("127.0.0.0/8", proxywatch.KindOther, 90, "loop"),
		expired,
	}
}

var fixtureAllow = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.128/25"),
	netip.MustParsePrefix("127.0.0.0/8"),
}

func testConfig() Config {
	c := DefaultConfig()
	c.Enabled = true
	c.Listen = "127.0.0.1:0"
	proxies := DefaultZone("proxies.bl.test.")
	proxies.Kinds = []proxywatch.Kind{proxywatch.KindOpenProxy, proxywatch.KindResidentialProxy}
	proxies.TXT = "{kind} {prefix} {code} {confidence} http://bl.test/?{addr}"
	c.Zones = []Zone{DefaultZone("bl.test."), proxies}
	c.Zones[0].Nameservers = []string{"ns1.bl.test.", "ns2.bl.test."}
	return c
}

func newTable(t testing.TB, inds []proxywatch.Indicator, allow []netip.Prefix) *verdict.Table {
	t.Helper()
	tab, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	byFeed := map[string][]proxywatch.Indicator{}
	for _, in := range inds {
		byFeed[in.Source.Feed] = append(byFeed[in.Source.Feed], in)
	}
	for f, in := range byFeed {
		tab.ReplaceFeed(f, in)
	}
	tab.SetAllowlist(allow)
	return tab
}

func newServer(t testing.TB, cfg Config, tab Table) *Server {
	t.Helper()
	s, err := New(cfg, Deps{Table: tab, MinConfidence: 50, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixtureServer(t testing.TB) *Server {
	return newServer(t, testConfig(), newTable(t, fixture(), fixtureAllow))
}

// reverse returns the DNSBL query name of addr in zone.
func reverse(addr, zone string) string {
	a := netip.MustParseAddr(addr)
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(itoa(int(o[i])) + ".")
		}
	} else {
		o := a.As16()
		const hex = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[o[i]&15])
			b.WriteByte('.')
			b.WriteByte(hex[o[i]>>4])
			b.WriteByte('.')
		}
	}
	return b.String() + zone
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func packQuery(t testing.TB, name string, qtype uint16, edns bool) []byte {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 4242
	if edns {
		m.SetEdns0(1232, true)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ask(t testing.TB, s *Server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	out := s.Answer(nil, packQuery(t, name, qtype, false))
	m := new(dns.Msg)
	if err := m.Unpack(out); err != nil {
		t.Fatalf("Answer(%s %s): unpack: %v", name, dns.TypeToString[qtype], err)
	}
	return m
}

// summary is what the differential tests compare: rcode, A set, TXT set.
type summary struct {
	Rcode string
	A     []string
	TXT   []string
}

func summarize(m *dns.Msg) summary {
	s := summary{Rcode: dns.RcodeToString[m.Rcode]}
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			s.A = append(s.A, rr.A.String())
		case *dns.TXT:
			s.TXT = append(s.TXT, strings.Join(rr.Txt, ""))
		}
	}
	return s
}
