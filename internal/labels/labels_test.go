package labels

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/itest"
	"github.com/proxywatch/proxywatch/internal/truth"
)

func readAll(t *testing.T, r io.Reader, name string, opts Options) ([]Flow, []error, string) {
	t.Helper()
	rd := NewReader(r, name, opts)
	var out []Flow
	var errs []error
	for {
		fl, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, errs, rd.Format()
		}
		if _, ok := errors.AsType[*ParseError](err); ok {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			t.Fatalf("Read() = %v", err)
		}
		out = append(out, fl)
	}
}

func TestReadFormats(t *testing.T) {
	ts := func(s float64) time.Time { return time.UnixMicro(int64(s * 1e6)).UTC() }
	tests := []struct {
		name   string
		file   string
		opts   Options
		format string
		want   []Flow
	}{
		{name: "iot23 tsv", file: "iot23.conn.log.labeled", format: FormatZeekTSV, want: []Flow{
			{TS: ts(1545403816.962094), UID: "CrDn63WjJEmrWGjqf", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41040,
				Dst: netip.MustParseAddr("203.0.113.235"), DstPort: 6667, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C"},
			{TS: ts(1545403824.18124), UID: "CY9lJW3gh1Eje4usP6", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41042,
				Dst: netip.MustParseAddr("198.51.100.185"), DstPort: 80, Proto: "tcp", Label: LabelMalicious, Detail: "DDoS"},
			{TS: ts(1545403832.341331), UID: "CcFXLynukEDnUlvgl", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 123,
				Dst: netip.MustParseAddr("198.51.100.5"), DstPort: 123, Proto: "udp", Label: LabelBenign},
			{TS: ts(1545403848.981338), UID: "CDrkrSobGYxHhYfth", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41050,
				Dst: netip.MustParseAddr("203.0.113.235"), DstPort: 6667, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C-HeartBeat"},
		}},
		{name: "iot23 tsv, C&C only", file: "iot23.conn.log.labeled", opts: Options{Only: []string{"c&c"}}, format: FormatZeekTSV, want: []Flow{
			{TS: ts(1545403816.962094), UID: "CrDn63WjJEmrWGjqf", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41040,
				Dst: netip.MustParseAddr("203.0.113.235"), DstPort: 6667, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C"},
			{TS: ts(1545403824.18124), UID: "CY9lJW3gh1Eje4usP6", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41042,
				Dst: netip.MustParseAddr("198.51.100.185"), DstPort: 80, Proto: "tcp", Label: LabelBenign, Detail: "DDoS"},
			{TS: ts(1545403832.341331), UID: "CcFXLynukEDnUlvgl", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 123,
				Dst: netip.MustParseAddr("198.51.100.5"), DstPort: 123, Proto: "udp", Label: LabelBenign},
			{TS: ts(1545403848.981338), UID: "CDrkrSobGYxHhYfth", Src: netip.MustParseAddr("192.0.2.195"), SrcPort: 41050,
				Dst: netip.MustParseAddr("203.0.113.235"), DstPort: 6667, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C-HeartBeat"},
		}},
		{name: "iot23 pipe csv", file: "iot23.csv", format: FormatPipeCSV, want: []Flow{
			{TS: ts(1538572953.710599), UID: "Cu3Tieri43IPsyBO3", Src: netip.MustParseAddr("192.0.2.113"), SrcPort: 42789,
				Dst: netip.MustParseAddr("192.0.2.1"), DstPort: 53, Proto: "udp", Label: LabelBenign},
			{TS: ts(1538573133.455854), UID: "CaFD7t4x11rNjJyXpe", Src: netip.MustParseAddr("192.0.2.113"), SrcPort: 41174,
				Dst: netip.MustParseAddr("203.0.113.90"), DstPort: 443, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C Torii"},
			{TS: ts(1538573140.654508), UID: "C2gDegk8EvlOlAaJi", Src: netip.MustParseAddr("192.0.2.113"), SrcPort: 41176,
				Dst: netip.MustParseAddr("203.0.113.90"), DstPort: 443, Proto: "tcp", Label: LabelMalicious, Detail: "FileDownload Torii"},
		}},
		{name: "stratosphere tsv, background benign", file: "stratosphere.conn.log.labeled", opts: Options{Background: "benign"},
			format: FormatZeekTSV, want: []Flow{
				{TS: ts(1655071198.444458), UID: "CHLXQF2OBY4onAR0Ug", Src: netip.MustParseAddr("192.0.2.167"), SrcPort: 62771,
					Dst: netip.MustParseAddr("198.51.100.123"), DstPort: 443, Proto: "tcp", Label: LabelBenign, Detail: "Microsoft"},
				{TS: ts(1655071231.749548), UID: "CEL3aLvvNGvO6Ecoa", Src: netip.MustParseAddr("203.0.113.232"), SrcPort: 46563,
					Dst: netip.MustParseAddr("192.0.2.167"), DstPort: 3933, Proto: "tcp", Label: LabelMalicious, Detail: "External-Attack-to-Device"},
				{TS: ts(1655071301.975832), UID: "CB0jzf4LVrBltxoKng", Src: netip.MustParseAddr("203.0.113.66"), SrcPort: 57239,
					Dst: netip.MustParseAddr("192.0.2.167"), DstPort: 5432, Proto: "tcp", Label: LabelBenign},
				{TS: ts(1655071311.975832), UID: "CB0jzf4LVrBltxoKnh", Src: netip.MustParseAddr("192.0.2.167"), SrcPort: 57240,
					Dst: netip.MustParseAddr("203.0.113.7"), DstPort: 8443, Proto: "tcp", Label: LabelMalicious,
					SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "CC-HeartBeat"},
			}},
		{name: "json", file: "labelled.json", format: FormatJSON, want: []Flow{
			{TS: ts(1655071198.5), UID: "CJ1", Src: netip.MustParseAddr("2001:db8::5"), SrcPort: 50000,
				Dst: netip.MustParseAddr("2001:db8:ff::1"), DstPort: 1337, Proto: "tcp", Label: LabelMalicious,
				SrcRole: proxywatch.RoleBot, DstRole: proxywatch.RoleC2, Detail: "C&C"},
			{TS: ts(1655071199.5), UID: "CJ2", Src: netip.MustParseAddr("2001:db8::5"), SrcPort: 50001,
				Dst: netip.MustParseAddr("2001:db8:ff::2"), DstPort: 53, Proto: "udp", Label: LabelBenign},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, errs, format := readAll(t, f, tc.file, tc.opts)
			if len(errs) > 0 {
				t.Errorf("Read(%s) errors: %v", tc.file, errs)
			}
			if format != tc.format {
				t.Errorf("Format() = %q, want %q", format, tc.format)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Read(%s) (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, in string
		wantErrs int
		wantN    int
	}{
		{name: "unknown format", in: "hello\nworld\n", wantErrs: 1},
		{name: "record before fields", in: "#separator \\x09\n1\t2\n", wantErrs: 1},
		{name: "bad address", in: "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|label\n1|C|nope|1|192.0.2.1|2|Benign\n1|C|192.0.2.2|1|192.0.2.1|2|Benign\n", wantErrs: 1, wantN: 1},
		{name: "bad label", in: "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|label\n1|C|192.0.2.2|1|192.0.2.1|2|Weird\n", wantErrs: 1},
		{name: "bad port", in: "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|label\n1|C|192.0.2.2|70000|192.0.2.1|2|Benign\n", wantErrs: 1},
		{name: "bad json", in: "{\"ts\": 1,\n", wantErrs: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, _ := readAll(t, strings.NewReader(tc.in), "in", Options{})
			if len(errs) != tc.wantErrs || len(got) != tc.wantN {
				t.Errorf("Read(%q) = %d flows, errors %v; want %d flows, %d errors", tc.in, len(got), errs, tc.wantN, tc.wantErrs)
			}
			for _, err := range errs {
				if pe, ok := errors.AsType[*ParseError](err); !ok || pe.Line < 1 || pe.Name != "in" {
					t.Errorf("error %v: want a *ParseError naming the input and a line", err)
				}
			}
		})
	}
}

// TestConvertIsTruth checks that the converter's lines are the truth
// package's and that eval scores them.
func TestConvertIsTruth(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "iot23.conn.log.labeled"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	st, roles, err := Convert(f, "iot23", &out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Flows: 4, Malicious: 3}); st != want {
		t.Errorf("Convert() stats = %+v, want %+v", st, want)
	}
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	dec.DisallowUnknownFields()
	n := 0
	for dec.More() {
		var fl truth.FlowLabel
		if err := dec.Decode(&fl); err != nil {
			t.Fatalf("decode as truth.FlowLabel: %v", err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("decoded %d truth.FlowLabel lines, want 4", n)
	}
	addrs := roles.Addresses()
	wantAddrs := []Addr{
		{Addr: netip.MustParseAddr("192.0.2.195"), Role: proxywatch.RoleBot,
			Start: time.UnixMicro(1545403816962094).UTC(), End: time.UnixMicro(1545403848981338).UTC()},
		{Addr: netip.MustParseAddr("203.0.113.235"), Role: proxywatch.RoleC2,
			Start: time.UnixMicro(1545403816962094).UTC(), End: time.UnixMicro(1545403848981338).UTC()},
	}
	if diff := cmp.Diff(wantAddrs, addrs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Addresses() (-want +got):\n%s", diff)
	}
	// A finding naming the C2 flags the two C&C flows by flow, and
	// nothing else.
	fd := proxywatch.Finding{ID: "x", Detector: "beacon", Role: proxywatch.RoleC2,
		Subject: proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.235")), Confidence: 60,
		Time: addrs[0].End, Start: addrs[0].Start, End: addrs[0].End}
	rec, _ := json.Marshal(proxywatch.Record{Schema: 1, Type: proxywatch.RecordFinding, Finding: &fd})
	rep, err := eval.Score(bytes.NewReader(out.Bytes()), bytes.NewReader(append(rec, '\n')), eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Flows == nil || rep.Flows.TP != 2 || rep.Flows.FN != 1 || rep.Flows.FP != 0 {
		t.Errorf("eval by flow = %+v, want TP 2, FN 1 (the DDoS flow), FP 0", rep.Flows)
	}
	var wa bytes.Buffer
	if err := WriteAddresses(&wa, addrs); err != nil {
		t.Fatal(err)
	}
	rep, err = eval.Score(&wa, bytes.NewReader(append(rec, '\n')), eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Roles {
		if r.Role == proxywatch.RoleC2 && (r.TP != 1 || r.FP != 0) {
			t.Errorf("eval by address, c2 = %+v, want TP 1, FP 0", r)
		}
	}
}

// TestRealCaptures converts the labelled captures in ../shared/data and
// checks their label counts against their README.
func TestRealCaptures(t *testing.T) {
	tests := []struct {
		name, rel    string
		opts         Options
		flows, malic int
		c2           []string
	}{
		{name: "iot23 34-1", rel: "botnet-flows/iot23-CTU-IoT-Malware-Capture-34-1/conn.log.labeled",
			flows: 23145, malic: 21222, c2: []string{"185.244.25.235"}},
		{name: "iot23 34-1 C&C only", rel: "botnet-flows/iot23-CTU-IoT-Malware-Capture-34-1/conn.log.labeled",
			opts: Options{Only: []string{"C&C"}}, flows: 23145, malic: 6706, c2: []string{"185.244.25.235"}},
		{name: "iot23 21-1 csv", rel: "botnet-flows/iot23-pipe-csv/CTU-IoT-Malware-Capture-21-1conn.log.labeled.csv",
			flows: 3286, malic: 14, c2: []string{"66.85.157.90"}},
		{name: "stratosphere 008", rel: "botnet-flows/stratosphere-security-datasets/008-zeek-mixed/data/conn.log.labeled",
			flows: 5603, malic: 4201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(itest.Data(t, tc.rel))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, roles, err := Convert(f, tc.rel, io.Discard, tc.opts)
			if err != nil {
				t.Fatalf("Convert(%s) = %v", tc.rel, err)
			}
			if st.Flows != tc.flows || st.Malicious != tc.malic || st.Skipped != 0 {
				t.Errorf("Convert(%s) = %+v, want %d flows, %d malicious", tc.rel, st, tc.flows, tc.malic)
			}
			var c2 []string
			for _, a := range roles.Addresses() {
				if a.Role == proxywatch.RoleC2 {
					c2 = append(c2, a.Addr.String())
				}
			}
			if diff := cmp.Diff(tc.c2, c2); diff != "" {
				t.Errorf("C2 addresses (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	for _, name := range []string{"iot23.conn.log.labeled", "iot23.csv", "stratosphere.conn.log.labeled", "labelled.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := NewReader(bytes.NewReader(in), "fuzz", Options{Background: "benign"})
		for range 10000 {
			fl, err := rd.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if _, ok := errors.AsType[*ParseError](err); !ok {
					return // final errors (line too long) end the stream
				}
				continue
			}
			// What parses re-encodes and decodes to the same flow.
			b, err := json.Marshal(&fl)
			if err != nil {
				t.Fatalf("marshal %+v: %v", fl, err)
			}
			var back Flow
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if !back.TS.Equal(fl.TS) || back.Src != fl.Src || back.Dst != fl.Dst || back.Label != fl.Label || back.Detail != fl.Detail {
				t.Fatalf("round trip %+v != %+v", back, fl)
			}
			if fl.Label != LabelBenign && fl.Label != LabelMalicious {
				t.Fatalf("label %q", fl.Label)
			}
		}
	})
}
