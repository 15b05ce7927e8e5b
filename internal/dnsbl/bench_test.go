package dnsbl

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/proxywatch/proxywatch"
)

// BenchmarkAnswer measures the in-process answer function, the UDP fast
// path without the socket, on a table of 200,000 random /32s and 10,000
// prefixes. It must not allocate for a listed or an unlisted address.
func BenchmarkAnswer(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	inds := fixture()
	for range 200000 {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		inds = append(inds, proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindOpenProxy,
			Confidence: 90, Source: proxywatch.Source{Feed: "bench"}})
	}
	for range 10000 {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		inds = append(inds, proxywatch.Indicator{Subject: proxywatch.PrefixSubject(netip.PrefixFrom(a, 24)),
			Kind: proxywatch.KindC2, Confidence: 90, Source: proxywatch.Source{Feed: "bench"}})
	}
	s := newServer(b, testConfig(), newTable(b, inds, fixtureAllow))
	s.now = nil // the table's own clock, as in production
	for _, bc := range []struct {
		name  string
		addr  string
		qtype uint16
		edns  bool
	}{
		{"listed/A", "192.0.2.5", dns.TypeA, false},
		{"listed/TXT", "192.0.2.5", dns.TypeTXT, true},
		{"unlisted/A", "192.0.3.1", dns.TypeA, false},
		{"listed-v6/TXT", "2001:db8::1", dns.TypeTXT, false},
		{"miekg-path/apex-SOA", "", dns.TypeSOA, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			name := "bl.test."
			if bc.addr != "" {
				name = reverse(bc.addr, name)
			}
			q := packQuery(b, name, bc.qtype, bc.edns)
			dst := make([]byte, 0, 1500)
			b.ReportAllocs()
			for b.Loop() {
				dst = s.Answer(dst[:0], q)
			}
			if len(dst) == 0 {
				b.Fatal("no answer")
			}
		})
	}
	// The same listed question through miekg/dns, for comparison.
	b.Run("miekg-path/listed/A", func(b *testing.B) {
		q := packQuery(b, reverse("192.0.2.5", "bl.test."), dns.TypeA, false)
		r := s.newResponder()
		dst := make([]byte, 0, 1500)
		b.ReportAllocs()
		for b.Loop() {
			dst = r.slow(dst[:0], q)
		}
	})
}
