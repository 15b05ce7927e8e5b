package stitch_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
)

// BenchmarkStitch stitches request and reply records of many short UDP
// and TCP exchanges between 1,000,000 inside hosts and 10,000 servers, in
// time order, with the default table size; it reports records per second
// and the heap the stitcher holds (bounded by its table size, whatever the
// number of records and hosts).
func BenchmarkStitch(b *testing.B) {
	const hosts, servers = 1_000_000, 10_000
	recs := make([]flow.Record, 0, 2*200_000)
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 200_000 {
		h := uint32(i*7919) % hosts
		s := uint32(i*104729) % servers
		src := netip.AddrFrom4([4]byte{byte(10 + h>>16), byte(h >> 8), byte(h), 1})
		dst := netip.AddrFrom4([4]byte{203, 0, byte(s >> 8), byte(s)})
		at := t0.Add(time.Duration(i) * time.Millisecond)
		proto := uint8(flow.ProtoUDP)
		if i%3 == 0 {
			proto = flow.ProtoTCP
		}
		port := uint16(32768 + i%28000)
		recs = append(recs,
			flow.Record{Start: at, End: at.Add(20 * time.Millisecond), Src: src, Dst: dst, SrcPort: port, DstPort: 443, Proto: proto, TCPFlags: 0x1b, Packets: 5, Bytes: 900, SamplingRate: 1},
			flow.Record{Start: at.Add(time.Millisecond), End: at.Add(20 * time.Millisecond), Src: dst, Dst: src, SrcPort: 443, DstPort: port, Proto: proto, TCPFlags: 0x1b, Packets: 4, Bytes: 4000, SamplingRate: 1})
	}
	n := 0
	emit := func(flow.Session) { n++ }
	var base, held runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base) // the input records
	b.ResetTimer()
	for b.Loop() {
		s, err := stitch.New(stitch.DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		for i := range recs {
			s.Add(&recs[i], emit)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&held)
		s.Flush(emit)
		b.StartTimer()
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(held.HeapAlloc-base.HeapAlloc)/(1<<20), "stitcher-MiB")
}
