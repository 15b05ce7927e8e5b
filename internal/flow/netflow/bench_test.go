package netflow_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gfnetflow "github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// benchPayloads returns the export datagrams of the IPFIX pcap named by
// PROXYWATCH_BENCH_IPFIX (bench/flows/decode.sh makes a large one with the
// simulator), at most PROXYWATCH_BENCH_MAX of them, else of a small
// simulator run.
func benchPayloads(b *testing.B) [][]byte {
	b.Helper()
	path := os.Getenv("PROXYWATCH_BENCH_IPFIX")
	if path == "" {
		sc, err := sim.LoadScenario("smoke")
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		if _, err := sim.Run(b.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutIPFIX}}); err != nil {
			b.Fatal(err)
		}
		path = filepath.Join(dir, sim.OutputFiles[sim.OutIPFIX])
	}
	limit, _ := strconv.Atoi(os.Getenv("PROXYWATCH_BENCH_MAX"))
	ps, err := readPcapPayloadsMax(path, limit)
	if err != nil {
		b.Fatal(err)
	}
	return ps
}

// BenchmarkDecode decodes every datagram of an IPFIX capture into
// flow.Records on one goroutine, reusing the record buffer as the
// collector does.
func BenchmarkDecode(b *testing.B) {
	ps := benchPayloads(b)
	exp := netip.MustParseAddr("198.18.255.1")
	var recs []flow.Record
	now := time.Now()
	n := 0
	b.ResetTimer()
	for b.Loop() {
		dec := netflow.NewDecoder(netflow.Options{})
		n = 0
		for _, p := range ps {
			recs, _ = dec.Decode(recs[:0], p, exp, now)
			n += len(recs)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(n), "flows")
}

// BenchmarkDecodeGoflow2 decodes the same datagrams with goflow2's decoder
// alone (templates and data sets to its []DataField records, no
// conversion to flow records), the baseline the decoder is compared with.
func BenchmarkDecodeGoflow2(b *testing.B) {
	ps := benchPayloads(b)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		ts := gfnetflow.CreateTemplateSystem()
		n = 0
		for _, p := range ps {
			var v9 gfnetflow.NFv9Packet
			var ipfix gfnetflow.IPFIXPacket
			if err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(p), ts, &v9, &ipfix); err != nil {
				b.Fatal(err)
			}
			sets := ipfix.FlowSets
			if binary.BigEndian.Uint16(p) == 9 {
				sets = v9.FlowSets
			}
			for _, s := range sets {
				if ds, ok := s.(gfnetflow.DataFlowSet); ok {
					n += len(ds.Records)
				}
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	b.ReportMetric(float64(n), "flows")
}
