package flowwatch

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// synth generates sessions of a large network: hosts inside hosts in
// 10.0.0.0/8 talking to sites outside (skewed to popular ones), a share of
// them answering outside clients, over a day of event time.
type synth struct {
	x     uint64
	hosts uint32
	sites uint32
	t     time.Time
	step  time.Duration
}

func newSynth(hosts, sites uint32, sessions int) *synth {
	return &synth{x: 0x9e3779b97f4a7c15, hosts: hosts, sites: sites,
		t: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), step: 24 * time.Hour / time.Duration(sessions)}
}

func (g *synth) rand() uint64 {
	g.x += 0x9e3779b97f4a7c15
	return mix64(g.x)
}

var insideNet = netip.MustParsePrefix("10.0.0.0/8")

func (g *synth) next(s *flow.Session) {
	r := g.rand()
	h := uint32(r % uint64(g.hosts))
	in := netip.AddrFrom4([4]byte{10, byte(h >> 16), byte(h >> 8), byte(h)})
	// Popular sites more often: the square of a uniform variable.
	u := float64(r>>40) / float64(1<<24)
	site := uint32(u * u * float64(g.sites))
	out := netip.AddrFrom4([4]byte{198, 19 + byte(site>>16&1), byte(site >> 8), byte(site)})
	g.t = g.t.Add(g.step)
	*s = flow.Session{Start: g.t.Add(-time.Duration(r>>52) * time.Millisecond), Duration: time.Duration(r>>50) * time.Millisecond,
		Proto: flow.ProtoTCP, OrigPackets: 8 + r>>60, RespPackets: 12 + r>>59, OrigBytes: 600 + r>>52, RespBytes: 9000 + r>>48}
	port := uint16(443)
	if r&7 == 0 {
		port = uint16(1024 + r>>20%50000) // unusual ports, P2P-like
	}
	if r&31 == 1 {
		// An outside client served by the host.
		s.Orig, s.Resp = netip.AddrPortFrom(out, uint16(33000+r>>24%20000)), netip.AddrPortFrom(in, port)
		return
	}
	s.Orig, s.Resp = netip.AddrPortFrom(in, uint16(33000+r>>24%20000)), netip.AddrPortFrom(out, port)
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// TestMemoryFlat feeds many sessions from a million inside hosts and
// checks that the heap stops growing once the tables are full. The full
// run (FLOWWATCH_MEM_SESSIONS=10000000, bench/flowwatch/memory.sh) takes a
// minute; the suite runs a short one.
func TestMemoryFlat(t *testing.T) {
	n := 600_000
	if v := os.Getenv("FLOWWATCH_MEM_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	} else if testing.Short() || raceEnabled {
		t.Skip("memory run: skipped in -short mode and under the race detector")
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Inside = true, []netip.Prefix{insideNet}
	if os.Getenv("FLOWWATCH_MEM_SESSIONS") == "" {
		// Small limits, so that the short run fills them.
		cfg.Limits = Limits{Pairs: 4096, Endpoints: 4096, Hosts: 4096, Relays: 1024, Findings: 1024}
	}
	w, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g := newSynth(1_000_000, 200_000, n)
	base := heapMiB()
	var s flow.Session
	var samples []float64
	began := time.Now()
	var busy time.Duration
	for i := 1; i <= n; i++ {
		g.next(&s)
		w.Process(s)
		if i%(n/10) == 0 {
			busy += time.Since(began)
			samples = append(samples, heapMiB()-base)
			_ = w.Findings()
			began = time.Now()
		}
	}
	st := w.Stats()
	t.Logf("%d sessions from 1,000,000 inside hosts: heap above baseline at each tenth (MiB): %.1f", n, samples)
	t.Logf("%.0f sessions/s (one goroutine, including generation), %d evictions, %d rounds",
		float64(n)/busy.Seconds(), st.Evictions, st.Evals)
	fmt.Printf("memory: sessions=%d hosts=1000000 heap_mib_by_tenth=%.1f sessions_per_s=%.0f\n", n, samples, float64(n)/busy.Seconds())
	// Flat: the second half grows by less than a tenth of the peak.
	half := samples[len(samples)/2-1]
	last := samples[len(samples)-1]
	if last > half*1.1+4 {
		t.Errorf("heap grew from %.1f MiB (half way) to %.1f MiB (end): not flat", half, last)
	}
}

// BenchmarkProcess measures the detectors alone, per session, on the
// synthetic network of TestMemoryFlat.
func BenchmarkProcess(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Inside = true, []netip.Prefix{insideNet}
	w, err := New(cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	g := newSynth(1_000_000, 200_000, 10_000_000)
	ss := make([]flow.Session, 1<<16)
	for i := range ss {
		g.next(&ss[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := ss[i&(len(ss)-1)]
		// Keep event time moving, as the real stream does.
		s.Start = s.Start.Add(time.Duration(i>>16) * 24 * time.Hour / 160)
		w.Process(s)
		i++
	}
}
