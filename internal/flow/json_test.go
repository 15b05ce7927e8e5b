package flow_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

func TestRecordAppendJSON(t *testing.T) {
	r := flow.Record{Start: time.Date(2026, 3, 2, 10, 0, 0, 123e6, time.UTC), End: time.Date(2026, 3, 2, 10, 0, 1, 0, time.UTC),
		Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("203.0.113.5"), SrcPort: 52144, DstPort: 443,
		Proto: 6, TCPFlags: 0x1b, Packets: 9, Bytes: 989, SamplingRate: 100, Exporter: netip.MustParseAddr("192.0.2.1"), Domain: 7}
	want := `{"first":"2026-03-02T10:00:00.123Z","last":"2026-03-02T10:00:01Z","src":"198.51.100.7","src_port":52144,"dst":"203.0.113.5","dst_port":443,"proto":"tcp","tcp_flags":"...AP.SF","packets":9,"bytes":989,"sampling":100,"exporter":"192.0.2.1","domain":7}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("AppendJSON = %s\nwant          %s", got, want)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, tc := range []struct {
		name, head, want string
	}{
		{"pcap", "\xd4\xc3\xb2\xa1\x02\x00", flow.FormatPcap},
		{"pcapng", "\x0a\x0d\x0d\x0a", flow.FormatPcap},
		{"zeek TSV", "#separator \\x09\n#set_separator\t,\n", flow.FormatZeek},
		{"zeek JSON", `{"ts":1.5,"uid":"C1","id.orig_h":"192.0.2.1"}` + "\n", flow.FormatZeek},
		{"IoT-23 CSV", "ts|uid|id.orig_h|id.orig_p\n", flow.FormatZeek},
		{"nfdump CSV", "ts,te,td,sa,da,sp,dp,pr\n", flow.FormatNfdumpCSV},
		{"nfcapd", "\x0c\xa5\x01\x00", flow.FormatNfcapd},
		{"something else", "hello\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := flow.DetectFormat([]byte(tc.head)); got != tc.want {
				t.Errorf("DetectFormat(%q) = %q, want %q", tc.head, got, tc.want)
			}
		})
	}
}
