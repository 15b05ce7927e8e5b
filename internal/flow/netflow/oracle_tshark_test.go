package netflow_test

import (
	"bytes"
	"encoding/xml"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// pdmlField is one field of tshark's PDML output.
type pdmlField struct {
	Name     string      `xml:"name,attr"`
	Show     string      `xml:"show,attr"`
	ShowName string      `xml:"showname,attr"`
	Fields   []pdmlField `xml:"field"`
}

type pdmlPacket struct {
	Protos []pdmlField `xml:"proto"`
}

// tsharkFlow is one flow record as tshark's cflow dissector shows it: the
// fields of its "Flow N" (v9, IPFIX) or "pdu N/M" (v5) element with nested
// fields flattened, the last occurrence of a repeated field winning. RFC
// 5103 reverse elements, which tshark names like the forward ones, are
// stored under the name with ".reverse" appended.
type tsharkFlow map[string]string

func (f pdmlField) flatten(out tsharkFlow) {
	for _, k := range f.Fields {
		switch k.Name {
		case "cflow.srcaddr", "cflow.srcaddrv6":
			out["src"] = k.Show // the last address of either family wins
		case "cflow.dstaddr", "cflow.dstaddrv6":
			out["dst"] = k.Show
		}
		if (k.Name == "cflow.srcport" || k.Name == "cflow.dstport") && strings.HasSuffix(k.ShowName, ")") {
			// tshark shows udpSourcePort and the like (elements 180-183) as
			// "SrcPort: 0 (0)" under the name of element 7: the decoder
			// prefers element 7 and 11, so the oracle does too.
			if _, ok := out[k.Name]; ok {
				continue
			}
		}
		if k.Name != "" {
			name := k.Name
			if strings.Contains(k.ShowName, "(Reverse Type") {
				name += ".reverse"
			}
			out[name] = k.Show
		}
		k.flatten(out)
	}
}

func (f pdmlField) flows(out []tsharkFlow) []tsharkFlow {
	for _, k := range f.Fields {
		if k.Name == "" && (strings.HasPrefix(k.Show, "Flow ") || strings.HasPrefix(k.Show, "pdu ")) {
			fl := tsharkFlow{}
			k.flatten(fl)
			out = append(out, fl)
			continue
		}
		out = k.flows(out)
	}
	return out
}

// tsharkFlows runs tshark on pcap and returns its flow records in order,
// each with the sender's address under "exporter".
func tsharkFlows(t *testing.T, tshark, pcap string) []tsharkFlow {
	t.Helper()
	cmd := exec.Command(tshark, "-r", pcap, "-d", "udp.port=="+strconv.Itoa(testPort)+",cflow", "-T", "pdml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.Bytes())
	}
	var doc struct {
		Packets []pdmlPacket `xml:"packet"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("tshark PDML: %v", err)
	}
	var flows []tsharkFlow
	for _, p := range doc.Packets {
		from := ""
		for _, pr := range p.Protos {
			for _, h := range pr.Fields {
				if h.Name == "ip.src" {
					from = h.Show
				}
			}
			n := len(flows)
			flows = pr.flows(flows)
			for _, f := range flows[n:] {
				f["exporter"] = from
			}
			for _, h := range pr.Fields { // the v5 header's sampling rate applies to its records
				if h.Name == "cflow.samplerate" {
					for _, f := range flows[n:] {
						f["v5.samplerate"] = h.Show
					}
				}
			}
		}
	}
	return flows
}
