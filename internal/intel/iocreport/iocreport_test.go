package iocreport

import (
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

const (
	secC2    = "C2s used by the example proxy network"
	secURLs  = "Primary Command and Control server with URLs / Observed on 2024 May"
	secTable = "Indicators of Compromise / (Feb 7, 2024 release)"
)

func TestReaderFixtures(t *testing.T) {
	tests := []struct {
		file        string
		want        []result
		wantSkipped map[string]int
	}{
		{
			file: "report.txt",
			want: []result{
				// The first sentence names a kind before any header.
				{Line: 3, Subject: "192.0.2.1/32", Kind: "brute-force"},
				{Line: 4, Subject: "192.0.2.2/32", Kind: "brute-force"}, // broken defang "[.2"
				{Line: 7, Subject: "198.51.100.10/32", Kind: "c2", Section: secC2},
				{Line: 8, Subject: "198.51.100.11/32", Kind: "c2", Section: secC2}, // its comment's "c2s" is not a label
				{Line: 9, Subject: "198.51.100.12/32", Kind: "c2", Section: secC2, Port: 8443},
				{Line: 12, Subject: "203.0.113.20/32", Kind: "backconnect-c2", Section: "Backconnect C2s"},
				{Line: 13, Subject: "2001:db8::20/128", Kind: "backconnect-c2", Section: "Backconnect C2s"},
				{Line: 16, Subject: "203.0.113.30/32", Kind: "open-proxy", Section: "Intermediary Proxies", Port: 1080},
				{Line: 20, Subject: "203.0.113.40/32", Kind: "c2", Section: secURLs},
				{Line: 21, Subject: "c2.example.net", Kind: "c2", Section: secURLs, Port: 8080},
				{Line: 22, Subject: "cdn.example.org", Kind: "c2", Section: secURLs},
				{Line: 25, Subject: "evil.example.com", Kind: "unknown", Section: "Domains"},
				{Line: 26, Subject: "bad.example.com", Kind: "unknown", Section: "Domains"}, // bare, but leads its line
				{Line: 27, Reason: "excluded:file-name"},
				{Line: 28, Reason: "excluded:bare-name"}, // a bare name inside a sentence
				{Line: 28, Reason: "excluded:file-name"},
				{Line: 30, Subject: "2001:db8::/32", Kind: "unknown", Section: "Domains"},
				// Amended by the annotation lines that follow it.
				{Line: 31, Subject: "203.0.113.50/32", Kind: "malware-host", Section: "Domains", First: "2024-01-02"},
				{Line: 36, Reason: "excluded:hash"},
				{Line: 37, Reason: "excluded:hash"},
				{Line: 37, Reason: "excluded:file-name"},
				{Line: 38, Reason: "excluded:other-type"},
				{Line: 41, Reason: "excluded:target"},
				{Line: 42, Reason: "excluded:target"},
				{Line: 45, Reason: "refused:bad-address"},
				{Line: 46, Reason: "refused:bad-port"},
				{Line: 47, Subject: "192.0.2.8/32", Kind: "c2", Section: "Bad records"}, // "C2:" label
				{Line: 49, Subject: "192.0.2.9/32", Kind: "unknown", Section: "Bad records"},
			},
			wantSkipped: map[string]int{"annotation": 3, "header": 9, "prose": 2},
		},
		{
			file: "table.txt",
			want: []result{
				{Line: 5, Subject: "192.0.2.101/32", Kind: "c2", Section: secTable, First: "2023-12-05", Last: "2024-01-03"},
				{Line: 6, Subject: "192.0.2.102/32", Kind: "malware-host", Section: secTable, First: "2023-12-15", Last: "2023-12-15"},
				{Line: 7, Subject: "192.0.2.103/32", Kind: "c2", Section: secTable, First: "2022-02-07", Last: "2022-05-06"},
				// "C2 IP" names the kind; "Targeted IP" holds victims.
				{Line: 11, Subject: "198.51.100.1/32", Kind: "c2", Section: secTable, First: "2020-11-27", Last: "2020-12-14"},
				{Line: 11, Reason: "excluded:target"},
				{Line: 12, Subject: "198.51.100.2/32", Kind: "c2", Section: secTable, First: "2020-12-21", Last: "2020-12-21"},
				{Line: 15, Subject: "203.0.113.7/32", Kind: "unknown", Section: secTable, First: "2022-12-01", Last: "2023-08-01"},
				// Six comma fields under a four-column header: dates in order.
				{Line: 16, Subject: "203.0.113.8/32", Kind: "unknown", Section: secTable, First: "2022-12-11", Last: "2024-10-07"},
				{Line: 18, Subject: "example.net", Kind: "unknown", Section: secTable},
				{Line: 18, Subject: "198.51.100.9/32", Kind: "unknown", Section: secTable},
			},
			wantSkipped: map[string]int{"header": 2, "table-header": 4},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			rd := open(t, filepath.Join("testdata", tc.file))
			if diff := cmp.Diff(tc.want, results(t, rd)); diff != "" {
				t.Errorf("Read() results mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSkipped, rd.Skipped()); diff != "" {
				t.Errorf("Skipped() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderFields(t *testing.T) {
	inds, _ := inteltest.Drain(t, open(t, filepath.Join("testdata", "report.txt")))
	byLine := map[int]proxywatch.Indicator{}
	for _, ind := range inds {
		byLine[ind.Source.Line] = ind
	}
	tests := []struct {
		line int
		want proxywatch.Indicator
	}{
		{8, proxywatch.Indicator{
			Subject: proxywatch.AddrSubject(netip.MustParseAddr("198.51.100.11")),
			Kind:    proxywatch.KindC2,
			Source:  proxywatch.Source{Feed: "report.txt", Section: secC2, Line: 8},
			Comment: "shares an ssh key with the c2s",
		}},
		{21, proxywatch.Indicator{
			Subject: proxywatch.DomainSubject("c2.example.net"),
			Kind:    proxywatch.KindC2,
			Source:  proxywatch.Source{Feed: "report.txt", Section: secURLs, Line: 21},
			Tags:    []string{TagURL},
			Port:    8080,
			Proto:   "http",
			Comment: "hxxp://c2.example[.]net:8080/gate.php",
		}},
		{31, proxywatch.Indicator{
			Subject:   proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.50")),
			Kind:      proxywatch.KindMalwareHost,
			Source:    proxywatch.Source{Feed: "report.txt", Section: "Domains", Line: 31},
			Comment:   "First Seen: 2024-01-02; Last Seen: Present; Description: Payload Server; Tier 1 Server",
			FirstSeen: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, byLine[tc.line], cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
			t.Errorf("indicator of line %d mismatch (-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestReaderLines(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name  string
		input string
		want  []result
	}{
		{name: "empty", input: ""},
		{name: "no final newline", input: "C2s:\n192.0.2.1",
			want: []result{{Line: 2, Subject: "192.0.2.1/32", Kind: "c2", Section: "C2s"}}},
		{name: "too long line", input: "192.0.2.1\n" + long + "\n192.0.2.2\n",
			want: []result{{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown"}, {Line: 2, Reason: "refused:too-long"}, {Line: 3, Subject: "192.0.2.2/32", Kind: "unknown"}}},
		{name: "a header ends annotations", input: "192.0.2.1\nNext C2s:\n192.0.2.2\n",
			want: []result{{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown"}, {Line: 3, Subject: "192.0.2.2/32", Kind: "c2", Section: "Next C2s"}}},
		{name: "no annotation of hashes", input: "Payload servers\n0123456789abcdef0123456789abcdef\n2nd stage C2 servers\n192.0.2.3\n",
			want: []result{{Line: 2, Reason: "excluded:hash"}, {Line: 4, Subject: "192.0.2.3/32", Kind: "c2", Section: "2nd stage C2 servers"}}},
		{name: "consecutive headers", input: "Command and Control Domains\nPrimary domain\nc2[.]example[.]com\n\nSecondary domains\nc3[.]example[.]com\n",
			want: []result{
				{Line: 3, Subject: "c2.example.com", Kind: "c2", Section: "Command and Control Domains / Primary domain"},
				{Line: 6, Subject: "c3.example.com", Kind: "unknown", Section: "Secondary domains"},
			}},
		{name: "fields are not headers", input: "C2 servers:\nFile name: x.sh.txt\n192.0.2.4\n",
			want: []result{{Line: 2, Reason: "excluded:file-name"}, {Line: 3, Subject: "192.0.2.4/32", Kind: "c2", Section: "C2 servers"}}},
		{name: "bare names in an annotation", input: "192.0.2.5\nExample.com, Inc. US\nexample.org\n",
			want: []result{
				{Line: 1, Subject: "192.0.2.5/32", Kind: "unknown"},
				{Line: 2, Reason: "excluded:bare-name"},
				{Line: 3, Subject: "example.org", Kind: "unknown"}, // alone on its line
			}},
		{name: "labelled bare name", input: "0123456789abcdef0123456789abcdef\n'Domain': 'example.org',\n",
			want: []result{{Line: 1, Reason: "excluded:hash"}, {Line: 2, Subject: "example.org", Kind: "unknown"}}},
		{name: "crlf and nbsp", input: "Proxies:\r\n192.0.2[.]6\u00a0\r\n\u00a0\r\nC2:\r\n192.0.2[.]7\r\n",
			want: []result{
				{Line: 2, Subject: "192.0.2.6/32", Kind: "open-proxy", Section: "Proxies"},
				{Line: 5, Subject: "192.0.2.7/32", Kind: "c2", Section: "C2"},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tc.input), intel.Options{Name: "doc"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, results(t, rd)); diff != "" {
				t.Errorf("Read() results mismatch (-want +got):\n%s", diff)
			}
			if _, err := rd.Read(); err != io.EOF {
				t.Errorf("Read() after the end = %v, want io.EOF", err)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	_, err := NewReader(strings.NewReader(""), intel.Options{Params: map[string]string{"kind": "c2"}})
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("NewReader(params kind) = %v, want an ErrInvalid error", err)
	}
}
