package tail

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRead reads a 200,000-line file through a follower (batch
// mode), one line per op, and reports lines/s.
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	const lines = 200000
	for i := range lines {
		fmt.Fprintf(w, "Aug 30 00:00:%02d bastion sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n", i%60, 1000+i, i%256, 1024+i%60000)
	}
	w.Flush()
	f.Close()
	b.ReportAllocs()
	var r *Reader
	n := 0
	start := time.Now()
	for b.Loop() {
		if r == nil || n == lines {
			if r != nil {
				r.Close()
			}
			r, n = OpenFiles(Config{Name: "bench"}, []string{path}), 0
		}
		if _, err := r.Next(b.Context()); err != nil && err != io.EOF {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
	r.Close()
}
