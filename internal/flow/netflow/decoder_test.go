package netflow_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
)

var (
	exporter = netip.MustParseAddr("192.0.2.1")
	recvTime = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cmpAddr  = cmpopts.EquateComparable(netip.Addr{})
)

func decodeAll(t *testing.T, dec *netflow.Decoder, packets ...[]byte) ([]flow.Record, []error) {
	t.Helper()
	var recs []flow.Record
	var errs []error
	for _, p := range packets {
		var err error
		recs, err = dec.Decode(recs, p, exporter, recvTime)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return recs, errs
}

func ms(unixMs int64) time.Time { return time.UnixMilli(unixMs).UTC() }

func TestDecodeVersions(t *testing.T) {
	const secs = 1_772_445_600 // 2026-03-02T10:00:00Z
	base := int64(secs) * 1000
	for _, tc := range []struct {
		name    string
		packets [][]byte
		want    []flow.Record
	}{
		{
			name:    "v5 with times from sysUptime",
			packets: [][]byte{v5(60_000, secs, 500_000_000, 0, 0, v5rec{v4a, v4b, 3, 180, 50_000, 59_000, 40000, 443, 0x1b, 6})},
			want: []flow.Record{{Start: ms(base + 500 - 10_000), End: ms(base + 500 - 1_000), Src: netip.AddrFrom4(v4a), Dst: netip.AddrFrom4(v4b),
				SrcPort: 40000, DstPort: 443, Proto: 6, TCPFlags: 0x1b, Packets: 3, Bytes: 180, SamplingRate: 1, Exporter: exporter, Domain: 1}},
		},
		{
			name:    "v5 sampling interval from the header",
			packets: [][]byte{v5(60_000, secs, 0, 0, 0x4000|512, v5rec{v4a, v4b, 1, 40, 60_000, 60_000, 1, 2, 0, 17})},
			want: []flow.Record{{Start: ms(base), End: ms(base), Src: netip.AddrFrom4(v4a), Dst: netip.AddrFrom4(v4b),
				SrcPort: 1, DstPort: 2, Proto: 17, Packets: 1, Bytes: 40, SamplingRate: 512, Exporter: exporter, Domain: 1}},
		},
		{
			name: "v9 template then data, uptime wrapped",
			packets: [][]byte{
				v9(1000, secs, 0, 7, set(0, v9Template)),
				v9(1000, secs, 1, 7, set(300, v9Record(0xffffff00, 500, 1500, 3, 52000, 80, 6, 0x1b))),
			},
			want: []flow.Record{{Start: ms(base - 1000 - 256), End: ms(base - 500), Src: netip.AddrFrom4(v4a), Dst: netip.AddrFrom4(v4b),
				SrcPort: 52000, DstPort: 80, Proto: 6, TCPFlags: 0x1b, Packets: 3, Bytes: 1500, SamplingRate: 1, Exporter: exporter, Domain: 7}},
		},
		{
			name: "IPFIX with variable-length and enterprise fields, sampler from options",
			packets: [][]byte{ipfix(secs, 0, 3, set(2, ipfixTemplate), set(3, ipfixOptsTemplate), set(401, ipfixOptsRecord),
				set(400, cat(ipfixRecord(uint64(base-1000), uint64(base-100), 9000, 9, "eth0", 5), ipfixRecord(uint64(base-900), uint64(base-800), 60, 1, "", 6))))},
			want: []flow.Record{
				{Start: ms(base - 1000), End: ms(base - 100), Src: netip.AddrFrom16(v6a), Dst: netip.AddrFrom16(v6b),
					SrcPort: 443, DstPort: 51000, Proto: 6, Packets: 9, Bytes: 9000, SamplingRate: 100, Exporter: exporter, Domain: 3},
				{Start: ms(base - 900), End: ms(base - 800), Src: netip.AddrFrom16(v6a), Dst: netip.AddrFrom16(v6b),
					SrcPort: 443, DstPort: 51000, Proto: 6, Packets: 1, Bytes: 60, SamplingRate: 1, Exporter: exporter, Domain: 3},
			},
		},
		{
			name: "IPFIX sysUpTime times relative to systemInitTimeMilliseconds from options",
			packets: [][]byte{ipfix(secs, 0, 4,
				set(3, ipfixOptsTmpl(500, 1, tf{149, 4, 0}, tf{160, 8, 0})), set(500, cat(u32(4), u64(uint64(base-3_600_000)))),
				set(2, tmpl(501, tf{8, 4, 0}, tf{12, 4, 0}, tf{22, 4, 0}, tf{21, 4, 0}, tf{4, 1, 0}, tf{32, 2, 0})),
				set(501, cat(v4a[:], v4b[:], u32(3_599_000), u32(3_599_500), []byte{1}, u16(0x0800))))},
			want: []flow.Record{{Start: ms(base - 1000), End: ms(base - 500), Src: netip.AddrFrom4(v4a), Dst: netip.AddrFrom4(v4b),
				DstPort: 0x0800, Proto: 1, SamplingRate: 1, Exporter: exporter, Domain: 4}},
		},
		{
			name: "biflow reverse counters make a second record",
			packets: [][]byte{ipfix(secs, 0, 5,
				set(2, tmpl(600, tf{8, 4, 0}, tf{12, 4, 0}, tf{7, 2, 0}, tf{11, 2, 0}, tf{4, 1, 0}, tf{1, 4, 0}, tf{2, 4, 0}, tf{1, 4, 29305}, tf{2, 4, 29305}, tf{150, 4, 0})),
				set(600, cat(v4a[:], v4b[:], u16(5353), u16(53), []byte{17}, u32(60), u32(1), u32(120), u32(1), u32(secs-1))))},
			want: []flow.Record{
				{Start: ms(base - 1000), End: ms(base - 1000), Src: netip.AddrFrom4(v4a), Dst: netip.AddrFrom4(v4b),
					SrcPort: 5353, DstPort: 53, Proto: 17, Packets: 1, Bytes: 60, SamplingRate: 1, Exporter: exporter, Domain: 5},
				{Start: ms(base - 1000), End: ms(base - 1000), Src: netip.AddrFrom4(v4b), Dst: netip.AddrFrom4(v4a),
					SrcPort: 53, DstPort: 5353, Proto: 17, Packets: 1, Bytes: 120, SamplingRate: 1, Exporter: exporter, Domain: 5},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := decodeAll(t, netflow.NewDecoder(netflow.Options{}), tc.packets...)
			if len(errs) > 0 {
				t.Errorf("Decode errors: %v", errs)
			}
			if d := cmp.Diff(tc.want, got, cmpAddr); d != "" {
				t.Errorf("Decode records (-want +got):\n%s", d)
			}
		})
	}
}

func TestSamplingRules(t *testing.T) {
	const secs = 1_772_445_600
	data := v9(1000, secs, 1, 7, set(300, v9Record(500, 900, 100, 1, 1, 2, 17, 0)))
	announce := v9(1000, secs, 0, 7, set(0, v9Template), set(1, v9OptsTmpl(301, []tf{{1, 4, 0}}, []tf{{34, 4, 0}})), set(301, cat(u32(0), u32(64))))
	plain := v9(1000, secs, 0, 7, set(0, v9Template))
	rule := func(rate uint32, override bool) []netflow.SamplingRule {
		return []netflow.SamplingRule{{Exporter: netip.MustParsePrefix("192.0.2.0/24"), Rate: rate, Override: override}}
	}
	for _, tc := range []struct {
		name    string
		rules   []netflow.SamplingRule
		packets [][]byte
		want    uint32
	}{
		{"announced by an options record", nil, [][]byte{announce, data}, 64},
		{"unsampled when nothing says", nil, [][]byte{plain, data}, 1},
		{"configured default when the exporter is silent", rule(1000, false), [][]byte{plain, data}, 1000},
		{"announcement beats the configured default", rule(1000, false), [][]byte{announce, data}, 64},
		{"configured override beats the announcement", rule(1000, true), [][]byte{announce, data}, 1000},
		{"rule for another exporter", []netflow.SamplingRule{{Exporter: netip.MustParsePrefix("203.0.113.0/24"), Rate: 10}}, [][]byte{plain, data}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := decodeAll(t, netflow.NewDecoder(netflow.Options{Sampling: tc.rules}), tc.packets...)
			if len(errs) > 0 || len(got) != 1 {
				t.Fatalf("Decode = %d records, errors %v; want 1 record", len(got), errs)
			}
			if got[0].SamplingRate != tc.want {
				t.Errorf("SamplingRate = %d, want %d", got[0].SamplingRate, tc.want)
			}
		})
	}
}

func TestSequenceAccounting(t *testing.T) {
	const secs = 1_772_445_600
	r := v5rec{v4a, v4b, 1, 40, 0, 0, 1, 2, 0, 17}
	v5n := func(seq uint32, n int) []byte {
		recs := make([]v5rec, n)
		for i := range recs {
			recs[i] = r
		}
		return v5(0, secs, 0, seq, 0, recs...)
	}
	v9d := func(seq uint32) []byte { return v9(1000, secs, seq, 7, set(300, v9Record(0, 0, 1, 1, 1, 2, 17, 0))) }
	v9t := v9(1000, secs, 0, 7, set(0, v9Template))
	ipt := func(seq uint32, n int) []byte {
		var recs []byte
		for range n {
			recs = append(recs, v9Record(0, 0, 1, 1, 1, 2, 17, 0)...)
		}
		return ipfix(secs, seq, 8, set(2, tmpl(300, tf{8, 4, 0}, tf{12, 4, 0}, tf{22, 4, 0}, tf{21, 4, 0}, tf{1, 4, 0}, tf{2, 4, 0}, tf{7, 2, 0}, tf{11, 2, 0}, tf{4, 1, 0}, tf{6, 1, 0})), set(300, recs))
	}
	iptOpts := func(seq uint32, n int) []byte { // n flow records after one options record
		p := ipt(seq, n)
		opts := cat(set(3, ipfixOptsTmpl(301, 1, tf{149, 4, 0}, tf{160, 8, 0})), set(301, cat(u32(8), u64(1))))
		p = append(p[:16], append(opts, p[16:]...)...)
		be.PutUint16(p[2:], uint16(len(p)))
		return p
	}
	for _, tc := range []struct {
		name    string
		packets [][]byte
		v       int
		lost    uint64
		late    uint64
		resets  uint64
	}{
		{"v5 counts flows", [][]byte{v5n(0, 3), v5n(3, 2), v5n(10, 1)}, netflow.V5, 5, 0, 0},
		{"v9 counts packets", [][]byte{v9t, v9d(1), v9d(4), v9d(5)}, netflow.V9, 2, 0, 0},
		{"v9 late packet", [][]byte{v9t, v9d(1), v9d(3), v9d(2), v9d(4)}, netflow.V9, 1, 1, 0},
		{"v9 restart", [][]byte{v9(1000, secs, 999_999, 7, set(0, v9Template)), v9d(1_000_000), v9d(1_000_001), v9d(0), v9d(1)}, netflow.V9, 0, 0, 1},
		{"IPFIX counts data records", [][]byte{ipt(0, 2), ipt(2, 3), ipt(9, 1)}, netflow.IPFIX, 4, 0, 0},
		{"IPFIX counted inclusively (softflowd)", [][]byte{ipt(2, 2), ipt(5, 3), ipt(6, 1), ipt(10, 4)}, netflow.IPFIX, 0, 0, 0},
		{"IPFIX inclusive, then a loss", [][]byte{ipt(2, 2), ipt(5, 3), ipt(6, 1), ipt(12, 4)}, netflow.IPFIX, 2, 0, 0},
		{"IPFIX inclusive of flow records only (softflowd with options)", [][]byte{iptOpts(2, 2), ipt(5, 3), ipt(7, 2), iptOpts(10, 3), ipt(11, 1)}, netflow.IPFIX, 0, 0, 0},
		{"IPFIX options records counted (RFC 7011)", [][]byte{iptOpts(0, 2), ipt(3, 3), iptOpts(6, 1), ipt(8, 1)}, netflow.IPFIX, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := netflow.NewDecoder(netflow.Options{})
			if _, errs := decodeAll(t, dec, tc.packets...); len(errs) > 0 {
				t.Fatalf("Decode errors: %v", errs)
			}
			s := dec.Stats()
			if s.Lost[tc.v] != tc.lost || s.Reordered[tc.v] != tc.late || s.Resets[tc.v] != tc.resets {
				t.Errorf("Stats() lost %d, late %d, resets %d; want %d, %d, %d", s.Lost[tc.v], s.Reordered[tc.v], s.Resets[tc.v], tc.lost, tc.late, tc.resets)
			}
		})
	}
}

func TestMalformedCounted(t *testing.T) {
	const secs = 1_772_445_600
	good := v9(1000, secs, 0, 7, set(0, v9Template))
	for _, tc := range []struct {
		name    string
		opts    netflow.Options
		packets [][]byte
		reason  string
	}{
		{"empty", netflow.Options{}, [][]byte{{}}, flow.ReasonShort},
		{"short v9 header", netflow.Options{}, [][]byte{good[:12]}, flow.ReasonShort},
		{"unknown version", netflow.Options{}, [][]byte{{0, 7, 0, 0}}, flow.ReasonVersion},
		{"sFlow is not NetFlow", netflow.Options{}, [][]byte{cat(u32(5), u32(1), make([]byte, 20))}, flow.ReasonVersion},
		{"v5 cut short", netflow.Options{}, [][]byte{v5(0, secs, 0, 0, 0, v5rec{}, v5rec{})[:24+48+10]}, flow.ReasonTruncated},
		{"set beyond the packet", netflow.Options{}, [][]byte{good[:len(good)-4]}, flow.ReasonTruncated},
		{"set beyond the packet after data for an unknown template", netflow.Options{},
			[][]byte{v9(0, secs, 0, 7, cat(set(300, v9Record(0, 0, 1, 1, 1, 2, 17, 0)), set(0, v9Template)[:20]))}, flow.ReasonTruncated},
		{"IPFIX length beyond the datagram", netflow.Options{}, [][]byte{ipfix(secs, 0, 1, set(2, ipfixTemplate))[:40]}, flow.ReasonTruncated},
		{"set of length 2", netflow.Options{}, [][]byte{v9(0, secs, 0, 7, []byte{1, 44, 0, 2})}, flow.ReasonBadSet},
		{"reserved set ID", netflow.Options{}, [][]byte{ipfix(secs, 0, 1, set(7, []byte{0, 0, 0, 0}))}, flow.ReasonBadSet},
		{"template ID below 256", netflow.Options{}, [][]byte{v9(0, secs, 0, 7, set(0, tmpl(12, tf{8, 4, 0})))}, flow.ReasonBadTemplate},
		{"template of zero length", netflow.Options{}, [][]byte{v9(0, secs, 0, 7, set(0, tmpl(300, tf{8, 0, 0})))}, flow.ReasonBadTemplate},
		{"data before its template", netflow.Options{}, [][]byte{v9(0, secs, 1, 7, set(300, v9Record(0, 0, 1, 1, 1, 2, 17, 0)))}, flow.ReasonNoTemplate},
		{"too many domains", netflow.Options{MaxDomains: 1}, [][]byte{good, v9(1000, secs, 0, 8, set(0, v9Template))}, flow.ReasonLimit},
		{"too many templates", netflow.Options{MaxTemplates: 1}, [][]byte{v9(0, secs, 0, 7, set(0, cat(v9Template, tmpl(301, tf{8, 4, 0}))))}, flow.ReasonLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := netflow.NewDecoder(tc.opts)
			_, errs := decodeAll(t, dec, tc.packets...)
			if len(errs) == 0 {
				t.Fatalf("Decode reported no error, want reason %q", tc.reason)
			}
			pe, ok := errors.AsType[*flow.ParseError](errs[len(errs)-1])
			if !ok || pe.Reason != tc.reason {
				t.Errorf("Decode error = %v, want reason %q", errs[len(errs)-1], tc.reason)
			}
			s := dec.Stats()
			for i, r := range netflow.Reasons {
				if r == tc.reason && s.Errors[i] == 0 {
					t.Errorf("Stats().Errors[%s] = 0, want it counted", r)
				}
			}
		})
	}
}

func TestTemplateLifetime(t *testing.T) {
	const secs = 1_772_445_600
	dec := netflow.NewDecoder(netflow.Options{TemplateTimeout: time.Hour})
	data := v9(1000, secs, 1, 7, set(300, v9Record(0, 0, 1, 1, 1, 2, 17, 0)))
	if _, err := dec.Decode(nil, v9(1000, secs, 0, 7, set(0, v9Template)), exporter, recvTime); err != nil {
		t.Fatal(err)
	}
	if recs, err := dec.Decode(nil, data, exporter, recvTime.Add(59*time.Minute)); err != nil || len(recs) != 1 {
		t.Fatalf("Decode within the timeout = %d records, %v; want 1, nil", len(recs), err)
	}
	if recs, err := dec.Decode(nil, data, exporter, recvTime.Add(2*time.Hour)); len(recs) != 0 || err == nil {
		t.Errorf("Decode after the timeout = %d records, %v; want 0 and no-template", len(recs), err)
	}
	if s := dec.Stats(); s.Expired != 1 {
		t.Errorf("Stats().Expired = %d, want 1", s.Expired)
	}
	// IPFIX withdrawal: a template record with no fields.
	w := netflow.NewDecoder(netflow.Options{})
	withdraw := ipfix(secs, 0, 3, set(2, u32(400<<16)))
	add := ipfix(secs, 0, 3, set(2, ipfixTemplate))
	rec := ipfix(secs, 0, 3, set(400, ipfixRecord(1, 2, 3, 4, "x", 0)))
	if _, errs := decodeAll(t, w, add, withdraw); len(errs) > 0 {
		t.Fatal(errs)
	}
	if recs, err := w.Decode(nil, rec, exporter, recvTime); len(recs) != 0 || err == nil {
		t.Errorf("Decode after withdrawal = %d records, %v; want 0 and no-template", len(recs), err)
	}
}

// TestInvalidCaptures feeds the deliberately broken logstash payloads: they
// are counted, never a crash. (netflow9_test_invalid01.dat is broken only
// in its header's record count, which the decoder does not trust: it
// decodes its two records.)
func TestInvalidCaptures(t *testing.T) {
	for _, name := range []string{"netflow5_test_invalid01.dat", "netflow5_test_invalid02.dat"} {
		t.Run(name, func(t *testing.T) {
			dec := netflow.NewDecoder(netflow.Options{})
			recs, err := decodeDat(t, dec, data(t, "logstash-codec-netflow/"+name))
			s := dec.Stats()
			var errs uint64
			for _, n := range s.Errors {
				errs += n
			}
			t.Logf("%d records, error %v, stats %+v", len(recs), err, s.Errors)
			if err == nil || errs == 0 {
				t.Errorf("Decode(%s) = %d records, nil error; want the problem counted", name, len(recs))
			}
		})
	}
}
