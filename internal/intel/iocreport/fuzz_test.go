package iocreport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

// FuzzReader checks that the reader never panics, always ends, and that
// every indicator it returns is valid and reads back alone: an address or
// prefix written on a line of its own, or a domain written defanged, gives
// the same subject again.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.txt") {
		f.Add(b)
	}
	for _, s := range []string{
		"C2s:\n192.0.2[.]1 - note\nFirst Seen: 2024-01-02; Description: C2\n",
		"IP\tFirst Seen\tLast Seen\n192.0.2.1\tMay 19,2025\tJune 2 2025\n",
		"C2 IP,Targeted IP\n192.0.2.1,192.0.2.2\n",
		"hxxps://c2.example[.]com:8443/x?a=b hxxp://[2001:db8::1]:80/ ops@example[.]com\n",
		"['192[.]0[.]2[.]1', '192.0.2[.2']\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		inteltest.CheckReads(t, rd, 2*len(data)+16, func(ind proxywatch.Indicator) {
			if ind.Source.Feed != "fuzz" || ind.Source.Line <= 0 {
				t.Fatalf("Read() = %+v: no feed or line", ind)
			}
			if got := readBack(t, ind.Subject); got != ind.Subject {
				t.Fatalf("subject %v read back alone as %v", ind.Subject, got)
			}
		})
	})
}

// readBack writes s alone on a line, defanged when it is a domain, and
// returns the subject the reader gives for it.
func readBack(t *testing.T, s proxywatch.Subject) proxywatch.Subject {
	t.Helper()
	line := s.String()
	if s.Type() == proxywatch.SubjectDomain {
		i := strings.LastIndexByte(line, '.')
		line = line[:i] + "[.]" + line[i+1:]
	}
	rd, _ := NewReader(strings.NewReader(line+"\n"), intel.Options{Name: "back"})
	ind, err := rd.Read()
	if err != nil {
		t.Fatalf("reading back %q: %v", line, err)
	}
	return ind.Subject
}
