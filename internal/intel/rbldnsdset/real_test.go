package rbldnsdset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// TestGeneratedZone reads a zone made by ../shared/gen/rbl/genrbl.py
// (--entries 2000 --zone bl.test, seed 1): 1900 addresses and 100 CIDRs
// under a $TTL 300 and a default value. The expected subjects are the
// lines that are not comments, specials or the default line.
func TestGeneratedZone(t *testing.T) {
	path := filepath.Join("testdata", "generated.ip4set")
	rd, err := New(inteltest.Open(t, path), intel.Options{Name: "bl.test", Params: map[string]string{"dataset": "ip4set"}})
	if err != nil {
		t.Fatal(err)
	}
	inds, errs := inteltest.Drain(t, rd)
	if len(errs) != 0 {
		t.Errorf("read %s: %d refusals, first %v", path, len(errs), errs[0])
	}
	const comment = "127.0.0.2 Listed in bl.test test list, see http://bl.test/lookup?ip=$"
	got := map[proxywatch.Subject]bool{}
	for _, ind := range inds {
		got[ind.Subject] = true
		if ind.Comment != comment {
			t.Fatalf("line %d: Comment = %q, want %q", ind.Source.Line, ind.Comment, comment)
		}
	}
	want := scanEntries(t, path)
	if len(want) != 2000 || len(inds) != len(want) {
		t.Errorf("read %s: %d indicators, %d entries scanned, want 2000 each", path, len(inds), len(want))
	}
	for _, s := range want {
		if !got[s] {
			t.Errorf("read %s: %v not read", path, s)
		}
	}
	if rd.TTL() != 300*time.Second {
		t.Errorf("TTL() = %v, want 5m0s", rd.TTL())
	}
}

// TestRealFiles reads FireHOL netsets and ipsets, which rbldnsd serves as
// ip4set datasets unchanged, and X4BNet's IPv6 list as an ip6trie. The
// expected counts are the lines that are neither blank nor comments:
//
//	awk '{sub(/[#;].*/,""); gsub(/^[ \t\r]+|[ \t\r]+$/,"")} $0!=""' FILE | wc -l
func TestRealFiles(t *testing.T) {
	tests := []struct {
		file     string
		dataset  string
		accepted int
	}{
		{"firehol-2017-10-15/firehol_level1.netset", "ip4set", 6656},
		{"firehol-2017-10-15/firehol_proxies.netset", "ip4trie", 28470},
		{"firehol-2017-10-15/socks_proxy_7d.ipset", "auto", 3127},
		{"spamhaus-drop-secops/drop.txt", "ip4trie", 989},
		{"x4bnet-lists_vpn/output/vpn/ipv6.txt", "ip6trie", 498},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := itest.Data(t, filepath.Join("blocklists", tt.file))
			rd := inteltest.OpenReader(t, New, path, map[string]string{"dataset": tt.dataset})
			inds, errs := inteltest.Drain(t, rd)
			if len(inds) != tt.accepted || len(errs) != 0 {
				t.Errorf("read %s: %d accepted, %d refused (first %v), want %d and 0", tt.file, len(inds), len(errs), inteltest.First(errs), tt.accepted)
			}
			got := map[proxywatch.Subject]bool{}
			for _, ind := range inds {
				got[ind.Subject] = true
			}
			for _, s := range scanEntries(t, path) {
				if !got[s] {
					t.Errorf("read %s: %v not read", tt.file, s)
				}
			}
		})
	}
}

// scanEntries returns the first field of each entry line, parsed apart
// from the reader.
func scanEntries(t *testing.T, path string) []proxywatch.Subject {
	t.Helper()
	var out []proxywatch.Subject
	sc := bufio.NewScanner(inteltest.Open(t, path))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.ContainsAny(f[0][:1], "#;$:") {
			continue
		}
		s, err := proxywatch.ParseSubject(f[0])
		if err != nil {
			t.Fatalf("scan %s: %v", path, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzReader checks that no input panics or loops, that errors are parse
// errors, that exclusions are valid prefixes, and that each prefix read
// re-formats to an entry that reads back as the same prefix.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.txt") {
		f.Add(b, "auto")
	}
	f.Add([]byte("2001:db8:1/40 :2:x\n!2001:db8:1::1\n"), "ip6trie")
	f.Add([]byte("$MAXRANGE4 16\n192.0.2.0-192.0.2.200\n192.0.2.1-9\n"), "ip4set")
	f.Fuzz(func(t *testing.T, data []byte, dataset string) {
		if _, ok := datasetNames[dataset]; !ok {
			dataset = "auto"
		}
		rd, err := New(bytes.NewReader(data), intel.Options{Name: "fuzz", Params: map[string]string{"dataset": dataset}})
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > 64*lines+64 {
				t.Fatalf("more than %d results from %d lines", i, lines)
			}
			ind, err := rd.Read()
			if err == io.EOF {
				break
			}
			var pe *intel.ParseError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				t.Fatalf("Read() = %v, want a parse error", err)
			}
			p := ind.Subject.Prefix
			again, err := New(strings.NewReader(p.String()+"\n"), intel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := again.Read()
			if err != nil || back.Subject != ind.Subject {
				t.Fatalf("%v re-formats to %q, which reads back as %v, %v", p, p.String(), back.Subject, err)
			}
		}
		for _, p := range rd.Exclusions() {
			if !p.IsValid() || p.Masked() != p {
				t.Fatalf("Exclusions() holds %v", p)
			}
		}
	})
}

// BenchmarkReadZone measures reading a zone shaped like genrbl.py's: a
// default value, then addresses with one CIDR in twenty.
func BenchmarkReadZone(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("$TTL 300\n:127.0.0.2:Listed in bl.test, see http://bl.test/lookup?ip=$\n")
	const lines = 100_000
	for i := range lines {
		if i%20 == 0 {
			fmt.Fprintf(&buf, "%d.%d.%d.0/24\n", 1+i%223, (i>>8)&255, i&255)
		} else {
			fmt.Fprintf(&buf, "%d.%d.%d.%d\n", 1+i%223, (i>>8)&255, i&255, (i*7)&255)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := New(bytes.NewReader(data), intel.Options{Name: "bl.test"})
		if err != nil {
			b.Fatal(err)
		}
		if n := inteltest.ReadCount(b, rd); n != lines {
			b.Fatalf("read %d indicators, want %d", n, lines)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
