package sqlitestore

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// benchFeed yields n indicators of feed "bench" shaped like the verdict
// table's benchmark: 90% IPv4 addresses, 5% IPv4 prefixes (/16 to /30),
// 5% IPv6 prefixes (/32 to /128), in random order, a tenth with tags.
func benchFeed(n int) func(yield func(proxywatch.Indicator, error) bool) {
	return func(yield func(proxywatch.Indicator, error) bool) {
		r := rand.New(rand.NewPCG(7, 7))
		seen := t0bench
		for i := range n {
			var p netip.Prefix
			switch x := r.IntN(100); {
			case x < 90:
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 32)
			case x < 95:
				a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
				p = netip.PrefixFrom(a, 16+r.IntN(15)).Masked()
			default:
				var b [16]byte
				b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
				for j := 4; j < 16; j++ {
					b[j] = byte(r.Uint32())
				}
				p = netip.PrefixFrom(netip.AddrFrom16(b), 32+r.IntN(97)).Masked()
			}
			ind := proxywatch.Indicator{Subject: proxywatch.PrefixSubject(p), Kind: proxywatch.KindOpenProxy,
				Source: proxywatch.Source{Feed: "bench", Line: i + 1}, Confidence: 60, FirstSeen: seen}
			if i%10 == 0 {
				ind.Tags, ind.Port, ind.Proto = []string{"socks5", "residential"}, 1080, "socks5"
			}
			if !yield(ind, nil) {
				return
			}
		}
	}
}

var t0bench = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkStore1M measures the embedded store on a feed of a million
// indicators: a whole-feed import (ReplaceFeed over the previous copy),
// streaming every indicator back as the daemon does at start-up, and the
// CLI's covering-address lookup. Run it with -benchtime=1x: one import
// takes seconds.
func BenchmarkStore1M(b *testing.B) {
	const n = 1_000_000
	s := openTest(b)
	ctx := b.Context()
	b.Run("ReplaceFeed", func(b *testing.B) {
		for b.Loop() {
			if err := s.ReplaceFeed(ctx, store.FeedState{Name: "bench"}, benchFeed(n)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
	})
	if st, err := s.FeedState(ctx, "bench"); err != nil || st.Indicators < n*99/100 {
		b.Fatalf("FeedState(bench) = %d indicators, %v, want about %d", st.Indicators, err, n)
	}
	b.Run("IndicatorsAll", func(b *testing.B) {
		got := 0
		for b.Loop() {
			for _, err := range s.Indicators(ctx, "") {
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
		}
		b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "indicators/s")
	})
	b.Run("Covering", func(b *testing.B) {
		const lookups = 1000 // per op, so that -benchtime=1x still measures
		r := rand.New(rand.NewPCG(1, 1))
		hits := 0
		for b.Loop() {
			for range lookups {
				a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
				got, err := s.Covering(ctx, a)
				if err != nil {
					b.Fatal(err)
				}
				hits += len(got)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lookups), "ns/lookup")
		b.ReportMetric(float64(hits)/float64(b.N*lookups), "hits/lookup")
	})
}
