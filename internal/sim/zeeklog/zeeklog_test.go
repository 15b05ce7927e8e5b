package zeeklog_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/sim/zeeklog"
)

func TestUID(t *testing.T) {
	tests := []struct {
		name string
		uid  zeeklog.UID
		want string
	}{
		{"zero", zeeklog.UID{}, "C00000000000000000"},
		{"one", zeeklog.UID{Hi: 1, Lo: 62}, "C10000000000100000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.uid.String(); got != tc.want {
				t.Errorf("UID(%v).String() = %q, want %q", tc.uid, got, tc.want)
			}
		})
	}
}

var sample = []zeeklog.Conn{
	{TS: 1772409601785341, UID: zeeklog.UID{Hi: 7, Lo: 9}, Orig: netip.MustParseAddr("198.18.31.153"), OrigPort: 59735,
		Resp: netip.MustParseAddr("198.19.128.68"), RespPort: 443, Proto: 6, Service: "ssl", Duration: 4695558,
		OrigBytes: 471, RespBytes: 10587, State: "SF", LocalOrig: true, History: "ShADadFf",
		OrigPkts: 8, OrigIPBytes: 887, RespPkts: 10, RespIPBytes: 11107},
	{TS: 1772409901000007, Orig: netip.MustParseAddr("2001:db8:1000::1"), OrigPort: 43887,
		Resp: netip.MustParseAddr("2001:db8:8001::5"), RespPort: 41414, Proto: 17, State: "S0",
		LocalOrig: true, History: "D", OrigPkts: 1, OrigIPBytes: 128},
}

func TestWriteTSV(t *testing.T) {
	var b bytes.Buffer
	w, err := zeeklog.NewTSV(&b, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sample {
		if err := w.Write(&sample[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	recs, err := strictTSV(&b)
	if err != nil {
		t.Fatalf("strictTSV: %v\n%s", err, b.String())
	}
	want := []map[string]string{
		{"ts": "1772409601.785341", "uid": "C70000000009000000", "id.orig_h": "198.18.31.153", "id.orig_p": "59735",
			"id.resp_h": "198.19.128.68", "id.resp_p": "443", "proto": "tcp", "service": "ssl", "duration": "4.695558",
			"orig_bytes": "471", "resp_bytes": "10587", "conn_state": "SF", "local_orig": "T", "local_resp": "F",
			"missed_bytes": "0", "history": "ShADadFf", "orig_pkts": "8", "orig_ip_bytes": "887", "resp_pkts": "10",
			"resp_ip_bytes": "11107", "tunnel_parents": "-"},
		{"ts": "1772409901.000007", "uid": "C00000000000000000", "id.orig_h": "2001:db8:1000::1", "id.orig_p": "43887",
			"id.resp_h": "2001:db8:8001::5", "id.resp_p": "41414", "proto": "udp", "service": "-", "duration": "-",
			"orig_bytes": "-", "resp_bytes": "-", "conn_state": "S0", "local_orig": "T", "local_resp": "F",
			"missed_bytes": "0", "history": "D", "orig_pkts": "1", "orig_ip_bytes": "128", "resp_pkts": "0",
			"resp_ip_bytes": "0", "tunnel_parents": "-"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	w := zeeklog.NewJSON(&b)
	for i := range sample {
		if err := w.Write(&sample[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(time.Time{}); err != nil {
		t.Fatal(err)
	}
	recs, err := strictJSON(&b)
	if err != nil {
		t.Fatalf("strictJSON: %v", err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	if got := fmt.Sprint(recs[0]["duration"]); got != "4.695558" {
		t.Errorf("duration = %s, want 4.695558", got)
	}
	if _, ok := recs[1]["duration"]; ok {
		t.Errorf("single-packet connection has a duration: %v", recs[1])
	}
}

// TestStrictReaderRejects checks that the strict reader can fail.
func TestStrictReaderRejects(t *testing.T) {
	var b bytes.Buffer
	w, _ := zeeklog.NewTSV(&b, time.Unix(0, 0))
	_ = w.Write(&sample[0])
	_ = w.Close(time.Unix(1, 0))
	good := b.String()
	tests := []struct {
		name, from, to string
	}{
		{"missing field", "\tssl\t", "\t"},
		{"bad addr", "198.18.31.153", "198.18.31.999"},
		{"bad time", "1772409601.785341", "1772409601.78"},
		{"bad bool", "\tT\tF\t", "\ttrue\tF\t"},
		{"bad separator header", `#separator \x09`, "#separator\t\\x09"},
		{"no close", "#close", "#closed"},
		{"types short", "\tset[string]", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatalf("replacement %q not found", tc.from)
			}
			if _, err := strictTSV(strings.NewReader(bad)); err == nil {
				t.Errorf("strictTSV accepted %s", tc.name)
			}
		})
	}
}

// TestSimulatedConnLog runs the smoke scenario and reads both conn logs
// strictly; the two formats must hold the same records.
func TestSimulatedConnLog(t *testing.T) {
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutZeek, sim.OutZeekJSON}})
	if err != nil {
		t.Fatal(err)
	}
	tf, err := os.Open(filepath.Join(dir, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	tsv, err := strictTSV(tf)
	if err != nil {
		t.Fatalf("conn.log: %v", err)
	}
	jf, err := os.Open(filepath.Join(dir, "conn.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	js, err := strictJSON(jf)
	if err != nil {
		t.Fatalf("conn.json: %v", err)
	}
	if len(tsv) != len(js) || int64(len(tsv)) != sum.Conns {
		t.Fatalf("conn.log has %d records, conn.json %d, summary %d", len(tsv), len(js), sum.Conns)
	}
	for i := range tsv {
		if tsv[i]["uid"] != js[i]["uid"] || tsv[i]["id.orig_h"] != js[i]["id.orig_h"] {
			t.Fatalf("record %d differs: %v vs %v", i+1, tsv[i], js[i])
		}
	}
}
