package dnsbl

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/rbldnsd"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// TestAgainstRbldnsd loads one random list into a verdict table served by
// this package and, through the rbldnsd export, into a real rbldnsd, then
// asks both the same random queries (listed, unlisted, inside and outside
// the zones, the test points, IPv4 and IPv6, several types) and requires
// the same rcode, A set and TXT set, the same SOA in negative answers and
// the same NS at the apex.
//
// rbldnsd has no TCP, so a query lost over UDP is asked again over UDP,
// and never counted as a difference. Queries for 6to4 addresses
// (2002::/16) are left out: rbldnsd also looks up the IPv4 address they
// embed, this server does not (docs/dnsbl.md).
func TestAgainstRbldnsd(t *testing.T) {
	bin := itest.Need(t, "rbldnsd")
	now := time.Now().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(11, 1))
	inds, allow := randomList(rng, now, 4000)

	dir := readableTempDir(t)
	zones := []struct {
		name  string
		kinds []proxywatch.Kind
		txt   string
	}{
		// rbldnsd consults the first zone that matches, so subzones come first.
		{"proxies.bl.test.", []proxywatch.Kind{proxywatch.KindOpenProxy, proxywatch.KindResidentialProxy}, "{kind} {prefix} {code} {confidence} see http://bl.test/?{addr}"},
		{"bl.test.", nil, ""},
	}
	cfg := testConfig()
	cfg.RateLimit.Rate = 0 // one client asks fast
	cfg.Zones = nil
	var args []string
	for i, z := range zones {
		zc := DefaultZone(z.name)
		zc.Kinds = z.kinds
		if z.txt != "" {
			zc.TXT = z.txt
		}
		zc.Nameservers = []string{"ns1.bl.test.", "ns2.bl.test."}
		cfg.Zones = append(cfg.Zones, zc)
		file := filepath.Join(dir, fmt.Sprintf("zone%d.rbl", i))
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		ex := rbldnsd.Exporter{TXT: zc.TXT, Zone: z.name, Nameservers: zc.Nameservers, TTL: zc.TTL, NegativeTTL: zc.NegativeTTL}
		_, err = ex.Export(f, slices.Values(inds), export.Options{Now: now, MinConfidence: 50, Allowlist: allow, Kinds: z.kinds})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, strings.TrimSuffix(z.name, ".")+":combined:"+file)
	}
	peer := startRbldnsd(t, bin, dir, args)

	s, err := New(cfg, Deps{Table: newTable(t, inds, allow), MinConfidence: 50, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := serve(t, s)

	n := 20000
	if raceEnabled {
		n = 4000
	}
	queries := randomQueries(rng, inds, allow, n)
	ours := exchangeAll(t, udp, tcp, queries)
	theirs := exchangeAll(t, peer, "", queries)

	diffs, listed := 0, 0
	for i, q := range queries {
		o, r := compareable(ours[i]), compareable(theirs[i])
		if len(o.Answer.A) > 0 {
			listed++
		}
		if diff := cmp.Diff(r, o); diff != "" {
			if diffs++; diffs <= 20 {
				t.Errorf("%s %s: rbldnsd (-) and this server (+) differ:\n%s", q.Name, dns.TypeToString[q.Qtype], diff)
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d queries answered differently", diffs, len(queries))
	}
	if listed < len(queries)/5 {
		t.Errorf("only %d of %d queries were answered as listed: the list does not exercise the comparison", listed, len(queries))
	}
	t.Logf("%d queries, %d answered as listed, %d differences", len(queries), listed, diffs)
}

// A comparison is what must agree between the two servers.
type comparison struct {
	Answer      summary
	NegativeSOA string   // the SOA in a negative answer, serial left out
	NS          []string // NS records answered
}

func compareable(m *dns.Msg) comparison {
	c := comparison{Answer: summarize(m)}
	slices.Sort(c.Answer.A)
	slices.Sort(c.Answer.TXT)
	for _, rr := range m.Answer {
		if ns, ok := rr.(*dns.NS); ok {
			c.NS = append(c.NS, strings.ToLower(ns.Hdr.Name+" "+ns.Ns))
		}
	}
	slices.Sort(c.NS)
	if len(m.Answer) == 0 {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				// rbldnsd compresses the SOA's names against the question,
				// keeping its case.
				c.NegativeSOA = strings.ToLower(fmt.Sprintf("%s %s %s %d", soa.Hdr.Name, soa.Ns, soa.Mbox, soa.Minttl))
			}
		}
	}
	return c
}

// randomList returns n indicators drawn densely from 198.18.0.0/15, the
// documentation ranges, 127.0.0.0/8 and 2001:db8::/32, so that prefixes
// nest and overlap, with several kinds, feeds and confidences, some
// expired, and an allowlist that cuts into listed ranges.
func randomList(rng *rand.Rand, now time.Time, n int) ([]proxywatch.Indicator, []netip.Prefix) {
	kinds := proxywatch.Kinds()
	feeds := []string{"alpha", "beta", "gamma feed", "d$"}
	v4 := func() netip.Addr {
		switch rng.IntN(8) {
		case 0:
			return netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})
		case 1:
			return netip.AddrFrom4([4]byte{127, 0, 0, byte(rng.IntN(8))})
		}
		return netip.AddrFrom4([4]byte{198, byte(18 + rng.IntN(2)), byte(rng.IntN(64)), byte(rng.IntN(256))})
	}
	v6 := func() netip.Addr {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		b[4], b[5] = 0, byte(rng.IntN(4))
		for i := 6; i < 16; i++ {
			if rng.IntN(3) == 0 {
				b[i] = byte(rng.IntN(256))
			}
		}
		return netip.AddrFrom16(b)
	}
	seen := map[proxywatch.Key]bool{}
	var inds []proxywatch.Indicator
	for len(inds) < n {
		var p netip.Prefix
		if rng.IntN(5) == 0 {
			p = netip.PrefixFrom(v6(), []int{32, 40, 48, 56, 64, 96, 120, 128, 128, 128}[rng.IntN(10)]).Masked()
		} else {
			p = netip.PrefixFrom(v4(), []int{8, 16, 20, 22, 24, 26, 28, 29, 30, 32, 32, 32, 32, 32}[rng.IntN(14)]).Masked()
		}
		in := proxywatch.Indicator{
			Subject:    proxywatch.PrefixSubject(p),
			Kind:       kinds[rng.IntN(len(kinds))],
			Confidence: uint8(20 + rng.IntN(81)),
			Source:     proxywatch.Source{Feed: feeds[rng.IntN(len(feeds))]},
		}
		switch rng.IntN(10) {
		case 0:
			in.Expires = now.Add(-time.Hour)
		case 1:
			in.Expires = now.Add(24 * time.Hour)
		}
		if k := in.Key(); !seen[k] {
			seen[k] = true
			inds = append(inds, in)
		}
	}
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("192.0.2.128/26")}
	for range 12 {
		allow = append(allow, netip.PrefixFrom(v4(), 24+rng.IntN(9)).Masked())
	}
	for range 4 {
		allow = append(allow, netip.PrefixFrom(v6(), 48+rng.IntN(81)).Masked())
	}
	return inds, allow
}

// randomQueries returns n questions: addresses of listed entries and
// inside listed ranges, their neighbours, random addresses, the test
// points, IPv4-mapped forms, names that are not addresses, the apexes and
// names outside the zones, in both zones and with mixed case.
func randomQueries(rng *rand.Rand, inds []proxywatch.Indicator, allow []netip.Prefix, n int) []dns.Question {
	zones := []string{"bl.test.", "proxies.bl.test.", "BL.Test."}
	types := []uint16{dns.TypeA, dns.TypeA, dns.TypeA, dns.TypeTXT, dns.TypeTXT, dns.TypeANY, dns.TypeMX, dns.TypeAAAA}
	inside := func(p netip.Prefix) netip.Addr {
		b := p.Addr().AsSlice()
		for i := p.Bits(); i < len(b)*8; i++ {
			if rng.IntN(2) == 1 {
				b[i/8] |= 0x80 >> (i % 8)
			}
		}
		a, _ := netip.AddrFromSlice(b)
		return a
	}
	var qs []dns.Question
	for len(qs) < n {
		zone := zones[rng.IntN(len(zones))]
		var name string
		switch r := rng.IntN(22); {
		case r < 10:
			name = reverse(inside(inds[rng.IntN(len(inds))].Subject.Prefix).String(), zone)
		case r < 12:
			name = reverse(inside(inds[rng.IntN(len(inds))].Subject.Prefix).Next().String(), zone)
		case r == 12:
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			name = reverse(a.String(), zone)
		case r == 13:
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			if b[0] == 0x20 && b[1] == 0x02 {
				continue // 6to4: see the test's comment
			}
			name = reverse(netip.AddrFrom16(b).String(), zone)
		case r == 14:
			tp := []string{"127.0.0.1", "127.0.0.2", "::ffff:127.0.0.1", "::ffff:127.0.0.2", "127.0.0.3"}
			name = reverse(tp[rng.IntN(len(tp))], zone)
		case r == 15:
			a := inside(inds[rng.IntN(len(inds))].Subject.Prefix)
			if !a.Is4() {
				continue
			}
			name = reverse(netip.AddrFrom16(a.As16()).String(), zone) // the IPv4-mapped form
		case r == 16:
			odd := []string{"www", "1.2.3", "1.1.2.3.4", "256.0.0.1", "01.002.0.198", "a.0.0.127", "x.y", "-1.0.0.1"}
			name = odd[rng.IntN(len(odd))] + "." + zone
		case r == 17:
			name = zone
		case r == 18:
			name = "1.2.0.192.example.org."
		case r == 20 || r == 21:
			// Inside the allowlist and just outside it, where the export
			// cuts indicators.
			p := allow[rng.IntN(len(allow))]
			a := inside(p)
			switch rng.IntN(3) {
			case 0:
				a = p.Addr().Prev()
			case 1:
				a = lastOf(p).Next()
			}
			if !a.IsValid() {
				continue
			}
			name = reverse(a.String(), zone)
		default:
			name = strings.ToUpper(reverse(inside(inds[rng.IntN(len(inds))].Subject.Prefix).String(), zone))
		}
		qt := types[rng.IntN(len(types))]
		if name == zone && rng.IntN(2) == 0 {
			qt = []uint16{dns.TypeSOA, dns.TypeNS}[rng.IntN(2)]
		}
		qs = append(qs, dns.Question{Name: name, Qtype: qt, Qclass: dns.ClassINET})
	}
	return qs
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
