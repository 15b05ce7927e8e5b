package verdict

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

// BenchmarkIncremental applies 10,000 single changes (puts of new
// addresses and ranges, and deletes of earlier puts) to a 1M-indicator
// table while two goroutines look up, and reports how long each change
// takes to become visible to another goroutine's lookup, and the lookup
// rate during the changes against the rate just before them and just
// after them (with the changes still pending).
func BenchmarkIncremental(b *testing.B) {
	w := benchWork()
	cfg := DefaultConfig()
	cfg.CompactAfter = 1 << 30 // keep every change pending: the worst case for lookups
	tab := buildTableConfig(b, w, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tab.Run(ctx) //nolint:errcheck // stopped by cancel
	probes := w.probes["v4"]
	r := rand.New(rand.NewPCG(1, 1))
	const changes = 10_000

	rate := func(d time.Duration, during func()) float64 {
		var stop atomic.Bool
		var n atomic.Int64
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				dst := make([]Hit, 0, 16)
				c := 0
				for i := g * 50_000; !stop.Load(); i++ {
					dst = tab.Lookup(probes[i%len(probes)], dst[:0])
					c++
				}
				n.Add(int64(c))
			})
		}
		start := time.Now()
		if during != nil {
			during()
		} else {
			time.Sleep(d)
		}
		el := time.Since(start)
		stop.Store(true)
		wg.Wait()
		return float64(n.Load()) / el.Seconds()
	}

	var lat []time.Duration
	var before, during, after float64
	for b.Loop() {
		tab.RemoveFeed("local")
		before = rate(time.Second, nil)
		lat = lat[:0]
		var put []proxywatch.Indicator
		during = rate(0, func() {
			for i := range changes {
				var in proxywatch.Indicator
				del := i%5 == 4 && len(put) > 0
				if del {
					in = put[len(put)-1]
					put = put[:len(put)-1]
				} else {
					u := r.Uint32()
					a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
					bits := 32
					if i%10 == 0 {
						bits = 24
					}
					in = proxywatch.Indicator{Subject: proxywatch.PrefixSubject(netip.PrefixFrom(a, bits)),
						Kind: proxywatch.KindBruteForce, Confidence: 80, Source: proxywatch.Source{Feed: "local"}}
					put = append(put, in)
				}
				start := time.Now()
				if del {
					tab.Delete(in.Key())
				} else {
					tab.Put(in)
				}
				for hasPrefix(tab.Lookup(in.Subject.Prefix.Addr(), nil), "local", in.Subject.Prefix) == del {
				}
				lat = append(lat, time.Since(start))
			}
		})
		after = rate(time.Second, nil)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	us := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(us(0.5), "visible-p50-µs")
	b.ReportMetric(us(0.99), "visible-p99-µs")
	b.ReportMetric(us(1), "visible-max-µs")
	b.ReportMetric(before/during, "slowdown-during-x")
	b.ReportMetric(before/after, "slowdown-pending-x")
	b.ReportMetric(before, "lookups/s-before")
	b.ReportMetric(during, "lookups/s-during")
	b.ReportMetric(float64(tab.Stats().Pending), "pending")
}

func hasPrefix(hits []Hit, feed string, p netip.Prefix) bool {
	for _, h := range hits {
		if h.Feed() == feed && h.Prefix() == p {
			return true
		}
	}
	return false
}
