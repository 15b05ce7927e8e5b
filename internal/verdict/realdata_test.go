package verdict

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/proxywatch/proxywatch"
)

// TestDifferentialRealData loads FireHOL level 1 (private space included)
// and part of ipsum as feeds, then interleaves single changes, feed
// replacements and expiry as the random test does, over real prefixes.
func TestDifferentialRealData(t *testing.T) {
	firehol := readPrefixes(t, "blocklists/firehol-2017-10-15/firehol_level1.netset", 0)
	ipsum := readPrefixes(t, "blocklists/ipsum/ipsum.txt", 10000)
	pool := slices.Concat(firehol, ipsum, smallPool)
	c := &rngChooser{r: rand.New(rand.NewPCG(7, 7)), left: 1000}
	if testing.Short() {
		c.left = 200
	}
	d := newDiffRun(t, c, pool)
	load := func(feed string, ps []netip.Prefix, conf uint8) {
		inds := make([]proxywatch.Indicator, len(ps))
		for i, p := range ps {
			inds[i] = proxywatch.Indicator{Subject: proxywatch.PrefixSubject(p), Kind: proxywatch.KindOther,
				Confidence: conf, Source: proxywatch.Source{Line: i + 1}}
		}
		if got, want := d.tab.ReplaceFeed(feed, inds), d.ref.replaceFeed(feed, inds, d.wall); got != want {
			t.Fatalf("ReplaceFeed(%s) = %d, want %d", feed, got, want)
		}
	}
	load("firehol_level1", firehol, 70)
	load("ipsum", ipsum, 30)
	d.tab.SetAllowlist(defaultAllow)
	d.ref.allow = defaultAllow
	for _, s := range []string{"10.1.2.3", "192.168.1.1", "1.10.16.1"} {
		d.check(netip.MustParseAddr(s), d.wall)
	}
	for _, p := range firehol[:min(200, len(firehol))] {
		d.check(p.Addr(), d.wall)
	}
	for !c.done() {
		d.step()
	}
	d.checkStats()
	t.Logf("lookups with 0, 1, >1 hits: %v", d.hits)
}

var defaultAllow = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"),
}

func FuzzTable(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{90, 3, 0, 0, 200, 99, 1, 2, 3, 90, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 60, 1, 80, 5, 5, 5})
	f.Add([]byte{50, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 90, 90, 90, 1, 2, 62, 90, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &byteChooser{b: data}
		d := newDiffRun(t, c, smallPool)
		for !c.done() {
			d.step()
		}
		d.checkStats()
	})
}
