package drop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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

type row struct {
	Subject string
	Line    int
	Tag     string
	Comment string
}

type refusal struct {
	Line   int
	Reason string
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		input    string
		want     []row
		wantErrs []refusal
	}{
		{
			name: "drop text",
			file: "drop.txt",
			want: []row{
				{"192.0.2.0/24", 4, TagDROP, "SBL123456"},
				{"198.51.100.0/25", 5, TagDROP, "SBL123457"},
				{"203.0.113.64/26", 6, TagDROP, "host bits set"},
				{"2001:db8::/32", 7, TagDROP, "SBL654321"},
				{"203.0.113.200/32", 8, TagDROP, ""},
			},
			wantErrs: []refusal{
				{11, intel.ReasonBadAddress},
				{12, intel.ReasonSyntax},
				{13, intel.ReasonBadAddress},
			},
		},
		{
			name: "json lines",
			file: "asn_drop.json",
			want: []row{
				{"AS64496", 1, TagASNDROP, "EXAMPLE-NET (example.net; US; arin)"},
				{"AS64497", 2, TagASNDROP, "EXAMPLE-NL (NL; ripencc)"},
				{"AS65536", 3, TagASNDROP, ""},
				{"192.0.2.0/24", 4, TagDROP, "SBL123456"},
				{"2001:db8:100::/40", 5, TagDROP, "SBL7"},
			},
			wantErrs: []refusal{
				{6, intel.ReasonBadAddress},
				{7, intel.ReasonBadAddress},
				{8, intel.ReasonSyntax},
				{9, intel.ReasonSyntax},
				{10, intel.ReasonBadAddress},
				{11, intel.ReasonSyntax},
			},
		},
		{
			name:  "text and json mixed, indented, crlf",
			input: "  {\"asn\":64500}\r\n\t192.0.2.1/32 ; x\r\n",
			want:  []row{{"AS64500", 1, TagASNDROP, ""}, {"192.0.2.1/32", 2, TagDROP, "x"}},
		},
		{
			name:     "range is not a DROP entry",
			input:    "192.0.2.1-192.0.2.9\n",
			wantErrs: []refusal{{1, intel.ReasonBadAddress}},
		},
		{
			name:     "too long",
			input:    strings.Repeat(" ", intel.MaxLine+1) + "192.0.2.0/24\n198.51.100.0/24\n",
			want:     []row{{"198.51.100.0/24", 2, TagDROP, ""}},
			wantErrs: []refusal{{1, intel.ReasonTooLong}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(inteltest.Input(t, tt.file, tt.input), intel.Options{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			inds, errs := inteltest.Drain(t, rd)
			var got []row
			for _, ind := range inds {
				if ind.Kind != proxywatch.KindOther || ind.Source.Feed != "test" || len(ind.Tags) != 1 || ind.Confidence != 0 {
					t.Errorf("indicator %v: kind %v feed %q tags %v confidence %d, want other, %q, one tag, 0",
						ind.Subject, ind.Kind, ind.Source.Feed, ind.Tags, ind.Confidence, "test")
					continue
				}
				got = append(got, row{ind.Subject.String(), ind.Source.Line, ind.Tags[0], ind.Comment})
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("indicators (-want +got):\n%s", diff)
			}
			var gotErrs []refusal
			for _, e := range errs {
				gotErrs = append(gotErrs, refusal{e.Line, e.Reason})
			}
			if diff := cmp.Diff(tt.wantErrs, gotErrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	if _, err := NewReader(strings.NewReader(""), intel.Options{Params: map[string]string{"asn": "true"}}); err == nil {
		t.Error("NewReader(params asn=true) = nil error, want an unknown-param error")
	}
	if _, err := NewReader(strings.NewReader(""), intel.Options{}); err != nil {
		t.Errorf("NewReader(no params) = %v, want nil", err)
	}
}

var asnField = regexp.MustCompile(`"asn":\s*(\d+)`)

// TestRealFiles reads the Spamhaus lists in ../shared/data/blocklists.
// Expected counts of text files are their lines that are neither blank
// nor comments:
//
//	awk '{sub(/[#;].*/,""); gsub(/^[ \t\r]+|[ \t\r]+$/,"")} $0!=""' FILE | wc -l
//
// and for asn_drop.json the "records" count of its own metadata line,
// which the test also reads, and the number of lines with an "asn" key
// (grep -c '"asn"' asn_drop.json). Every subject in the file must come out.
func TestRealFiles(t *testing.T) {
	tests := []struct {
		file     string
		accepted int
	}{
		{"spamhaus-drop-secops/drop.txt", 989},
		{"spamhaus-drop-secops/edrop.txt", 322},
		{"spamhaus-drop-secops/drop_ipv6.txt", 51},
		{"spamhaus-drop-secops/asn_drop.json", 201},
		{"firehol-2017-10-15/spamhaus_drop.netset", 781},
		{"firehol-2017-10-15/spamhaus_edrop.netset", 51},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := itest.Data(t, filepath.Join("blocklists", tt.file))
			rd := inteltest.OpenReader(t, NewReader, path, nil)
			inds, errs := inteltest.Drain(t, rd)
			if len(inds) != tt.accepted || len(errs) != 0 {
				t.Errorf("read %s: %d accepted, %d refused (%v), want %d accepted, 0 refused",
					tt.file, len(inds), len(errs), errs, tt.accepted)
			}
			got := map[proxywatch.Subject]bool{}
			for _, ind := range inds {
				got[ind.Subject] = true
			}
			want, records := scanSubjects(t, path)
			if records >= 0 && records != len(inds) {
				t.Errorf("read %s: %d accepted, metadata says %d records", tt.file, len(inds), records)
			}
			for _, s := range want {
				if !got[s] {
					t.Errorf("read %s: %v is in the file but not read", tt.file, s)
				}
			}
			if len(want) != tt.accepted {
				t.Errorf("scan %s: %d subjects found independently, want %d", tt.file, len(want), tt.accepted)
			}
		})
	}
}

// scanSubjects finds the subjects of a DROP file without the reader: the
// first field of each text line, the "asn" of each JSON line. records is
// the metadata line's count, or -1.
func scanSubjects(t *testing.T, path string) (subjects []proxywatch.Subject, records int) {
	t.Helper()
	records = -1
	sc := bufio.NewScanner(inteltest.Open(t, path))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.Contains(line, `"metadata"`):
			var m struct{ Records int }
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			records = m.Records
		case asnField.MatchString(line):
			s, err := proxywatch.ParseSubject("AS" + asnField.FindStringSubmatch(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			subjects = append(subjects, s)
		default:
			s, err := proxywatch.ParseSubject(strings.Fields(line)[0])
			if err != nil {
				t.Fatalf("scan %s: %v", path, err)
			}
			subjects = append(subjects, s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return subjects, records
}

// FuzzReader checks that no input panics, that errors are parse errors,
// and that each subject read re-formats to a line (text for a prefix,
// JSON for an ASN) that reads back as the same subject and comment.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.*") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; i <= lines; i++ {
			ind, err := rd.Read()
			if err == io.EOF {
				return
			}
			var pe *intel.ParseError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				t.Fatalf("Read() = %v, want a *intel.ParseError", err)
			}
			var text string
			switch ind.Subject.Type() {
			case proxywatch.SubjectPrefix:
				text = ind.Subject.String()
				if ind.Comment != "" {
					text += " ; " + ind.Comment
				}
			case proxywatch.SubjectASN:
				text = fmt.Sprintf(`{"asn":%d}`, ind.Subject.ASN)
			default:
				t.Fatalf("subject %v of type %v", ind.Subject, ind.Subject.Type())
			}
			back, err := NewReader(strings.NewReader(text), intel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := back.Read()
			if err != nil || got.Subject != ind.Subject {
				t.Fatalf("%v re-formats to %q, which reads back as %v, %v", ind.Subject, text, got.Subject, err)
			}
			if ind.Subject.Type() == proxywatch.SubjectPrefix && got.Comment != ind.Comment {
				t.Fatalf("comment %q re-formats to %q, reads back as %q", ind.Comment, text, got.Comment)
			}
		}
		t.Fatalf("more results than the %d lines of the document", lines)
	})
}
