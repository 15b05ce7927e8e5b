package sim

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// BenchmarkGenerate runs a scenario with every default output and then
// writes the same number of bytes to the same files with no simulation,
// reporting both rates and their ratio (simulation time over plain write
// time: 1 would mean the simulation costs nothing beyond the I/O).
// PROXYWATCH_SIM_BENCH_SCENARIO, _SIZE and _DIR choose the scenario
// (default smoke), the size (small) and where to write (a temporary
// directory); bench/sim/run.sh runs 5socks at full size (13 M sessions).
func BenchmarkGenerate(b *testing.B) {
	sc, err := LoadScenario(envOr("PROXYWATCH_SIM_BENCH_SCENARIO", "smoke"))
	if err != nil {
		b.Fatal(err)
	}
	size := envOr("PROXYWATCH_SIM_BENCH_SIZE", SizeSmall)
	dir := envOr("PROXYWATCH_SIM_BENCH_DIR", b.TempDir())
	var simTime, writeTime time.Duration
	var sum Summary
	var total int64
	for b.Loop() {
		out := filepath.Join(dir, "sim")
		_ = os.RemoveAll(out)
		t0 := time.Now()
		sum, err = Run(b.Context(), sc, Options{OutDir: out, Size: size})
		if err != nil {
			b.Fatal(err)
		}
		simTime += time.Since(t0)
		plain := filepath.Join(dir, "plain")
		_ = os.RemoveAll(plain)
		if err := os.MkdirAll(plain, 0o755); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		total = 0
		for _, f := range sum.Files {
			if err := writeSame(filepath.Join(out, f.Name), filepath.Join(plain, f.Name), f.Bytes); err != nil {
				b.Fatal(err)
			}
			total += f.Bytes
		}
		writeTime += time.Since(t0)
		_ = os.RemoveAll(plain)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sum.Conns), "conns")
	b.ReportMetric(float64(sum.FlowRecords), "flow-records")
	b.ReportMetric(float64(total)/1e6, "MB")
	b.ReportMetric(float64(sum.Conns)*n/simTime.Seconds(), "conns/s")
	b.ReportMetric(float64(total)*n/simTime.Seconds()/1e6, "sim-MB/s")
	b.ReportMetric(float64(total)*n/writeTime.Seconds()/1e6, "write-MB/s")
	b.ReportMetric(simTime.Seconds()/writeTime.Seconds(), "sim/write")
}

// writeSame writes n bytes to dst, repeating the first MiB of src, through
// the same kind of buffered writer the outputs use.
func writeSame(src, dst string, n int64) error {
	buf := make([]byte, 1<<20)
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	m, _ := f.Read(buf)
	f.Close()
	buf = buf[:max(m, 1)]
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 256<<10)
	for n > 0 {
		k := min(int64(len(buf)), n)
		if _, err := w.Write(buf[:k]); err != nil {
			out.Close()
			return err
		}
		n -= k
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
