package verdict

import (
	"iter"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gaissmai/bart"
	"github.com/proxywatch/proxywatch"
)

// The benchmark workload of docs/benchmarks.md: 1,000,000 indicators, 90%
// IPv4 addresses, 5% IPv4 CIDRs (/20 to /30), 5% IPv6 (half addresses, half
// /32 to /64), from five feeds; and per family 100,000 listed and 100,000
// unlisted probe addresses in random order.
const benchN = 1_000_000

type workload struct {
	prefixes []netip.Prefix
	probes   map[string][]netip.Addr // "v4", "v6"
}

var (
	workOnce sync.Once
	work     workload
)

func benchWork() *workload {
	workOnce.Do(func() {
		r := rand.New(rand.NewPCG(2026, 9))
		ps := make([]netip.Prefix, 0, benchN)
		v4 := func() netip.Addr {
			for {
				u := r.Uint32()
				a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
				if a.IsGlobalUnicast() && !a.IsPrivate() {
					return a
				}
			}
		}
		v6 := func() netip.Addr {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			b[0] = 0x20 | b[0]&0x1f // 2000::/3
			return netip.AddrFrom16(b)
		}
		for i := range benchN {
			switch i % 20 {
			case 0:
				ps = append(ps, netip.PrefixFrom(v4(), 20+r.IntN(11)).Masked())
			case 1:
				if r.IntN(2) == 0 {
					ps = append(ps, netip.PrefixFrom(v6(), 128))
				} else {
					ps = append(ps, netip.PrefixFrom(v6(), []int{32, 48, 56, 64}[r.IntN(4)]).Masked())
				}
			default:
				ps = append(ps, netip.PrefixFrom(v4(), 32))
			}
		}
		var set bart.Table[struct{}]
		for _, p := range ps {
			set.Insert(p, struct{}{})
		}
		probes := func(is4 bool, random func() netip.Addr) []netip.Addr {
			var fam []netip.Prefix
			for _, p := range ps {
				if p.Addr().Is4() == is4 {
					fam = append(fam, p)
				}
			}
			out := make([]netip.Addr, 0, 200_000)
			for range 100_000 { // listed: an address inside a listed prefix
				p := fam[r.IntN(len(fam))]
				b := p.Addr().As16()
				for i := p.Bits() + (128 - p.Addr().BitLen()); i < 128; i++ {
					if r.IntN(2) == 1 {
						b[i/8] |= 0x80 >> (i % 8)
					}
				}
				a := netip.AddrFrom16(b)
				if is4 {
					a = a.Unmap()
				}
				out = append(out, a)
			}
			for len(out) < 200_000 { // unlisted
				if a := random(); !set.Contains(a) {
					out = append(out, a)
				}
			}
			r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
			return out
		}
		work = workload{prefixes: ps, probes: map[string][]netip.Addr{
			"v4": probes(true, v4), "v6": probes(false, v6)}}
	})
	return &work
}

var benchFeeds = []string{"firehol_proxies", "ipsum", "lumen-iocs", "spamhaus-drop", "local-list"}

// indicators yields the workload as indicators from five feeds, without
// holding them all.
func (w *workload) indicators() iter.Seq[proxywatch.Indicator] {
	return func(yield func(proxywatch.Indicator) bool) {
		exp := time.Now().Add(30 * 24 * time.Hour)
		for i, p := range w.prefixes {
			ind := proxywatch.Indicator{
				Subject:    proxywatch.Subject{Prefix: p},
				Kind:       proxywatch.Kinds()[i%7],
				Source:     proxywatch.Source{Feed: benchFeeds[i%5], Line: i + 1},
				Confidence: uint8(20 + i%80),
			}
			if i%3 == 0 {
				ind.Expires = exp
				ind.Tags = []string{"residential"}
			}
			if !yield(ind) {
				return
			}
		}
	}
}

// buildTable loads the workload into a new table as one feed.
func buildTable(tb testing.TB, w *workload) *Table {
	return buildTableConfig(tb, w, DefaultConfig())
}

func buildTableConfig(tb testing.TB, w *workload, cfg Config) *Table {
	tab, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tab.ReplaceFeedSeq("bench", w.indicators())
	return tab
}

// heapDelta returns the live heap growth caused by build, with the result
// kept alive until measured.
func heapDelta(build func() any) (uint64, any) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m0)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return m1.HeapAlloc - m0.HeapAlloc, v
}

func BenchmarkBuild(b *testing.B) {
	w := benchWork()
	b.Run("impl=verdict", func(b *testing.B) {
		bytes, v := heapDelta(func() any { return buildTable(b, w) })
		runtime.KeepAlive(v)
		v = nil
		b.ReportAllocs()
		for b.Loop() {
			buildTable(b, w)
		}
		b.ReportMetric(float64(bytes)/benchN, "B/indicator")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/indicator")
	})
	bare := func(name string, build func() any) {
		b.Run("impl="+name, func(b *testing.B) {
			bytes, v := heapDelta(build)
			runtime.KeepAlive(v)
			v = nil
			b.ReportAllocs()
			for b.Loop() {
				build()
			}
			b.ReportMetric(float64(bytes)/benchN, "B/indicator")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchN, "ns/indicator")
		})
	}
	bare("bart", func() any {
		t := new(bart.Table[uint32])
		for i, p := range w.prefixes {
			t.Insert(p, uint32(i))
		}
		return t
	})
	bare("bartfast", func() any {
		t := new(bart.Fast[uint32])
		for i, p := range w.prefixes {
			t.Insert(p, uint32(i))
		}
		return t
	})
}
