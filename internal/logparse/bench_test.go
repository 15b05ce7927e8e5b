package logparse

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// sshlog returns the lines of a 1,000,000-line log written by the shared
// generator (../shared/gen/sshlog), generated once into a temporary
// directory, or $PROXYWATCH_BENCH_SSHLOG when set.
func sshlog(b *testing.B) [][]byte {
	b.Helper()
	path := os.Getenv("PROXYWATCH_BENCH_SSHLOG")
	if path == "" {
		gen := filepath.Join(itest.ModuleRoot(b), "..", "shared", "gen", "sshlog")
		if _, err := os.Stat(filepath.Join(gen, "main.go")); err != nil {
			b.Skipf("sshlog generator: %v (set PROXYWATCH_BENCH_SSHLOG to a log)", err)
		}
		path = filepath.Join(b.TempDir(), "auth.log")
		cmd := exec.Command("go", "run", ".", "-n", "1000000", "-out", path, "-end", "2026-08-31T00:00:00Z")
		cmd.Dir = gen
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("sshlog generator: %v\n%s", err, out)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// runBench parses lines round-robin, one line per op, and reports lines/s.
func runBench(b *testing.B, p Parser, lines [][]byte) {
	b.Helper()
	var ev proxywatch.Event
	for _, l := range lines { // warm the intern and connection tables
		p.Parse(l, 1, &ev)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(lines[0])))
	i := 0
	start := time.Now()
	for b.Loop() {
		p.Parse(lines[i], uint64(i), &ev)
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkSSHD parses the generator's 1M-line Debian auth.log, one line
// per op: parse alone, one core.
func BenchmarkSSHD(b *testing.B) {
	lines := sshlog(b)
	runBench(b, testSSHD(b), lines)
}

func BenchmarkAccess(b *testing.B) {
	lines := fileLines(b, "access/presets.log", "access/crowdsec-hub.log", "access/basjes-sample.log")
	runBench(b, testAccess(b), lines)
}

func BenchmarkJSON(b *testing.B) {
	lines := fileLines(b, "json/weblogin.jsonl")
	c := DefaultJSONConfig()
	p, err := NewJSON(c, "test")
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, p, lines)
}

func fileLines(tb testing.TB, names ...string) [][]byte {
	var lines [][]byte
	for _, n := range names {
		for _, l := range readLines(tb, filepath.Join("testdata", n)) {
			lines = append(lines, []byte(l))
		}
	}
	return lines
}

// TestParseAllocs requires warm parsers to parse their fixtures' event
// lines without allocating.
func TestParseAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	tests := []struct {
		name  string
		p     Parser
		files []string
	}{
		{"sshd", testSSHD(t), []string{"sshd/messages.log", "sshd/multiline.log", "sshd/rfc5424.log", "sshd/iso.log", "sshd/crowdsec-hub.log"}},
		{"journal", testSSHD(t), []string{"sshd/journal.jsonl"}},
		{"access", testAccess(t), []string{"access/presets.log", "access/crowdsec-hub.log", "access/basjes-sample.log"}},
		{"json", jsonParser(JSONFields{}, "")(t), []string{"json/weblogin.jsonl"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev proxywatch.Event
			var good [][]byte
			for _, l := range fileLines(t, tc.files...) {
				if _, err := tc.p.Parse(l, 1, &ev); err == nil { // errors allocate, by design
					good = append(good, l)
				}
			}
			allocs := testing.AllocsPerRun(20, func() {
				for _, l := range good {
					tc.p.Parse(l, 1, &ev)
				}
			})
			if allocs != 0 {
				t.Errorf("Parse of %d warm lines: %v allocations per run, want 0", len(good), allocs)
			}
		})
	}
}
