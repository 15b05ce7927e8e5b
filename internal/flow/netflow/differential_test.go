package netflow_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"

	gfnetflow "github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
)

// diffRecord is what the differential test compares: the fields that come
// straight from the packet, with no state but templates.
type diffRecord struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto, TCPFlags  uint8
	Packets, Bytes   uint64
}

// refFields maps one data record decoded by goflow2 to a diffRecord, by the
// rules the decoder documents: the last occurrence of an element wins;
// element 7 and 11 ports, else 180-183; delta counts, else total counts,
// else NSEL initiator counts; ICMP type and code in the destination port
// when the port is zero; reverse counts (RFC 5103, NSEL responder) make a
// second record. Records without both addresses are dropped.
func refFields(fields []gfnetflow.DataField) []diffRecord {
	var r diffRecord
	var srcOK, dstOK bool
	u := map[uint32]uint64{}  // element (pen<<16|type) -> value
	seen := map[uint32]bool{} // elements present
	val := func(b []byte) uint64 {
		if len(b) > 8 {
			b = b[len(b)-8:]
		}
		var x uint64
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
		return x
	}
	for _, f := range fields {
		b, _ := f.Value.([]byte)
		pen := uint32(0)
		if f.PenProvided {
			pen = f.Pen
		}
		if pen != 0 && pen != 29305 {
			continue
		}
		if pen == 0 {
			switch {
			case (f.Type == 8 || f.Type == 12) && len(b) == 4:
				a := netip.AddrFrom4([4]byte(b))
				if f.Type == 8 {
					r.Src, srcOK = a, true
				} else {
					r.Dst, dstOK = a, true
				}
				continue
			case (f.Type == 27 || f.Type == 28) && len(b) == 16:
				a := netip.AddrFrom16([16]byte(b)).Unmap()
				if f.Type == 27 {
					r.Src, srcOK = a, true
				} else {
					r.Dst, dstOK = a, true
				}
				continue
			case f.Type == 8 || f.Type == 12 || f.Type == 27 || f.Type == 28:
				continue
			}
		}
		k := pen<<16 | uint32(f.Type)
		u[k], seen[k] = val(b), true
	}
	if !srcOK || !dstOK {
		return nil
	}
	pick := func(ks ...uint32) uint64 {
		for _, k := range ks {
			if seen[k] {
				return u[k]
			}
		}
		return 0
	}
	const rev = 29305 << 16
	r.SrcPort, r.DstPort = uint16(pick(7, 180, 182)), uint16(pick(11, 181, 183))
	r.Proto, r.TCPFlags = uint8(pick(4)), uint8(pick(6))
	r.Packets, r.Bytes = pick(2, 86, 298), pick(1, 85, 231)
	if (r.Proto == 1 || r.Proto == 58) && r.DstPort == 0 {
		switch {
		case seen[32] || seen[139]:
			r.DstPort = uint16(pick(32, 139))
		case seen[176] || seen[178]:
			r.DstPort = uint16(pick(176, 178))<<8 | uint16(pick(177, 179)&0xff)
		}
	}
	out := []diffRecord{r}
	rp, rb := pick(rev|2, rev|86, 299), pick(rev|1, rev|85, 232)
	if rp > 0 || rb > 0 {
		out = append(out, diffRecord{r.Dst, r.Src, r.DstPort, r.SrcPort, r.Proto, uint8(pick(rev | 6)), rp, rb})
	}
	return out
}

// laxCut returns a v9 or IPFIX datagram as goflow2 is to be given it so
// that it decodes what the decoder decodes, and the truncations the
// decoder counts for it. This is the documented difference between the
// two: goflow2 decodes what is there of a set whose length runs past the
// end of its message (bytes.Buffer.Next hands it the shorter rest), while
// the decoder refuses the set and counts it as truncated; so the datagram
// is cut before such a set. An IPFIX header length beyond the datagram is
// counted as truncated too; both decoders then read the sets present.
func laxCut(p []byte) (cut []byte, truncated int) {
	if len(p) < 2 {
		return p, 0
	}
	hdr, end := 20, len(p)
	switch binary.BigEndian.Uint16(p) {
	case 9:
	case 10:
		if len(p) < 16 || binary.BigEndian.Uint16(p[2:]) < 16 {
			return p, 0
		}
		hdr, end = 16, int(binary.BigEndian.Uint16(p[2:]))
		if end > len(p) {
			end, truncated = len(p), 1
		}
	default:
		return p, 0
	}
	for off := hdr; end-off >= 4; {
		l := int(binary.BigEndian.Uint16(p[off+2:]))
		if l < 4 {
			break
		}
		if off+l > end {
			return p[:off], truncated + 1
		}
		off += l
	}
	return p, truncated
}

// goflowDecode decodes payloads, from one exporter, with goflow2's
// decoders, each cut by laxCut. ok is false when goflow2 reports an error
// (other than a missing template) or when the packets are outside what
// the comparison covers (a v9 header count smaller than its flowsets,
// which goflow2 takes as a limit and the decoder ignores).
func goflowDecode(payloads [][]byte) (out []diffRecord, ok bool) {
	cut := make([][]byte, len(payloads))
	for i, p := range payloads {
		cut[i], _ = laxCut(p)
	}
	return goflowDecodeAsIs(cut)
}

// goflowDecodeAsIs is goflowDecode without laxCut.
func goflowDecodeAsIs(payloads [][]byte) (out []diffRecord, ok bool) {
	ts := gfnetflow.CreateTemplateSystem()
	for _, p := range payloads {
		if len(p) < 2 {
			return nil, false
		}
		switch binary.BigEndian.Uint16(p) {
		case 5:
			var pkt netflowlegacy.PacketNetFlowV5
			if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(p), &pkt); err != nil {
				return nil, false
			}
			for _, r := range pkt.Records {
				ip := func(a netflowlegacy.IPAddress) netip.Addr {
					return netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, uint32(a))))
				}
				out = append(out, diffRecord{ip(r.SrcAddr), ip(r.DstAddr), r.SrcPort, r.DstPort, r.Proto, r.TCPFlags, uint64(r.DPkts), uint64(r.DOctets)})
			}
		case 9, 10:
			if binary.BigEndian.Uint16(p) == 9 && len(p) >= 20 && int(binary.BigEndian.Uint16(p[2:])) < countSets(p[20:]) {
				return nil, false
			}
			var v9 gfnetflow.NFv9Packet
			var ipfix gfnetflow.IPFIXPacket
			err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(p), ts, &v9, &ipfix)
			if err != nil && !errors.Is(err, gfnetflow.ErrorTemplateNotFound) {
				return nil, false
			}
			sets := v9.FlowSets
			if binary.BigEndian.Uint16(p) == 10 {
				sets = ipfix.FlowSets
			}
			for _, s := range sets {
				if ds, isData := s.(gfnetflow.DataFlowSet); isData {
					for _, rec := range ds.Records {
						out = append(out, refFields(rec.Values)...)
					}
				}
			}
		default:
			return nil, false
		}
	}
	return out, true
}

// countSets counts the set headers of a v9 body, as far as they chain.
func countSets(b []byte) int {
	n := 0
	for len(b) >= 4 {
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			break
		}
		b, n = b[l:], n+1
	}
	return n
}

// oursDecode decodes payloads with the decoder under test. clean is false
// when it counted any problem other than data for an unknown template and
// the truncations laxCut expects; every problem counts, not only the one
// Decode returns.
func oursDecode(payloads [][]byte) (out []diffRecord, clean bool, recs []flow.Record) {
	dec := netflow.NewDecoder(netflow.Options{})
	exp := netip.MustParseAddr("192.0.2.1")
	clean = true
	prev := dec.Stats().Errors
	for _, p := range payloads {
		var err error
		recs, err = dec.Decode(recs, p, exp, fileTime)
		_, want := laxCut(p)
		now := dec.Stats().Errors
		for i, r := range netflow.Reasons {
			n := int(now[i] - prev[i])
			switch r {
			case flow.ReasonNoTemplate:
			case flow.ReasonTruncated:
				clean = clean && n == want
			default:
				clean = clean && n == 0
			}
		}
		prev = now
		if _, ok := errors.AsType[*flow.ParseError](err); err != nil && !ok {
			clean = false
		}
	}
	for _, r := range recs {
		out = append(out, diffRecord{r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto, r.TCPFlags, r.Packets, r.Bytes})
	}
	return out, clean, recs
}

// TestDifferentialCaptures decodes every capture with both decoders.
func TestDifferentialCaptures(t *testing.T) {
	n := 0
	for _, tc := range captureCases {
		t.Run(tc.name, func(t *testing.T) {
			ps := payloads(t, tc.files)
			ours, clean, _ := oursDecode(ps)
			ref, ok := goflowDecode(ps)
			if !clean || !ok {
				t.Fatalf("decoders report problems: ours clean=%v, goflow2 ok=%v", clean, ok)
			}
			if d := diffRecords(ref, ours); d != "" {
				t.Errorf("records (-goflow2 +ours):\n%s", d)
			}
			n += len(ref)
		})
	}
	t.Logf("%d records compared", n)
}

// TestDifferentialTruncatedSet pins the difference laxCut accepts: on a
// message whose last set runs past its end, goflow2 decodes the records
// that are there, and the decoder refuses the set, counts it as truncated
// and says so, even after data for an unknown template.
func TestDifferentialTruncatedSet(t *testing.T) {
	const secs = 1_772_445_600
	r := func(sp uint16) []byte { return v9Record(110_000, 119_500, 1500, 3, sp, 80, 6, 0x1b) }
	tmplPkt := v9(120_000, secs, 0, 7, set(0, v9Template))
	data := v9(120_000, secs, 1, 7, set(301, r(1)), set(300, cat(r(2), r(3))), set(300, cat(r(4), r(5))))
	data = data[:len(data)-len(r(5))/2]
	ps := [][]byte{tmplPkt, data}

	ours, clean, _ := oursDecode(ps)
	if !clean {
		t.Errorf("oursDecode: clean = false, want true (only the truncation laxCut expects)")
	}
	if cut, n := laxCut(data); n != 1 || len(cut) != len(data)-4-2*len(r(4))+len(r(5))/2 {
		t.Errorf("laxCut = %d bytes, %d truncations; want the last set cut off, 1", len(cut), n)
	}
	dec := netflow.NewDecoder(netflow.Options{})
	recs, errs := decodeAll(t, dec, ps...)
	if len(errs) != 1 {
		t.Fatalf("Decode errors = %v, want one", errs)
	}
	if pe, ok := errors.AsType[*flow.ParseError](errs[0]); !ok || pe.Reason != flow.ReasonTruncated {
		t.Errorf("Decode error = %v, want reason %q", errs[0], flow.ReasonTruncated)
	}
	if got := dec.Stats().Errors[slices.Index(netflow.Reasons, flow.ReasonTruncated)]; got != 1 {
		t.Errorf("Stats().Errors[truncated] = %d, want 1", got)
	}
	if len(recs) != 2 {
		t.Errorf("Decode = %d records, want 2 (the complete set)", len(recs))
	}
	lax, ok := goflowDecodeAsIs(ps)
	if !ok || len(lax) != 3 {
		t.Errorf("goflow2 on the datagram as is = %d records (ok %v), want 3: the difference is gone, drop laxCut", len(lax), ok)
	}
	ref, ok := goflowDecode(ps)
	if !ok {
		t.Fatal("goflow2 on the cut datagram reported an error")
	}
	if d := diffRecords(ref, ours); d != "" {
		t.Errorf("records (-goflow2 +ours):\n%s", d)
	}
}
