package nfcsv_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/nfcsv"
	"github.com/proxywatch/proxywatch/internal/itest"
)

func readAll(t testing.TB, r io.Reader, opts nfcsv.Options) ([]flow.Record, []error) {
	t.Helper()
	nr := nfcsv.NewReader(r, opts)
	var recs []flow.Record
	var errs []error
	for {
		rec, err := nr.ReadRecord()
		if err == io.EOF {
			return recs, errs
		}
		if _, ok := errors.AsType[*flow.ParseError](err); ok {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestFixture(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "flows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, errs := readAll(t, f, nfcsv.Options{Location: time.UTC})
	if len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
	d := func(s string) time.Time { x, _ := time.Parse("2006-01-02 15:04:05.999", s); return x }
	want := []flow.Record{
		{Start: d("2026-03-02 10:00:00"), End: d("2026-03-02 10:00:01"), Src: a("198.51.100.7"), Dst: a("203.0.113.5"), SrcPort: 52144, DstPort: 443,
			Proto: 6, TCPFlags: 0x1b, Packets: 9, Bytes: 989, SamplingRate: 1, Exporter: a("192.0.2.1")},
		{Start: d("2026-03-02 10:00:02.5"), End: d("2026-03-02 10:00:02.502"), Src: a("192.0.2.9"), Dst: a("203.0.113.5"), DstPort: 0x0800,
			Proto: 1, Packets: 1, Bytes: 84, SamplingRate: 1, Exporter: a("192.0.2.1")},
		{Start: d("2026-03-02 10:00:03"), End: d("2026-03-02 10:00:04"), Src: a("2001:db8::7"), Dst: a("2001:db8::1"), SrcPort: 61000, DstPort: 53,
			Proto: 17, Packets: 1, Bytes: 76, SamplingRate: 1},
		{Start: d("2026-03-02 10:00:03"), End: d("2026-03-02 10:00:04"), Src: a("2001:db8::1"), Dst: a("2001:db8::7"), SrcPort: 53, DstPort: 61000,
			Proto: 17, Packets: 1, Bytes: 180, SamplingRate: 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestSkippedRows(t *testing.T) {
	const head = "ts,te,sa,da,sp,dp,pr,flg,ipkt,ibyt\n"
	for _, tc := range []struct{ name, in, reason string }{
		{"no header", "2026-03-02 10:00:00,2026-03-02 10:00:01,192.0.2.1,192.0.2.2,1,2,TCP,........,1,40\n", flow.ReasonNoHeader},
		{"short row", head + "2026-03-02 10:00:00,2026-03-02 10:00:01,192.0.2.1\n", flow.ReasonSyntax},
		{"bad address", head + "2026-03-02 10:00:00,2026-03-02 10:00:01,192.0.2.1,host,1,2,TCP,........,1,40\n", flow.ReasonBadValue},
		{"bad time", head + "yesterday,2026-03-02 10:00:01,192.0.2.1,192.0.2.2,1,2,TCP,........,1,40\n", flow.ReasonBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := readAll(t, strings.NewReader(tc.in), nfcsv.Options{})
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			if pe, _ := errors.AsType[*flow.ParseError](errs[0]); pe.Reason != tc.reason {
				t.Errorf("error = %v, want reason %q", errs[0], tc.reason)
			}
		})
	}
}

// TestNfdumpOracle reads `nfdump -r -o csv` of the nfcapd file and
// compares every record with nfdump's own line format, to the second (the
// CSV of nfdump 1.7.1 prints no milliseconds).
func TestNfdumpOracle(t *testing.T) {
	nfdump := itest.Need(t, "nfdump")
	file := itest.Data(t, "netflow/slips-nfdump/test1-malicious.nfdump")
	run := func(args ...string) []byte {
		cmd := exec.Command(nfdump, append([]string{"-r", file}, args...)...)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nfdump %v: %v", args, err)
		}
		return out
	}
	got, errs := readAll(t, bytes.NewReader(run("-o", "csv")), nfcsv.Options{Location: time.UTC})
	if len(errs) > 0 {
		t.Fatalf("%d rows skipped, first %v", len(errs), errs[0])
	}
	type rec struct {
		Start, End       int64
		Src, Dst         string
		SrcPort, DstPort uint16
		Proto            string
		Packets, Bytes   string
	}
	var want, have []rec
	for line := range strings.Lines(string(run("-q", "-N", "-o", "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt"))) {
		f := strings.Split(line, "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		ts, _ := time.Parse("2006-01-02 15:04:05.000", f[0])
		te, _ := time.Parse("2006-01-02 15:04:05.000", f[1])
		sp, dp := parse16(f[4]), parse16(f[5])
		want = append(want, rec{ts.Unix(), te.Unix(), f[2], f[3], sp, dp, f[6], f[7], f[8]})
	}
	for _, r := range got {
		have = append(have, rec{r.Start.Unix(), r.End.Unix(), r.Src.String(), r.Dst.String(), r.SrcPort, r.DstPort,
			itoa(uint64(r.Proto)), itoa(r.Packets), itoa(r.Bytes)})
	}
	if len(want) != 4593 {
		t.Fatalf("nfdump printed %d flows, want 4593", len(want))
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("records (-nfdump +ours):\n%s", diff)
	}
}
