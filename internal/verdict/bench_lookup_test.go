package verdict

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaissmai/bart"
)

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
