package app

import (
	"context"
	"os"
	"testing"
)

// BenchmarkScanLogs runs `logs scan` over the sshd log named by
// PROXYWATCH_BENCH_SSHLOG (for instance the 1M-line log of
// ../shared/gen/sshlog that bench/logins/sidebyside.sh generates).
func BenchmarkScanLogs(b *testing.B) {
	path := os.Getenv("PROXYWATCH_BENCH_SSHLOG")
	if path == "" {
		b.Skip("PROXYWATCH_BENCH_SSHLOG not set")
	}
	cfg := testConfig(b)
	l, err := OpenLocal(context.Background(), cfg, quiet())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		sum, err := l.ScanLogs(context.Background(), ScanOptions{Format: "sshd", Files: []string{path}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sum.Lines), "lines")
	}
}
