package csvfeed

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

type row struct {
	Subject   string
	Line      int
	Port      uint16
	Proto     string
	Kind      proxywatch.Kind
	Conf      uint8
	FirstSeen time.Time
	LastSeen  time.Time
	Comment   string
	Tags      []string
}

type refusal struct {
	Line   int
	Reason string
}

func rows(inds []proxywatch.Indicator) []row {
	var out []row
	for _, ind := range inds {
		out = append(out, row{ind.Subject.String(), ind.Source.Line, ind.Port, ind.Proto, ind.Kind,
			ind.Confidence, ind.FirstSeen, ind.LastSeen, ind.Comment, ind.Tags})
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

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

var feedParams = map[string]string{
	"ip": "ip", "port": "PORT", "kind": "kind", "confidence": "confidence",
	"first_seen": "first_seen", "last_seen": "last_seen", "comment": "comment", "tags": "tags",
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		input    string
		params   map[string]string
		want     []row
		wantErrs []refusal
	}{
		{
			name:   "named columns",
			file:   "feed.csv",
			params: feedParams,
			want: []row{
				{"192.0.2.1/32", 3, 8080, "", proxywatch.KindOpenProxy, 80, date("2024-01-02T03:04:05Z"), date("2024-02-01T00:00:00Z"), "proxy, seen on port 8080", []string{"a", "b"}},
				{"198.51.100.0/24", 4, 0, "", proxywatch.KindC2, 0, date("2024-01-02T03:04:05Z"), time.Time{}, "C2 network", nil},
				{"203.0.113.5/32", 5, 1080, "", proxywatch.KindBackconnectC2, 100, date("2024-01-02T03:04:05Z"), time.Time{}, "multi\nline comment", []string{"x", "y"}},
				{Subject: "192.0.2.10/31", Line: 7, Comment: "range"},
				{Subject: "192.0.2.12/31", Line: 7, Comment: "range"},
				{Subject: "2001:db8::1/128", Line: 15, Port: 443, Comment: `quoted "name"`},
				{Subject: "192.0.2.24/32", Line: 16, Port: 8443, FirstSeen: date("2024-01-02T03:04:05.5Z")},
			},
			wantErrs: []refusal{
				{8, intel.ReasonEmptyRecord},
				{9, intel.ReasonBadAddress},
				{10, intel.ReasonBadPort},
				{11, intel.ReasonBadValue},
				{12, intel.ReasonBadValue},
				{13, intel.ReasonBadValue},
			},
		},
		{
			name:   "tsv by index",
			file:   "feed.tsv",
			params: map[string]string{"delimiter": "tab", "ip": "2", "comment": "3", "comment_prefix": ";"},
			want: []row{
				{Subject: "192.0.2.50/32", Line: 1, Comment: "first"},
				{Subject: "198.51.100.50/32", Line: 2, Port: 3128, Comment: "with port"},
			},
			wantErrs: []refusal{{3, intel.ReasonSyntax}},
		},
		{
			name:   "tsv with the default comment prefix",
			file:   "feed.tsv",
			params: map[string]string{"delimiter": "\t", "ip": "2"},
			want: []row{
				{Subject: "192.0.2.50/32", Line: 1},
				{Subject: "198.51.100.50/32", Line: 2, Port: 3128},
			},
			wantErrs: []refusal{{3, intel.ReasonSyntax}, {4, intel.ReasonSyntax}},
		},
		{
			name:   "first address cell without an ip column",
			file:   "auto.csv",
			params: map[string]string{"delimiter": ";", "header": "true"},
			want: []row{
				{Subject: "192.0.2.60/32", Line: 2},
				{Subject: "2001:db8::60/128", Line: 3, Port: 8443},
			},
			wantErrs: []refusal{{4, intel.ReasonEmptyRecord}},
		},
		{
			name:     "no header: a header row has no address",
			file:     "auto.csv",
			params:   map[string]string{"delimiter": ";"},
			want:     []row{{Subject: "192.0.2.60/32", Line: 2}, {Subject: "2001:db8::60/128", Line: 3, Port: 8443}},
			wantErrs: []refusal{{1, intel.ReasonEmptyRecord}, {4, intel.ReasonEmptyRecord}},
		},
		{
			name:   "unterminated quote at the end",
			input:  "192.0.2.1,\"open\n192.0.2.2,x\n",
			params: map[string]string{"ip": "1", "comment": "2"},
			want:   []row{{Subject: "192.0.2.1/32", Line: 1, Comment: "open\n192.0.2.2,x"}},
		},
		{
			name:   "urls with address hosts",
			input:  "hxxp://192.0.2[.]70:4145/x,a\nhttps://user@[2001:db8::70]/,b\nhttp://example.org/,c\n",
			params: map[string]string{"comment": "2"},
			want: []row{
				{Subject: "192.0.2.70/32", Line: 1, Port: 4145, Comment: "a"},
				{Subject: "2001:db8::70/128", Line: 2, Comment: "b"},
			},
			wantErrs: []refusal{{3, intel.ReasonEmptyRecord}},
		},
		{
			name:     "overlong line",
			input:    strings.Repeat("x", intel.MaxLine+1) + "\n192.0.2.9\n",
			params:   map[string]string{"ip": "1"},
			want:     []row{{Subject: "192.0.2.9/32", Line: 2}},
			wantErrs: []refusal{{1, intel.ReasonTooLong}},
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
		})
	}
}

// TestOverlongRecord checks that a quoted cell running past the record
// bound is refused at the line where it starts, and that reading goes on.
func TestOverlongRecord(t *testing.T) {
	in := "192.0.2.1,\"" + strings.Repeat("a\n", intel.MaxLine/2+1) + "\"\n192.0.2.9,ok\n"
	rd, err := NewReader(strings.NewReader(in), intel.Options{Name: "t", Params: map[string]string{"ip": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	inds, errs := inteltest.Drain(t, rd)
	if len(errs) == 0 || errs[0].Line != 1 || errs[0].Reason != intel.ReasonTooLong {
		t.Fatalf("first refusal = %v, want too-long at line 1", inteltest.First(errs))
	}
	if len(inds) != 0 || len(errs) > 10 {
		t.Errorf("after the overlong record: %d indicators, %d refusals, want 0 and a few", len(inds), len(errs))
	}
}

func TestNewReaderParams(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		wantErr bool
	}{
		{"none", nil, false},
		{"all", map[string]string{"delimiter": "|", "header": "true", "comment_prefix": "//", "ip": "a",
			"port": "b", "proto": "c", "kind": "d", "confidence": "e", "first_seen": "f", "last_seen": "g",
			"expires": "h", "comment": "i", "tags": "j"}, false},
		{"unknown key", map[string]string{"ip": "1", "colour": "red"}, true},
		{"bad delimiter", map[string]string{"delimiter": "::"}, true},
		{"bad header", map[string]string{"header": "sometimes"}, true},
		{"zero index", map[string]string{"ip": "0"}, true},
		{"empty column", map[string]string{"ip": " "}, true},
		{"names without header", map[string]string{"ip": "address", "header": "false"}, true},
		{"blank comment prefix", map[string]string{"comment_prefix": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(""), intel.Options{Params: tt.params})
			if (err != nil) != tt.wantErr {
				t.Errorf("NewReader(params %v) error = %v, want error %v", tt.params, err, tt.wantErr)
			}
		})
	}
}

func TestMissingColumn(t *testing.T) {
	rd, err := NewReader(strings.NewReader("a,b\n192.0.2.1,x\n"), intel.Options{Name: "t", Params: map[string]string{"ip": "address"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := rd.Read()
		if err == nil || err == io.EOF || !strings.Contains(err.Error(), "address") {
			t.Fatalf("Read() = %v, want a final error naming the missing column", err)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-01-02T03:04:05+02:00", date("2024-01-02T01:04:05Z")},
		{"2024-01-02 03:04:05", date("2024-01-02T03:04:05Z")},
		{"2020-12-14 1:43", date("2020-12-14T01:43:00Z")},
		{"2024/01/02", date("2024-01-02T00:00:00Z")},
		{"1704164645", date("2024-01-02T03:04:05Z")},
		{"1704164645123", date("2024-01-02T03:04:05.123Z")},
		{"1538572953.710599", date("2018-10-03T13:22:33.710599Z")},
		{"2024", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if !got.Equal(tt.want) || (err != nil) != tt.want.IsZero() {
			t.Errorf("parseTime(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

var c2Cell = regexp.MustCompile(`^\x{feff}?([0-9]+\.[0-9]+\.[0-9]+(?:\.|\[\.\])[0-9]+),`)

// TestRealFiles reads CSV files from ../shared/data. Expected counts:
//
//	Accellion_FTA_target_list.csv: 40 rows after the header (wc -l: 41
//	  lines); every "C2 IP" cell is a defanged address
//	Conti_Ransomware_IoCs.csv: 53 rows (wc -l: 54), all with an IP cell
//	Reverserat_iocs.csv, read without an ip column: 12 rows of type "IP
//	  address" (grep -ciE ',ip address,') and 9 URLs whose host is an
//	  address (grep -cE '^hxxps?://[0-9]+\.[0-9]+\.[0-9]+(\.|\[\.\])[0-9]+[:/]');
//	  the other 54 of its 75 rows (hashes, URLs of host names) hold no
//	  address and are refused as empty-record
//	IoT-23 capture 21 and 42, "|"-separated: 3286 and 4426 flows
//	  (awk -F'|' 'NR>1' FILE | wc -l); one ICMP flow has port 0 (none)
func TestRealFiles(t *testing.T) {
	iot := map[string]string{"delimiter": "|", "ip": "id.resp_h", "port": "id.resp_p", "proto": "proto",
		"first_seen": "ts", "comment": "detailed-label", "tags": "label"}
	tests := []struct {
		file     string
		params   map[string]string
		accepted int
		empty    int // rows refused as empty-record
		c2Cells  bool
	}{
		{file: "proxy-botnet-iocs/blacklotuslabs/Accellion_FTA_target_list.csv", params: map[string]string{
			"ip": "C2 IP", "port": "Port", "first_seen": "First seen (UTC)", "last_seen": "Last seen (UTC)",
			"comment": "Category (Country)"}, accepted: 40, c2Cells: true},
		{file: "proxy-botnet-iocs/blacklotuslabs/Conti_Ransomware_IoCs.csv", params: map[string]string{
			"ip": "IP", "comment": "Domain"}, accepted: 53},
		{file: "proxy-botnet-iocs/blacklotuslabs/Reverserat_iocs.csv", params: map[string]string{
			"header": "true", "comment": "2"}, accepted: 21, empty: 54},
		{file: "botnet-flows/iot23-pipe-csv/CTU-IoT-Malware-Capture-21-1conn.log.labeled.csv", params: iot, accepted: 3286},
		{file: "botnet-flows/iot23-pipe-csv/CTU-IoT-Malware-Capture-42-1conn.log.labeled.csv", params: iot, accepted: 4426},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			path := itest.Data(t, tt.file)
			rd := inteltest.OpenReader(t, NewReader, path, tt.params)
			inds, errs := inteltest.Drain(t, rd)
			empty := 0
			for _, e := range errs {
				if e.Reason == intel.ReasonEmptyRecord {
					empty++
				} else {
					t.Errorf("read %s: %v", tt.file, e)
				}
			}
			if len(inds) != tt.accepted || empty != tt.empty {
				t.Errorf("read %s: %d accepted, %d empty-record, want %d and %d", tt.file, len(inds), empty, tt.accepted, tt.empty)
			}
			for _, ind := range inds {
				if ind.Subject.Type() != proxywatch.SubjectPrefix || ind.Source.Line < 2 {
					t.Errorf("read %s: indicator %v at line %d", tt.file, ind.Subject, ind.Source.Line)
				}
				if tt.c2Cells && (ind.Port == 0 || ind.FirstSeen.IsZero() || ind.LastSeen.IsZero() || ind.Comment == "") {
					t.Errorf("read %s: line %d: port, times or comment missing: %+v", tt.file, ind.Source.Line, ind)
				}
			}
			if tt.c2Cells {
				got := map[string]bool{}
				for _, ind := range inds {
					got[ind.Subject.String()] = true
				}
				sc := bufio.NewScanner(inteltest.Open(t, path))
				n := 0
				for sc.Scan() {
					if m := c2Cell.FindStringSubmatch(sc.Text()); m != nil {
						n++
						if want := strings.ReplaceAll(m[1], "[.]", ".") + "/32"; !got[want] {
							t.Errorf("read %s: %s not read", tt.file, want)
						}
					}
				}
				if n != tt.accepted {
					t.Errorf("scan %s: %d C2 cells, want %d", tt.file, n, tt.accepted)
				}
			}
		})
	}
}

// FuzzReader checks that no input panics or loops, and that errors are
// parse errors at a line of the document, with and without an ip column.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.*") {
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, named bool) {
		params := map[string]string{"comment": "3", "tags": "4", "first_seen": "5", "confidence": "6", "kind": "7"}
		if named {
			params = feedParams
		}
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz", Params: params})
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > 256*lines {
				t.Fatalf("more than %d results from %d lines", i, lines)
			}
			ind, err := rd.Read()
			if err == io.EOF {
				return
			}
			var pe *intel.ParseError
			switch {
			case errors.As(err, &pe):
				if pe.Line < 1 || pe.Line > lines {
					t.Fatalf("parse error at line %d of %d", pe.Line, lines)
				}
			case err != nil:
				if named {
					return // a header without the named columns
				}
				t.Fatalf("Read() = %v, want a parse error", err)
			default:
				if ind.Source.Line < 1 || ind.Source.Line > lines || ind.Subject.Type() != proxywatch.SubjectPrefix {
					t.Fatalf("indicator %v at line %d of %d", ind.Subject, ind.Source.Line, lines)
				}
			}
		}
	})
}
