package authwatch

import (
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

type discard struct{ alerts, decisions int }

func (d *discard) Alert(proxywatch.Alert)       { d.alerts++ }
func (d *discard) Decision(proxywatch.Decision) { d.decisions++ }

var userNames = []string{"root", "admin", "test", "oracle", "ubuntu", "alice", "bob", "carla", "dora", "eve"}

// floodEvent returns the i-th event of a flood in which every event comes
// from a new address (IPv4 and IPv6 mixed), 10 ms apart.
func floodEvent(t0 time.Time, i int) proxywatch.Event {
	var a netip.Addr
	if i%4 == 3 {
		a = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 0, 0, 0, 1})
	} else {
		a = netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
	}
	typ := proxywatch.EventInvalidUser
	if i%3 == 0 {
		typ = proxywatch.EventLoginFailure
	}
	return proxywatch.Event{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Type: typ, Service: []string{"ssh", "web"}[i%2],
		Addr: a, Port: uint16(1024 + i%60000), User: userNames[i%len(userNames)], Method: "password", Source: "flood", Seq: uint64(i)}
}

// BenchmarkMemoryMillionSources feeds a million distinct failing source
// addresses (a campaign of a million participants, each trying once) and
// checks that the live heap stays under Config.MemoryEstimate. Run it
// with -benchtime=1x.
func BenchmarkMemoryMillionSources(b *testing.B) {
	const n = 1_000_000
	cfg := DefaultConfig()
	estimate := cfg.MemoryEstimate()
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		runtime.GC()
		var before, ms runtime.MemStats
		runtime.ReadMemStats(&before)
		out := &discard{}
		w, err := New(cfg, Deps{Out: out})
		if err != nil {
			b.Fatal(err)
		}
		var peak uint64
		warmUp(w, t0)
		for i := 0; i < n; i++ {
			w.Process(floodEvent(t0.Add(warm), i))
			if i%(n/10) == n/10-1 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc-min(before.HeapAlloc, ms.HeapAlloc))
			}
		}
		w.Flush()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc-min(before.HeapAlloc, ms.HeapAlloc))
		st := w.Stats()
		runtime.KeepAlive(w)
		b.ReportMetric(float64(peak)/(1<<20), "live-MiB")
		b.ReportMetric(float64(estimate)/(1<<20), "estimate-MiB")
		b.ReportMetric(float64(st.Participants), "participants")
		b.ReportMetric(float64(st.MembersFolded), "folded")
		if int64(peak) > estimate {
			b.Errorf("live heap %d MiB after a million sources, over the estimate of %d MiB", peak>>20, estimate>>20)
		}
		if st.SourcesEvict == 0 || st.Participants < n/2 {
			b.Errorf("stats %+v: want evictions and most sources identified", st)
		}
	}
}

// assessWatch returns a Watch with some state: a brute forcer, a campaign
// in progress, and known users.
func assessWatch(tb testing.TB) *Watch {
	tb.Helper()
	w, err := New(DefaultConfig(), Deps{Out: &discard{}})
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 200)})
		w.Process(proxywatch.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: proxywatch.EventLoginSuccess,
			Service: "web", Addr: a, User: userNames[i%len(userNames)], Method: "form"})
	}
	t1 := t0.Add(48 * time.Hour)
	for i := 0; i < 20000; i++ {
		ev := floodEvent(t1, i)
		ev.Time = t1.Add(time.Duration(i) * 200 * time.Millisecond)
		w.Process(ev)
	}
	return w
}

// BenchmarkAssess measures Assess and reports the 99th percentile of the
// per-call latency (the goal is under 50 µs).
func BenchmarkAssess(b *testing.B) {
	w := assessWatch(b)
	probes := make([]netip.Addr, 4096)
	for i := range probes {
		switch i % 3 {
		case 0:
			probes[i] = netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		case 1:
			probes[i] = floodEvent(time.Time{}, i*4).Addr
		default:
			probes[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		}
	}
	lat := make([]time.Duration, 0, 1<<20)
	i := 0
	for b.Loop() {
		t := time.Now()
		a := w.Assess(probes[i%len(probes)], userNames[i%len(userNames)], OutcomeFailure)
		d := time.Since(t)
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
		if a.Score < 0 || a.Score > 100 {
			b.Fatalf("Assess score %d out of range", a.Score)
		}
		i++
	}
	slices.Sort(lat)
	p99 := lat[(len(lat)*99)/100]
	b.ReportMetric(float64(p99.Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	if p99 > 50*time.Microsecond {
		b.Errorf("Assess p99 %s, want under 50µs", p99)
	}
}

// BenchmarkProcess measures the detectors' cost per event on a flood of
// new sources.
func BenchmarkProcess(b *testing.B) {
	w, err := New(DefaultConfig(), Deps{Out: &discard{}})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	warmUp(w, t0)
	i := 0
	for b.Loop() {
		w.Process(floodEvent(t0.Add(warm), i))
		i++
	}
}
