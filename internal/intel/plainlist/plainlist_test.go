package plainlist

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// row is the part of an indicator the tables check.
type row struct {
	Subject string
	Line    int
	Conf    uint8
	Tags    []string
	Comment string
}

// refusal is the part of a parse error the tables check.
type refusal struct {
	Line   int
	Reason string
}

func rows(inds []proxywatch.Indicator) []row {
	var out []row
	for _, ind := range inds {
		out = append(out, row{ind.Subject.String(), ind.Source.Line, ind.Confidence, ind.Tags, ind.Comment})
	}
	return out
}

func refusals(errs []*intel.ParseError) []refusal {
	var out []refusal
	for _, e := range errs {
		out = append(out, refusal{e.Line, e.Reason})
	}
	return out
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		file     string // in testdata; or
		input    string
		params   map[string]string
		want     []row
		wantErrs []refusal
	}{
		{
			name: "mixed",
			file: "mixed.txt",
			want: []row{
				{Subject: "192.0.2.1/32", Line: 4},
				{Subject: "198.51.100.0/24", Line: 5, Comment: "trailing comment kept"},
				{Subject: "203.0.113.0/24", Line: 6},
				{Subject: "2001:db8::1/128", Line: 7},
				{Subject: "2001:db8:1::/48", Line: 8, Comment: "DROPv6-style note"},
				{Subject: "192.0.2.16/30", Line: 9},
				{Subject: "192.0.2.30/31", Line: 10},
				{Subject: "192.0.2.32/31", Line: 10},
				{Subject: "203.0.113.9/32", Line: 11},
				{Subject: "192.0.2.200/32", Line: 12},
				{Subject: "AS64496", Line: 13, Comment: "Example Networks"},
				{Subject: "AS64511", Line: 14},
			},
			wantErrs: []refusal{
				{15, intel.ReasonBadAddress}, // 192.0.2.300
				{16, intel.ReasonSyntax},     // two addresses on a line
				{17, intel.ReasonBadAddress}, // AS0
				{18, intel.ReasonBadAddress}, // bare number without asn=true
			},
		},
		{
			name: "ipsum",
			file: "ipsum.txt",
			want: []row{
				{"192.0.2.10/32", 5, 85, []string{"ipsum-count:7"}, ""},
				{"192.0.2.11/32", 6, 85, []string{"ipsum-count:5"}, ""},
				{"192.0.2.12/32", 7, 75, []string{"ipsum-count:4"}, ""},
				{"198.51.100.20/32", 8, 65, []string{"ipsum-count:3"}, ""},
				{"198.51.100.21/32", 9, 50, []string{"ipsum-count:2"}, ""},
				{"203.0.113.30/32", 10, 30, []string{"ipsum-count:1"}, ""},
				{"2001:db8::10/128", 13, 50, []string{"ipsum-count:2"}, ""},
			},
			wantErrs: []refusal{{11, intel.ReasonBadValue}, {12, intel.ReasonSyntax}},
		},
		{
			name:   "asn list with bare numbers",
			file:   "asn.txt",
			params: map[string]string{"asn": "true"},
			want: []row{
				{Subject: "AS64496", Line: 1, Comment: "Example Networks, US"},
				{Subject: "AS64497", Line: 2, Comment: "Tabbed Hosting, DE"},
				{Subject: "AS64498", Line: 3, Comment: "bare number"},
				{Subject: "AS4294967295", Line: 4},
			},
			wantErrs: []refusal{{5, intel.ReasonBadAddress}},
		},
		{
			name: "asn list without asn param",
			file: "asn.txt",
			want: []row{
				{Subject: "AS64496", Line: 1, Comment: "Example Networks, US"},
				{Subject: "AS64497", Line: 2, Comment: "Tabbed Hosting, DE"},
				{Subject: "AS4294967295", Line: 4},
			},
			wantErrs: []refusal{{3, intel.ReasonBadAddress}, {5, intel.ReasonBadAddress}},
		},
		{
			name: "crlf and byte order mark",
			file: "crlf_bom.txt",
			want: []row{
				{Subject: "192.0.2.5/32", Line: 1},
				{Subject: "198.51.100.5/32", Line: 2},
				{Subject: "203.0.113.5/32", Line: 4},
			},
		},
		{
			name:  "range over several prefixes",
			input: "192.0.2.1-192.0.2.6 # six\n",
			want: []row{
				{Subject: "192.0.2.1/32", Line: 1, Comment: "six"},
				{Subject: "192.0.2.2/31", Line: 1, Comment: "six"},
				{Subject: "192.0.2.4/31", Line: 1, Comment: "six"},
				{Subject: "192.0.2.6/32", Line: 1, Comment: "six"},
			},
		},
		{
			name:     "reversed and mixed-family ranges",
			input:    "192.0.2.9-192.0.2.1\n192.0.2.1-2001:db8::1\n",
			wantErrs: []refusal{{1, intel.ReasonBadAddress}, {2, intel.ReasonBadAddress}},
		},
		{
			name:     "too long line is skipped",
			input:    "192.0.2.1\n" + strings.Repeat("1", intel.MaxLine+10) + "\n198.51.100.1\n",
			want:     []row{{Subject: "192.0.2.1/32", Line: 1}, {Subject: "198.51.100.1/32", Line: 3}},
			wantErrs: []refusal{{2, intel.ReasonTooLong}},
		},
		{
			name:     "too long last line without newline",
			input:    "192.0.2.1\n" + strings.Repeat("x", 3*intel.MaxLine),
			want:     []row{{Subject: "192.0.2.1/32", Line: 1}},
			wantErrs: []refusal{{2, intel.ReasonTooLong}},
		},
		{
			name:     "zoned address",
			input:    "fe80::1%eth0\n",
			wantErrs: []refusal{{1, intel.ReasonBadAddress}},
		},
		{
			name:  "empty document",
			input: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(inteltest.Input(t, tt.file, tt.input), intel.Options{Name: "test", Params: tt.params})
			if err != nil {
				t.Fatalf("NewReader() = %v", err)
			}
			inds, errs := inteltest.Drain(t, rd)
			if diff := cmp.Diff(tt.want, rows(inds), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("indicators (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, refusals(errs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
			for _, ind := range inds {
				if ind.Source.Feed != "test" || ind.Kind != proxywatch.KindUnknown {
					t.Errorf("indicator %v: feed %q kind %v, want feed %q kind unknown", ind.Subject, ind.Source.Feed, ind.Kind, "test")
				}
			}
			for _, e := range errs {
				if e.Feed != "test" || e.Excluded || len(e.Text) > 123 {
					t.Errorf("parse error %v: want feed %q, a refusal, text at most 123 bytes", e, "test")
				}
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		wantErr bool
	}{
		{"none", nil, false},
		{"asn true", map[string]string{"asn": "true"}, false},
		{"asn false", map[string]string{"asn": "false"}, false},
		{"asn invalid", map[string]string{"asn": "maybe"}, true},
		{"unknown key", map[string]string{"delimiter": ","}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(""), intel.Options{Name: "x", Params: tt.params})
			if (err != nil) != tt.wantErr {
				t.Errorf("NewReader(params %v) error = %v, want error %v", tt.params, err, tt.wantErr)
			}
		})
	}
}

// errReader returns data, then a read error.
type errReader struct{ data io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.data.Read(p)
	if err == io.EOF {
		return n, fmt.Errorf("disk on fire")
	}
	return n, err
}

func TestReaderIOError(t *testing.T) {
	rd, err := NewReader(errReader{strings.NewReader("192.0.2.1\n")}, intel.Options{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Read(); err != nil {
		t.Fatalf("first Read() = %v, want an indicator", err)
	}
	for range 2 {
		_, err := rd.Read()
		if err == nil || err == io.EOF || strings.Contains(err.Error(), "refused") {
			t.Fatalf("Read() after I/O failure = %v, want the final read error", err)
		}
	}
}

// v4 and v6 find what a person reading a list would call an address or
// prefix, independently of the reader's parser.
var (
	v4Token  = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b`)
	v6Token  = regexp.MustCompile(`(?i)\b[0-9a-f]{1,4}:[0-9a-f:]*:[0-9a-f]*(?:/\d{1,3})?`)
	asnToken = regexp.MustCompile(`^AS\d+\b`)
)

// TestRealFiles reads the real lists in ../shared/data/blocklists. The
// expected accepted counts are the number of lines that are neither blank
// nor comments, computed with
//
//	awk '{sub(/[#;].*/,""); gsub(/^[ \t\r]+|[ \t\r]+$/,"")} $0!=""' FILE | wc -l
//
// and, for ipsum.txt, the split by count with
//
//	grep -v '^#' ipsum.txt | awk -F'\t' '{c=$2; if(c>5)c=5; n[c]++} END{for(k in n) print k, n[k]}'
//
// None of these files has a line the reader should refuse. The test also
// checks that every address, prefix or ASN that a regular expression
// finds outside comments comes out of the reader.
func TestRealFiles(t *testing.T) {
	tests := []struct {
		file     string
		params   map[string]string
		accepted int
		byConf   map[uint8]int // for ipsum: indicators by confidence
	}{
		{file: "firehol-2017-10-15/bm_tor.ipset", accepted: 6421},
		{file: "firehol-2017-10-15/firehol_level1.netset", accepted: 6656},
		{file: "firehol-2017-10-15/firehol_proxies.netset", accepted: 28470},
		{file: "firehol-2017-10-15/proxylists_7d.ipset", accepted: 4197},
		{file: "firehol-2017-10-15/socks_proxy_7d.ipset", accepted: 3127},
		{file: "firehol-2017-10-15/spamhaus_drop.netset", accepted: 781},
		{file: "firehol-2017-10-15/spamhaus_edrop.netset", accepted: 51},
		{file: "firehol-2017-10-15/sslproxies_7d.ipset", accepted: 3413},
		{file: "firehol-2017-10-15/xroxy_7d.ipset", accepted: 220},
		{file: "ipsum/ipsum.txt", accepted: 120430,
			byConf: map[uint8]int{30: 89657, 50: 16556, 65: 8863, 75: 3941, 85: 1413}},
		{file: "ipsum/levels/3.txt", accepted: 14217},
		{file: "x4bnet-lists_vpn/output/datacenter/ipv4.txt", accepted: 42566},
		{file: "x4bnet-lists_vpn/output/vpn/ipv4.txt", accepted: 10862},
		{file: "x4bnet-lists_vpn/output/vpn/ipv6.txt", accepted: 498},
		{file: "x4bnet-lists_vpn/input/datacenter/ASN.txt", accepted: 906},
		{file: "x4bnet-lists_vpn/input/vpn/ASN.txt", accepted: 15},
		{file: "spamhaus-drop-secops/drop.txt", accepted: 989},
		{file: "spamhaus-drop-secops/edrop.txt", accepted: 322},
		{file: "spamhaus-drop-secops/drop_ipv6.txt", accepted: 51},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := itest.Data(t, filepath.Join("blocklists", tt.file))
			rd := inteltest.OpenReader(t, NewReader, path, tt.params)
			inds, errs := inteltest.Drain(t, rd)
			if len(inds) != tt.accepted || len(errs) != 0 {
				t.Errorf("read %s: %d accepted, %d refused (first: %v), want %d accepted, 0 refused",
					tt.file, len(inds), len(errs), inteltest.First(errs), tt.accepted)
			}
			if tt.byConf != nil {
				got := map[uint8]int{}
				for _, ind := range inds {
					got[ind.Confidence]++
				}
				if diff := cmp.Diff(tt.byConf, got); diff != "" {
					t.Errorf("read %s: by confidence (-want +got):\n%s", tt.file, diff)
				}
			}
			got := map[string]bool{}
			for _, ind := range inds {
				got[ind.Subject.String()] = true
			}
			for _, want := range expectedSubjects(t, path) {
				if !got[want] {
					t.Errorf("read %s: %s is in the file but not read", tt.file, want)
				}
			}
		})
	}
}

// expectedSubjects scans a file with regular expressions, outside comment
// lines, and returns the subjects found in canonical form.
func expectedSubjects(t *testing.T, path string) []string {
	t.Helper()
	sc := bufio.NewScanner(inteltest.Open(t, path))
	var out []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if m := asnToken.FindString(line); m != "" {
			out = append(out, m)
			continue
		}
		for _, m := range append(v4Token.FindAllString(line, -1), v6Token.FindAllString(line, -1)...) {
			s, err := proxywatch.ParseSubject(m)
			if err != nil {
				t.Errorf("regexp found %q, not a subject: %v", m, err)
				continue
			}
			out = append(out, s.String())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no subjects found in %s by regexp", path)
	}
	return out
}
