package verdict

import (
	"context"
	"iter"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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

// The lookup tables, built once for all lookup benchmarks.
var (
	lookupOnce sync.Once
	lookupTabs struct {
		verdict *Table
		bart    *bart.Table[uint32]
		fast    *bart.Fast[uint32]
		hosts   map[netip.Addr][]int32 // naive: /32s and /128s
		cidrs   []netip.Prefix         // naive: every other prefix, scanned
		cidrIDs []int32
	}
)

func lookupTables(b *testing.B) {
	lookupOnce.Do(func() {
		w := benchWork()
		lt := &lookupTabs
		lt.verdict = buildTable(b, w)
		lt.bart, lt.fast = new(bart.Table[uint32]), new(bart.Fast[uint32])
		lt.hosts = make(map[netip.Addr][]int32)
		for i, p := range w.prefixes {
			lt.bart.Insert(p, uint32(i))
			lt.fast.Insert(p, uint32(i))
			if p.IsSingleIP() {
				lt.hosts[p.Addr()] = append(lt.hosts[p.Addr()], int32(i))
			} else {
				lt.cidrs = append(lt.cidrs, p)
				lt.cidrIDs = append(lt.cidrIDs, int32(i))
			}
		}
		// The coarse clock, as under serve.
		go lt.verdict.Run(context.Background()) //nolint:errcheck // runs for the whole process
	})
}

func BenchmarkLookup(b *testing.B) {
	w := benchWork()
	lookupTables(b)
	lt := &lookupTabs
	impls := []struct {
		name   string
		lookup func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32)
	}{
		{"verdict", func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32) {
			return lt.verdict.Lookup(a, dst[:0]), ids
		}},
		{"verdict+summary", func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32) {
			dst = lt.verdict.Lookup(a, dst[:0])
			if s := Summarize(dst, 50); s.Listed {
				ids = append(ids[:0], 1)
			}
			return dst, ids
		}},
		{"bart", func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32) {
			v, ok := lt.bart.Lookup(a)
			if ok {
				ids = append(ids[:0], int32(v))
			}
			return dst, ids
		}},
		{"bartfast", func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32) {
			v, ok := lt.fast.Lookup(a)
			if ok {
				ids = append(ids[:0], int32(v))
			}
			return dst, ids
		}},
		{"naive", func(dst []Hit, ids []int32, a netip.Addr) ([]Hit, []int32) {
			ids = append(ids[:0], lt.hosts[a]...)
			for i, p := range lt.cidrs {
				if p.Contains(a) {
					ids = append(ids, lt.cidrIDs[i])
				}
			}
			return dst, ids
		}},
	}
	for _, fam := range []string{"v4", "v6"} {
		probes := w.probes[fam]
		for _, impl := range impls {
			b.Run("family="+fam+"/impl="+impl.name+"/mode=serial", func(b *testing.B) {
				b.ReportAllocs()
				dst, ids := make([]Hit, 0, 16), make([]int32, 0, 16)
				i := 0
				for b.Loop() {
					dst, ids = impl.lookup(dst, ids, probes[i])
					if i++; i == len(probes) {
						i = 0
					}
				}
			})
			b.Run("family="+fam+"/impl="+impl.name+"/mode=parallel", func(b *testing.B) {
				b.ReportAllocs()
				var seed atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					dst, ids := make([]Hit, 0, 16), make([]int32, 0, 16)
					i := int(seed.Add(7919)) % len(probes)
					for pb.Next() {
						dst, ids = impl.lookup(dst, ids, probes[i])
						if i++; i == len(probes) {
							i = 0
						}
					}
				})
			})
		}
	}
}

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

// BenchmarkLookupPaired measures the verdict table (Lookup alone, and
// Lookup with Summarize), bare bart.Table and bare bart.Fast on the same
// probes, in rounds of one 10,000-probe chunk each, in an order that
// rotates from round to round. Within a round each gets a different chunk,
// so that none finds the paths of its probes left in the cache by another;
// over the rounds each sees every chunk. It reports the median over rounds
// of each one's ns per lookup and of the per-round ratios: the machine's
// other load then hits all of them alike, and the ratios stay steadier
// than those of separate runs.
func BenchmarkLookupPaired(b *testing.B) {
	w := benchWork()
	lookupTables(b)
	lt := &lookupTabs
	for _, fam := range []string{"v4", "v6"} {
		probes := w.probes[fam]
		b.Run("family="+fam, func(b *testing.B) {
			const chunk = 10_000
			dst := make([]Hit, 0, 16)
			var sink uint32
			impls := []struct {
				name string
				run  func([]netip.Addr)
			}{
				{"verdict", func(ps []netip.Addr) {
					for _, a := range ps {
						dst = lt.verdict.Lookup(a, dst[:0])
					}
				}},
				{"verdict+summary", func(ps []netip.Addr) {
					for _, a := range ps {
						dst = lt.verdict.Lookup(a, dst[:0])
						if Summarize(dst, 50).Listed {
							sink++
						}
					}
				}},
				{"bart", func(ps []netip.Addr) {
					for _, a := range ps {
						v, _ := lt.bart.Lookup(a)
						sink += v
					}
				}},
				{"bartfast", func(ps []netip.Addr) {
					for _, a := range ps {
						v, _ := lt.fast.Lookup(a)
						sink += v
					}
				}},
			}
			rounds := make([][]float64, len(impls)) // ns per lookup, per impl, per round
			chunks := len(probes) / chunk
			round := 0
			for b.Loop() {
				for k := range impls {
					i := (k + round) % len(impls)
					c := (round*len(impls) + i) % chunks
					ps := probes[c*chunk : (c+1)*chunk]
					start := time.Now()
					impls[i].run(ps)
					rounds[i] = append(rounds[i], float64(time.Since(start).Nanoseconds())/chunk)
				}
				round++
			}
			for i, impl := range impls {
				b.ReportMetric(median(rounds[i]), impl.name+"-ns/lookup")
			}
			ratio := func(x, y int) float64 {
				r := make([]float64, len(rounds[x]))
				for k := range r {
					r[k] = rounds[x][k] / rounds[y][k]
				}
				return median(r)
			}
			b.ReportMetric(ratio(0, 2), "verdict/bart")
			b.ReportMetric(ratio(0, 3), "verdict/bartfast")
			b.ReportMetric(ratio(1, 2), "verdict+summary/bart")
			_ = sink
		})
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
