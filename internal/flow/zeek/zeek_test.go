package zeek_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/itest"
)

var cmpAddr = cmpopts.EquateComparable(netip.AddrPort{})

// readAll reads every session of a file and the lines it skipped.
func readAll(t testing.TB, path string, opts zeek.Options) ([]flow.Session, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readFrom(t, f, opts)
}

func readFrom(t testing.TB, r io.Reader, opts zeek.Options) ([]flow.Session, []error) {
	t.Helper()
	zr := zeek.NewReader(r, opts)
	var ss []flow.Session
	var errs []error
	for {
		s, err := zr.ReadSession()
		if err == io.EOF {
			return ss, errs
		}
		if _, ok := errors.AsType[*flow.ParseError](err); ok {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func at(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }

// fixture are the sessions of testdata/conn.log and conn.json.
var fixture = []flow.Session{
	{Start: at(1772445600, 123456000), Duration: 1500 * time.Millisecond, Orig: ap("198.51.100.7:52144"), Resp: ap("203.0.113.5:443"),
		Proto: 6, Service: "ssl", OrigPackets: 9, RespPackets: 7, OrigBytes: 989, RespBytes: 4752, State: "SF", UID: "CAbc1"},
	{Start: at(1772445601, 1000), Orig: ap("[2001:db8::7]:123"), Resp: ap("[2001:db8::1]:123"),
		Proto: 17, Service: "ntp", OrigPackets: 1, OrigBytes: 76, State: "S0", UID: "CAbc2"},
	{Start: at(1772445602, 500000000), Duration: 2 * time.Millisecond, Orig: ap("192.0.2.9:8"), Resp: ap("203.0.113.5:0"),
		Proto: 1, OrigPackets: 1, RespPackets: 1, OrigBytes: 84, RespBytes: 84, State: "OTH", UID: "CAbc3"},
	{Start: at(1772449200, 250000000), Orig: ap("198.51.100.8:51000"), Resp: ap("203.0.113.20:40000"),
		Proto: 17, OrigPackets: 1, OrigBytes: 60, State: "S0", UID: "CAbc4"},
}

func TestFixtures(t *testing.T) {
	payload := func(ss []flow.Session) []flow.Session {
		out := append([]flow.Session(nil), ss...)
		out[0].OrigBytes, out[0].RespBytes = 517, 4380
		out[2].OrigBytes, out[2].RespBytes = 56, 56
		return out
	}
	for _, tc := range []struct {
		name string
		file string
		opts zeek.Options
		want []flow.Session
	}{
		{"TSV across a rotation", "conn.log", zeek.Options{}, fixture},
		{"JSON, flat and nested id, epoch and ISO ts", "conn.json", zeek.Options{}, fixture},
		{"TSV payload bytes", "conn.log", zeek.Options{PayloadBytes: true}, payload(fixture)},
		{"JSON payload bytes", "conn.json", zeek.Options{PayloadBytes: true}, payload(fixture)},
		{"IoT-23 three-space columns", "iot23.log", zeek.Options{}, []flow.Session{
			{Start: at(1772445600, 100000000), Duration: 3100 * time.Millisecond, Orig: ap("198.18.1.195:41040"), Resp: ap("203.0.113.16:28432"),
				Proto: 6, OrigPackets: 3, OrigBytes: 180, State: "S0", UID: "CIot1", Label: "Malicious C&C"},
			{Start: at(1772445601, 200000000), Orig: ap("198.18.1.195:123"), Resp: ap("192.0.2.123:123"),
				Proto: 17, OrigPackets: 1, OrigBytes: 76, State: "S0", UID: "CIot2", Label: "Benign"},
		}},
		{"pipe-separated CSV with a header row", "pipe.csv", zeek.Options{}, []flow.Session{
			{Start: at(1772445600, 100000000), Duration: 3100 * time.Millisecond, Orig: ap("198.18.1.113:41174"), Resp: ap("203.0.113.90:443"),
				Proto: 6, OrigPackets: 3, OrigBytes: 180, State: "S0", UID: "CPip1", Label: "Malicious C&C Torii"},
			{Start: at(1772445601, 200000000), Orig: ap("198.18.1.113:42789"), Resp: ap("198.18.1.1:53"),
				Proto: 17, Service: "dns", OrigPackets: 1, OrigBytes: 67, State: "S0", UID: "CPip2", Label: "Benign"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := readAll(t, filepath.Join("testdata", tc.file), tc.opts)
			if len(errs) > 0 {
				t.Errorf("ReadSession errors: %v", errs)
			}
			if d := cmp.Diff(tc.want, got, cmpAddr); d != "" {
				t.Errorf("sessions (-want +got):\n%s", d)
			}
		})
	}
}

func TestSkippedLines(t *testing.T) {
	for _, tc := range []struct {
		name, in, reason string
		line             int
	}{
		{"data before a header", "1772445600.1\tC1\t192.0.2.1\t1\t192.0.2.2\t2\ttcp\n", flow.ReasonNoHeader, 1},
		{"wrong column count", "#fields\tts\tid.orig_h\n1\t2\t3\n", flow.ReasonSyntax, 2},
		{"bad address", "#fields\tts\tid.orig_h\tid.resp_h\n1.5\t192.0.2.300\t192.0.2.1\n", flow.ReasonBadValue, 2},
		{"bad time", "#fields\tts\tid.orig_h\tid.resp_h\nyesterday\t192.0.2.3\t192.0.2.1\n", flow.ReasonBadValue, 2},
		{"bad count", "#fields\tts\tid.orig_h\tid.resp_h\torig_pkts\n1\t192.0.2.3\t192.0.2.1\tmany\n", flow.ReasonBadValue, 2},
		{"bad JSON", "{\"ts\":1,\n", flow.ReasonSyntax, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := readFrom(t, strings.NewReader(tc.in), zeek.Options{Name: "x.log"})
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			pe, _ := errors.AsType[*flow.ParseError](errs[0])
			if pe.Reason != tc.reason || pe.Line != tc.line || pe.Name != "x.log" {
				t.Errorf("error = %v, want reason %q at x.log:%d", errs[0], tc.reason, tc.line)
			}
		})
	}
}

// TestRealLogs reads the Stratosphere captures: session counts from their
// README and IoT-23's label breakdown.
func TestRealLogs(t *testing.T) {
	for _, tc := range []struct {
		file   string
		n      int
		labels map[string]int
	}{
		{"iot23-CTU-IoT-Malware-Capture-34-1/conn.log.labeled", 23145, map[string]int{
			"Malicious DDoS": 14394, "Malicious C&C": 6706, "Malicious PartOfAHorizontalPortScan": 122, "Benign": 1923}},
		{"iot23-pipe-csv/CTU-IoT-Malware-Capture-21-1conn.log.labeled.csv", 3286, map[string]int{"Malicious C&C Torii": 14}},
		{"iot23-pipe-csv/CTU-IoT-Malware-Capture-42-1conn.log.labeled.csv", 4426, nil},
		{"stratosphere-security-datasets/002-zeek-scenario-port-scanning/conn.log", 4504, nil},
		{"stratosphere-security-datasets/003-zeek-scenario-malicious/conn.log", 361, nil},
		{"stratosphere-security-datasets/005-zeek-scenario-malicious/conn.log", -1, nil},
		{"stratosphere-security-datasets/008-zeek-mixed/data/conn.log.labeled", -1, map[string]int{"Malicious External-Attack-to-Device": 4201}},
		{"slips-dataset/dataset/port-scans/horizontal/conn.log", -1, nil},
		{"slips-dataset/dataset/port-scans/vertical/conn.log", -1, nil},
		{"slips-dataset/dataset/test9-mixed-zeek-dir/conn.log", -1, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := itest.Data(t, filepath.Join("botnet-flows", tc.file))
			ss, errs := readAll(t, p, zeek.Options{Name: tc.file})
			if len(errs) > 0 {
				t.Errorf("%d lines skipped, first %v", len(errs), errs[0])
			}
			want := tc.n
			if want < 0 {
				want = dataLines(t, p)
			}
			if len(ss) != want {
				t.Errorf("read %d sessions, want %d", len(ss), want)
			}
			got := map[string]int{}
			for _, s := range ss {
				if !s.Orig.Addr().IsValid() || !s.Resp.Addr().IsValid() || s.Start.IsZero() {
					t.Fatalf("incomplete session %+v", s)
				}
				got[s.Label]++
			}
			for l, n := range tc.labels {
				if got[l] != n {
					t.Errorf("label %q on %d sessions, want %d (labels %v)", l, got[l], n, got)
				}
			}
		})
	}
}

// dataLines counts the lines that are neither headers nor blank.
func dataLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range bytes.Lines(b) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] != '#' {
			n++
		}
	}
	return n
}

// TestHeaderless reads data lines met before any header, as a follower
// starting at the end of the live file does: Zeek's default layout.
func TestHeaderless(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	var data []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && l[0] != '#' {
			data = append(data, l)
		}
	}
	// The first block's three records follow Zeek's default layout.
	got, errs := readFrom(t, strings.NewReader(strings.Join(data[:3], "\n")), zeek.Options{})
	if len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
	if d := cmp.Diff(fixture[:3], got, cmpAddr); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
}
