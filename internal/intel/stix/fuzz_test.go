package stix

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.json") {
		f.Add(b)
	}
	f.Add([]byte(`[{"type":"indicator","pattern":"[ipv4-addr:value='192.0.2.1'] OR [domain-name:value='c2.example.org']"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		// Each Read consumes input or returns queued results, so a document
		// of n bytes cannot give many more than n results.
		inteltest.CheckReads(t, rd, 4*len(data)+16, func(ind proxywatch.Indicator) {
			if ind.Subject.Type() == proxywatch.SubjectNone || ind.Confidence > proxywatch.MaxConfidence || ind.Source.Feed != "fuzz" {
				t.Fatalf("Read() = %+v, want a valid indicator", ind)
			}
			if _, err := proxywatch.ParseSubject(ind.Subject.String()); err != nil {
				t.Fatalf("subject %q does not read back: %v", ind.Subject, err)
			}
		})
	})
}

// FuzzPattern checks that parsing never panics and that what parses
// writes back to a form that parses to the same tree.
func FuzzPattern(f *testing.F) {
	for _, p := range []string{
		"[ipv4-addr:value = '192.0.2.1']",
		"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port = 22]",
		"[file:hashes.'SHA-256' = 'it\\'s'] OR [x-a:b[*].c IN (1, 2.5, true)] FOLLOWEDBY [a:b NOT LIKE 'x'] REPEATS 2 TIMES",
		"([a:b = 1] AND [c:d = h'ff']) WITHIN 5 SECONDS START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
		"[(a:b = 1 OR c:d = 2) AND EXISTS e:f]",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parsePattern(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("parsePattern(%q) = %T %v, want a *SyntaxError", s, err, err)
			}
			return
		}
		evalPattern(e)
		text := patternString(e)
		e2, err := parsePattern(text)
		if err != nil {
			t.Fatalf("parsePattern(patternString(parsePattern(%q))) = %v; written form %q", s, err, text)
		}
		if text2 := patternString(e2); text2 != text {
			t.Fatalf("round trip of %q: %q, then %q", s, text, text2)
		}
	})
}

const talosBruteForce = "stix-misp/cisco-talos-iocs/2024/04/large-scale-brute-force-activity-targeting-vpns-ssh-services-with-commonly-used-login-credentials.json"

// BenchmarkTalos reads the 2.4 MB Talos bundle (3,926 indicators).
func BenchmarkTalos(b *testing.B) {
	data, err := os.ReadFile(itest.Data(b, talosBruteForce))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, _ := NewReader(bytes.NewReader(data), intel.Options{Name: "talos"})
		if n := inteltest.ReadCount(b, rd); n != 3926 {
			b.Fatalf("read %d indicators, want 3926", n)
		}
	}
}

// TestTalosLowMemory checks that reading the Talos bundle from a file
// keeps the live heap flat: it samples the heap after a GC every 500
// indicators and wants it to stay within 1 MiB of where it started, well
// under the file's 2.4 MB (decoding the whole bundle at once takes several
// times the file's size). What it does hold is the decoder's buffer, sized
// by the largest single object: the report, whose 3,927 object_refs take
// about 200 KB.
func TestTalosLowMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("samples the heap with forced GCs")
	}
	rd := open(t, itest.Data(t, talosBruteForce))
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	for n := 0; ; n++ {
		_, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n%500 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if grew := int64(peak) - int64(base); grew > 1<<20 {
		t.Errorf("live heap grew by %d bytes while reading, want at most 1 MiB", grew)
	} else {
		t.Logf("live heap grew by at most %d bytes", grew)
	}
}
