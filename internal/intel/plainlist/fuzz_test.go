package plainlist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

// FuzzReader checks that no input panics or loops, that every error is a
// *intel.ParseError with a line inside the document, and that every
// subject read re-formats to text that reads back as the same subject.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.txt") {
		f.Add(b, false)
	}
	f.Add([]byte("192.0.2.0-192.0.2.255\n2001:db8::-2001:db8::ffff ; r\n"), false)
	f.Add([]byte("64496\nAS1\n::ffff:0:0/96\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, asn bool) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz", Params: map[string]string{"asn": fmt.Sprint(asn)}})
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > lines*300 {
				t.Fatalf("more than %d results from %d lines", i, lines)
			}
			ind, err := rd.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				var pe *intel.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Read() = %v, want a *intel.ParseError", err)
				}
				if pe.Line < 1 || pe.Line > lines {
					t.Fatalf("Read() error at line %d, document has %d", pe.Line, lines)
				}
				continue
			}
			if ind.Source.Line < 1 || ind.Source.Line > lines {
				t.Fatalf("indicator at line %d, document has %d", ind.Source.Line, lines)
			}
			text := ind.Subject.String()
			again, err := NewReader(strings.NewReader(text+"\n"), intel.Options{Name: "again"})
			if err != nil {
				t.Fatal(err)
			}
			back, err := again.Read()
			if err != nil || back.Subject != ind.Subject {
				t.Fatalf("subject %v re-formats to %q, which reads back as %v, %v", ind.Subject, text, back.Subject, err)
			}
		}
	})
}

// BenchmarkReadIpsum measures reading an ipsum.txt-shaped list: one
// address and a count per line.
func BenchmarkReadIpsum(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("# IPsum Threat Intelligence Feed\n#\n")
	const lines = 100_000
	for i := range lines {
		fmt.Fprintf(&buf, "%d.%d.%d.%d\t%d\n", 1+i%223, (i>>8)&255, i&255, (i*7)&255, 1+i%9)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "ipsum.txt"})
		if err != nil {
			b.Fatal(err)
		}
		if n := inteltest.ReadCount(b, rd); n != lines {
			b.Fatalf("read %d indicators, want %d", n, lines)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(lines*b.N), "allocs/line")
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
