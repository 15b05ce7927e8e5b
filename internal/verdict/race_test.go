package verdict

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

// genFeed returns a feed whose every indicator carries generation gen in
// its comment: 192.0.2.0/24, /25 and /26, and each address of the /26.
// An address of the /26 is covered by four of them.
func genFeed(gen int) []proxywatch.Indicator {
	c := fmt.Sprint("gen ", gen)
	var inds []proxywatch.Indicator
	for _, s := range []string{"192.0.2.0/24", "192.0.2.0/25", "192.0.2.0/26"} {
		inds = append(inds, proxywatch.Indicator{Subject: proxywatch.PrefixSubject(netip.MustParsePrefix(s)),
			Kind: proxywatch.KindC2, Confidence: 90, Comment: c})
	}
	for i := range 64 {
		inds = append(inds, proxywatch.Indicator{Subject: proxywatch.AddrSubject(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})),
			Kind: proxywatch.KindOpenProxy, Confidence: 60, Comment: c})
	}
	return inds
}

// TestConcurrent runs readers while writers replace a feed, put and
// delete single indicators and compact. Readers must never see part of a
// feed: the four hits of an address always come from one generation. Run
// it with -race.
func TestConcurrent(t *testing.T) {
	tab := mustNew(t)
	tab.ReplaceFeed("gen", genFeed(0))
	dur := 300 * time.Millisecond
	if testing.Short() {
		dur = 100 * time.Millisecond
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups, mixed, partial atomic.Int64

	for r := range 2 {
		wg.Go(func() {
			dst := make([]Hit, 0, 16)
			for i := 0; !stop.Load(); i++ {
				a := netip.AddrFrom4([4]byte{192, 0, 2, byte((i + r) % 64)})
				hits := tab.Lookup(a, dst[:0])
				var gen string
				n := 0
				for _, h := range hits {
					if h.Feed() != "gen" {
						continue
					}
					c := h.r.meta.comment
					if gen != "" && c != gen {
						mixed.Add(1)
					}
					gen = c
					n++
				}
				if n != 4 {
					partial.Add(1)
				}
				_ = Summarize(hits, 50)
				lookups.Add(1)
			}
		})
	}
	wg.Go(func() { // feed replacement
		for g := 1; !stop.Load(); g++ {
			tab.ReplaceFeed("gen", genFeed(g))
		}
	})
	wg.Go(func() { // single changes and folding
		for i := 0; !stop.Load(); i++ {
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 64)})
			in := proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindBruteForce,
				Confidence: 70, Source: proxywatch.Source{Feed: "local"}}
			tab.Put(in)
			if hits := tab.Lookup(a, nil); !hasFeed(hits, "local") {
				t.Errorf("Lookup(%v) right after Put = %v, want the local indicator", a, hitSet(hits))
				return
			}
			if i%3 == 0 {
				tab.Delete(in.Key())
			}
			if i%50 == 0 {
				tab.Compact()
			}
			if i%20 == 0 {
				tab.SetAllowlist([]netip.Prefix{netip.PrefixFrom(a, 32)})
			}
		}
	})
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	if mixed.Load() != 0 || partial.Load() != 0 {
		t.Errorf("of %d lookups, %d mixed generations and %d saw part of the feed, want 0 and 0",
			lookups.Load(), mixed.Load(), partial.Load())
	}
	if lookups.Load() == 0 {
		t.Errorf("no lookups ran")
	}
	t.Logf("%d lookups, %d indicators at the end", lookups.Load(), tab.Stats().Indicators)
}

func hasFeed(hits []Hit, feed string) bool {
	for _, h := range hits {
		if h.Feed() == feed {
			return true
		}
	}
	return false
}
