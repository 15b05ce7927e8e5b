package flowwatch

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// BenchmarkCapture runs the detectors, as the daemon feeds them (batches
// from the stitcher), over the sessions of a flow capture:
// FLOWWATCH_BENCH_PCAP names an IPFIX or NetFlow capture (the one
// bench/flows/detect.sh makes), FLOWWATCH_BENCH_TRUTH its simulator truth
// file (for the inside prefixes), FLOWWATCH_BENCH_SESSIONS how many
// sessions to hold in memory (default 1,000,000). One iteration is one
// pass over all of them with a new Watch.
func BenchmarkCapture(b *testing.B) {
	pcap, truthPath := os.Getenv("FLOWWATCH_BENCH_PCAP"), os.Getenv("FLOWWATCH_BENCH_TRUTH")
	if pcap == "" || truthPath == "" {
		b.Skip("FLOWWATCH_BENCH_PCAP and FLOWWATCH_BENCH_TRUTH not set")
	}
	limit := 1_000_000
	if v := os.Getenv("FLOWWATCH_BENCH_SESSIONS"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := os.ReadFile(truthPath)
	if err != nil {
		b.Fatal(err)
	}
	tf, err := truth.ReadFile(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(pcap)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapread.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	sr, err := stitch.NewReader(netflow.NewReader(pr, pcap, netflow.Options{}), stitch.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var ss []flow.Session
	for len(ss) < limit {
		s, err := sr.ReadSession()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		ss = append(ss, s)
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Inside = true, tf.Inside
	const batch = 1024
	b.ReportAllocs()
	b.ResetTimer()
	var st Stats
	for b.Loop() {
		w, err := New(cfg, Deps{OnFinding: discardFinding, OnIndicator: discardIndicator})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(ss); i += batch {
			w.ProcessBatch(ss[i:min(i+batch, len(ss))])
		}
		w.Flush()
		st = w.Stats()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ss)), "ns/session")
	b.Logf("%d sessions: %d findings, %d indicators, %d rounds", len(ss), st.Findings, st.Promoted, st.Evals)
}

func discardFinding(proxywatch.Finding)     {}
func discardIndicator(proxywatch.Indicator) {}

// BenchmarkScoreBeacon scores one pair with a full ring of jittered
// five-minute beacons.
func BenchmarkScoreBeacon(b *testing.B) {
	var p pairState
	x := uint64(7)
	t := int64(1_700_000_000e6)
	for range 40 {
		x = mix64(x)
		t += 300e6 + int64(x%20e6)
		p.add(t, t+1e6, 200+x%7, false)
	}
	var scratch []float64
	b.ReportAllocs()
	for b.Loop() {
		_, scratch = scoreBeacon(&p, t+60e6, 24*3600e6, scratch)
	}
}
