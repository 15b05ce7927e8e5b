package netflow_test

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// captureCases are the real exporter captures, each a sequence of export
// packets to decode in order (templates before the data that uses them).
var captureCases = []struct {
	name  string
	files []string // relative to ../shared/data/netflow
}{
	{"akvorado/nfv5", []string{"akvorado/nfv5.pcap"}},
	{"akvorado/v9", []string{"akvorado/options-template.pcap", "akvorado/options-data.pcap", "akvorado/template.pcap", "akvorado/data.pcap"}},
	{"akvorado/samplingrate", []string{"akvorado/samplingrate-template.pcap", "akvorado/samplingrate-data.pcap"}},
	{"akvorado/multiplesamplingrates", []string{"akvorado/multiplesamplingrates-options-template.pcap", "akvorado/multiplesamplingrates-options-data.pcap", "akvorado/multiplesamplingrates-template.pcap", "akvorado/multiplesamplingrates-data.pcap"}},
	{"akvorado/icmp", []string{"akvorado/icmp-template.pcap", "akvorado/icmp-data.pcap"}},
	{"akvorado/nat", []string{"akvorado/nat.pcap"}},
	{"akvorado/data+templates", []string{"akvorado/data+templates.pcap"}},
	{"akvorado/datalink", []string{"akvorado/datalink-template.pcap", "akvorado/datalink-data.pcap"}},
	{"akvorado/ethernet-over-mpls", []string{"akvorado/ethernet-over-mpls-with-control-word-template.pcap", "akvorado/ethernet-over-mpls-with-control-word-data.pcap"}},
	{"akvorado/ipfix-srv6", []string{"akvorado/ipfix-srv6-template.pcap", "akvorado/ipfix-srv6-data.pcap"}},
	{"akvorado/ipfixprobe", []string{"akvorado/ipfixprobe-templates.pcap", "akvorado/ipfixprobe-data.pcap"}},
	{"akvorado/juniper-cpid", []string{"akvorado/juniper-cpid-template.pcap", "akvorado/juniper-cpid-data.pcap"}},
	{"akvorado/mpls", []string{"akvorado/mpls.pcap"}},
	{"akvorado/physicalinterfaces", []string{"akvorado/physicalinterfaces.pcap"}},
	{"logstash/ipfix", ls("ipfix.dat")},
	{"logstash/barracuda", ls("ipfix_test_barracuda_tpl.dat", "ipfix_test_barracuda_data256.dat")},
	{"logstash/barracuda-extended-uniflow", ls("ipfix_test_barracuda_extended_uniflow_tpl256.dat", "ipfix_test_barracuda_extended_uniflow_data256.dat")},
	{"logstash/ixia-256", ls("ipfix_test_ixia_tpldata256.dat")},
	{"logstash/ixia-271", ls("ipfix_test_ixia_tpldata271.dat")},
	{"logstash/juniper-mx240", ls("ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat", "ipfix_test_juniper_mx240_junos151r6s3_data512.dat")},
	{"logstash/mikrotik", ls("ipfix_test_mikrotik_tpl.dat", "ipfix_test_mikrotik_data258.dat", "ipfix_test_mikrotik_data259.dat")},
	{"logstash/netscaler", ls("ipfix_test_netscaler_tpl.dat", "ipfix_test_netscaler_data.dat")},
	{"logstash/nokia-bras", ls("ipfix_test_nokia_bras_tpl.dat", "ipfix_test_nokia_bras_data256.dat")},
	{"logstash/openbsd-pflow", ls("ipfix_test_openbsd_pflow_tpl.dat", "ipfix_test_openbsd_pflow_data.dat")},
	{"logstash/viptela", ls("ipfix_test_viptela_tpl257.dat", "ipfix_test_viptela_data257.dat")},
	{"logstash/yaf", ls("ipfix_test_yaf_tpls_option_tpl.dat", "ipfix_test_yaf_tpl45841.dat", "ipfix_test_yaf_data45841.dat", "ipfix_test_yaf_data45873.dat", "ipfix_test_yaf_data53248.dat")},
	{"logstash/netflow5", ls("netflow5.dat")},
	{"logstash/netflow5-juniper-mx80", ls("netflow5_test_juniper_mx80.dat")},
	{"logstash/netflow5-microtik", ls("netflow5_test_microtik.dat")},
	{"logstash/asr1001x", ls("netflow9_cisco_asr1001x_tpl259.dat")},
	{"logstash/0length-fields", ls("netflow9_test_0length_fields_tpl_data.dat")},
	{"logstash/cisco-1941K9", ls("netflow9_test_cisco_1941K9.dat")},
	{"logstash/cisco-aci", ls("netflow9_test_cisco_aci_tpl256-258.dat", "netflow9_test_cisco_aci_data256.dat")},
	{"logstash/cisco-asa-1", ls("netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat")},
	{"logstash/cisco-asa-2", ls("netflow9_test_cisco_asa_2_tpl_26x.dat", "netflow9_test_cisco_asa_2_tpl_27x.dat", "netflow9_test_cisco_asa_2_data.dat")},
	{"logstash/cisco-asr9k", ls("netflow9_test_cisco_asr9k_opttpl256.dat", "netflow9_test_cisco_asr9k_opttpl257.dat", "netflow9_test_cisco_asr9k_opttpl334.dat", "netflow9_test_cisco_asr9k_tpl260.dat", "netflow9_test_cisco_asr9k_tpl266.dat", "netflow9_test_cisco_asr9k_data256.dat", "netflow9_test_cisco_asr9k_data260.dat")},
	{"logstash/cisco-nbar", ls("netflow9_test_cisco_nbar_opttpl260.dat", "netflow9_test_cisco_nbar_tpl262.dat", "netflow9_test_cisco_nbar_data262.dat")},
	{"logstash/cisco-wlc", ls("netflow9_test_cisco_wlc_tpl.dat", "netflow9_test_cisco_wlc_8510_tpl_262.dat", "netflow9_test_cisco_wlc_data261.dat")},
	{"logstash/layer2segmentid", ls("netflow9_test_field_layer2segmentid_tpl.dat", "netflow9_test_field_layer2segmentid_data.dat")},
	{"logstash/iptnetflow-reduced-size", ls("netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat")},
	{"logstash/juniper-srx", ls("netflow9_test_juniper_srx_tplopt.dat")},
	{"logstash/macaddr", ls("netflow9_test_macaddr_tpl.dat", "netflow9_test_macaddr_data.dat")},
	{"logstash/nprobe", ls("netflow9_test_nprobe_tpl.dat", "netflow9_test_nprobe_data.dat", "netflow9_test_nprobe_dpi.dat")},
	{"logstash/softflowd", ls("netflow9_test_softflowd_tpl_data.dat")},
	{"logstash/unknown-templates", ls("netflow9_test_unknown_tpl266_292_data.dat")},
	{"logstash/valid01", ls("netflow9_test_valid01.dat")},
}

func ls(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "logstash-codec-netflow/" + n
	}
	return out
}

// payloads returns the export datagrams of a case's files, in order.
func payloads(t *testing.T, files []string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, rel := range files {
		ps, err := readPcapPayloads(data(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ps...)
	}
	return out
}

// readPcapPayloads returns the UDP payloads of a pcap file, or the whole
// content of a .dat file (one raw payload).
func readPcapPayloads(path string) ([][]byte, error) { return readPcapPayloadsMax(path, 0) }

// readPcapPayloadsMax is readPcapPayloads stopping after limit datagrams
// (0: no limit).
func readPcapPayloadsMax(path string, limit int) ([][]byte, error) {
	if strings.HasSuffix(path, ".dat") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapread.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for limit == 0 || len(out) < limit {
		d, err := r.ReadDatagram()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, slices.Clone(d.Payload))
	}
	return out, nil
}

// oracleRecord is the compared subset of a record.
type oracleRecord struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Packets, Bytes   uint64
	Sampling         uint32
}

func num(f tsharkFlow, names ...string) (uint64, bool) {
	for _, n := range names {
		if v, ok := f[n]; ok {
			x, err := strconv.ParseUint(v, 10, 64)
			if err == nil {
				return x, true
			}
		}
	}
	return 0, false
}

// expected turns tshark's flows into the records the decoder should
// produce: one per flow with both addresses, plus one for the reverse
// direction of a bidirectional flow (RFC 5103 reverse counters, Cisco NSEL
// responder counters). Sampling rates follow the options records tshark
// shows: a sampler's rate by its ID, else the domain's, else 1.
func expected(flows []tsharkFlow) []oracleRecord {
	samplers := map[uint64]uint64{}
	var domainRate uint64
	rate := func(f tsharkFlow) (uint64, bool) {
		if r, ok := num(f, "cflow.sampling_interval", "cflow.sampler_random_interval", "v5.samplerate"); ok && r > 0 {
			return r, true
		}
		if iv, ok := num(f, "cflow.sampling_packet_interval"); ok && iv > 0 {
			sp, _ := num(f, "cflow.sampling_packet_space")
			return (iv + sp) / iv, true
		}
		return 0, false
	}
	var out []oracleRecord
	for _, f := range flows {
		src, err1 := netip.ParseAddr(f["src"])
		dst, err2 := netip.ParseAddr(f["dst"])
		if err1 != nil || err2 != nil {
			if r, ok := rate(f); ok {
				if id, ok := num(f, "cflow.sampler_id", "cflow.selector_id"); ok {
					samplers[id] = r
				} else {
					domainRate = r
				}
			}
			continue
		}
		r := oracleRecord{Src: src.Unmap(), Dst: dst.Unmap(), Sampling: 1}
		sp, _ := num(f, "cflow.srcport")
		dp, _ := num(f, "cflow.dstport")
		pr, _ := num(f, "cflow.protocol")
		r.SrcPort, r.DstPort, r.Proto = uint16(sp), uint16(dp), uint8(pr)
		r.Packets, _ = num(f, "cflow.packets", "cflow.permanent_packets", "cflow.initiator_packets")
		r.Bytes, _ = num(f, "cflow.octets", "cflow.permanent_octets", "cflow.initiator_octets")
		if own, ok := rate(f); ok {
			r.Sampling = uint32(own)
		} else if id, ok := num(f, "cflow.sampler_id", "cflow.selector_id"); ok && samplers[id] > 0 {
			r.Sampling = uint32(samplers[id])
		} else if domainRate > 0 {
			r.Sampling = uint32(domainRate)
		}
		out = append(out, r)
		rp, _ := num(f, "cflow.packets.reverse", "cflow.permanent_packets.reverse", "cflow.responder_packets")
		rb, _ := num(f, "cflow.octets.reverse", "cflow.permanent_octets.reverse", "cflow.responder_octets")
		if rp > 0 || rb > 0 {
			rev := r
			rev.Src, rev.Dst, rev.SrcPort, rev.DstPort = r.Dst, r.Src, r.DstPort, r.SrcPort
			rev.Packets, rev.Bytes = rp, rb
			out = append(out, rev)
		}
	}
	return out
}

func toOracle(recs []flow.Record) []oracleRecord {
	out := make([]oracleRecord, len(recs))
	for i, r := range recs {
		out[i] = oracleRecord{r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto, r.Packets, r.Bytes, max(r.SamplingRate, 1)}
	}
	return out
}

// TestTsharkOracle decodes the akvorado and logstash captures and compares
// every record with tshark's cflow dissector: addresses, ports, protocol,
// packets, bytes and sampling rate, in order. ICMP records whose exporter
// left the destination port zero are compared without ports (the decoder
// puts the ICMP type and code there; tshark shows them apart). All cases go
// into one capture, each from its own exporter address, so that tshark
// runs once.
func TestTsharkOracle(t *testing.T) {
	tshark := itest.Need(t, "tshark")
	var all []sent
	for i, tc := range captureCases {
		for _, p := range payloads(t, tc.files) {
			all = append(all, sent{caseExporter(i), p})
		}
	}
	pcap := filepath.Join(t.TempDir(), "cases.pcap")
	writePcapFrom(t, pcap, all)
	byExporter := map[string][]tsharkFlow{}
	for _, f := range tsharkFlows(t, tshark, pcap) {
		byExporter[f["exporter"]] = append(byExporter[f["exporter"]], f)
	}
	ours := map[netip.Addr][]flow.Record{}
	for _, r := range decodeFiles(t, netflow.NewDecoder(netflow.Options{}), pcap) {
		ours[r.Exporter] = append(ours[r.Exporter], r)
	}
	total := 0
	for i, tc := range captureCases {
		t.Run(tc.name, func(t *testing.T) {
			exp := netip.AddrFrom4(caseExporter(i))
			want := expected(byExporter[exp.String()])
			got := toOracle(ours[exp])
			for i := range min(len(want), len(got)) {
				w := &want[i]
				if (w.Proto == flow.ProtoICMP || w.Proto == flow.ProtoICMPv6) && w.DstPort == 0 {
					w.SrcPort, w.DstPort = got[i].SrcPort, got[i].DstPort
				}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("records (-tshark +ours):\n%s", diff)
			}
			total += len(want)
		})
	}
	if total < 400 {
		t.Errorf("%d records compared, want the 452 of the captures", total)
	}
	t.Logf("%d records compared", total)
}

// caseExporter is the sender address of case i in the combined capture.
func caseExporter(i int) [4]byte { return [4]byte{192, 0, 2, byte(10 + i)} }
