package netflow

import (
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// values holds the fields read from one data record. Only values whose bit
// is set in have are meaningful, so a values can be reused without zeroing.
// When a template repeats an element (an outer and an inner header, as
// tunnel-aware exporters send), the last occurrence wins: the inner one.
type values struct {
	have     uint64
	u        [numKinds]uint64
	src, dst [16]byte
	src4     bool
	dst4     bool
}

func (v *values) has(k uint8) bool { return v.have&(1<<k) != 0 }

// set stores the field of kind k held in b. The have bits kSrc4 and kDst4
// stand for "source known" and "destination known", in either family.
func (v *values) set(k uint8, b []byte) {
	switch k {
	case kSrc4, kDst4:
		if len(b) != 4 {
			return
		}
		if k == kSrc4 {
			copy(v.src[:4], b)
			v.src4 = true
		} else {
			copy(v.dst[:4], b)
			v.dst4 = true
		}
		v.have |= 1 << k
	case kSrc6, kDst6:
		if len(b) != 16 {
			return
		}
		if k == kSrc6 {
			copy(v.src[:], b)
			v.src4, v.have = false, v.have|1<<kSrc4
		} else {
			copy(v.dst[:], b)
			v.dst4, v.have = false, v.have|1<<kDst4
		}
	default:
		v.u[k] = readUint(b)
		v.have |= 1 << k
	}
}

// readUint reads a big-endian unsigned integer of 1 to 8 bytes; of a
// longer field, the last 8 bytes.
func readUint(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(be.Uint16(b))
	case 4:
		return uint64(be.Uint32(b))
	case 8:
		return be.Uint64(b)
	}
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x
}

func addr(b *[16]byte, four bool) netip.Addr {
	if four {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b).Unmap()
}

// dataSet decodes the records of one data set.
func (d *Decoder) dataSet(dst []flow.Record, id uint16, s []byte, m *msg) []flow.Record {
	t := m.dom.templates[id]
	if t == nil {
		d.note(m, flow.ReasonNoTemplate, "data set for unknown template %d", id)
		m.unknown = true
		return dst
	}
	var v values
	if t.fixed > 0 {
		n := len(s) / t.fixed
		m.data += uint32(n)
		for i := range n {
			rec := s[i*t.fixed : (i+1)*t.fixed]
			for _, o := range t.ops {
				b := rec[o.off : int(o.off)+int(o.length)]
				switch o.kind { // the cases of values.set, without its checks: newTemplate made them
				case kSrc4:
					copy(v.src[:4], b)
					v.src4 = true
				case kDst4:
					copy(v.dst[:4], b)
					v.dst4 = true
				case kSrc6:
					copy(v.src[:], b)
					v.src4 = false
				case kDst6:
					copy(v.dst[:], b)
					v.dst4 = false
				default:
					v.u[o.kind] = readUint(b)
				}
			}
			v.have = t.have
			dst = d.record(dst, &v, t, m)
		}
		return dst
	}
	for len(s) >= t.minLen {
		v.have = 0
		for i, f := range t.fields {
			l := int(f.length)
			if f.length == varLength {
				if len(s) < 1 {
					l = -1
				} else if l, s = int(s[0]), s[1:]; l == 255 {
					if len(s) < 2 {
						l = -1
					} else {
						l, s = int(be.Uint16(s)), s[2:]
					}
				}
			}
			if l < 0 || l > len(s) {
				d.note(m, flow.ReasonTruncated, "record of template %d cut", id)
				return dst
			}
			if k := t.kinds[i]; k != kSkip {
				v.set(k, s[:l])
			}
			s = s[l:]
		}
		m.data++
		dst = d.record(dst, &v, t, m)
	}
	return dst
}

// record turns the values of one data record into a flow record, or, for an
// options record, into domain state.
func (d *Decoder) record(dst []flow.Record, v *values, t *template, m *msg) []flow.Record {
	if t.options {
		m.options++
		d.options(v, m.dom)
		return dst
	}
	if !v.has(kSrc4) || !v.has(kDst4) {
		d.c.noAddress.Add(1)
		return dst
	}
	dst = append(dst, flow.Record{})
	r := &dst[len(dst)-1]
	r.Src, r.Dst = addr(&v.src, v.src4), addr(&v.dst, v.dst4)
	r.SrcPort, r.DstPort = uint16(first(v, kSrcPort, kSrcPortAlt)), uint16(first(v, kDstPort, kDstPortAlt))
	r.Proto = uint8(v.u[kProto] & mask(v, kProto))
	r.TCPFlags = uint8(v.u[kFlags] & mask(v, kFlags))
	r.Bytes = first(v, kBytes, kBytesTotal, kInitBytes)
	r.Packets = first(v, kPackets, kPacketsTotal, kInitPackets)
	if (r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6) && r.DstPort == 0 {
		switch {
		case v.has(kICMP):
			r.DstPort = uint16(v.u[kICMP])
		case v.has(kICMPType):
			r.DstPort = uint16(v.u[kICMPType])<<8 | uint16(v.u[kICMPCode]&mask(v, kICMPCode)&0xff)
		}
	}
	start, end := d.times(v, m)
	r.Start, r.End = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
	id, hasID := samplerID(v)
	r.SamplingRate = m.dom.samplingRate(ownRate(v), id, hasID)
	r.Exporter, r.Domain = m.dom.exporter, m.dom.id
	revBytes, revPackets := first(v, kRevBytes, kRespBytes), first(v, kRevPackets, kRespPackets)
	if revBytes > 0 || revPackets > 0 {
		// A bidirectional record (RFC 5103 biflow, Cisco NSEL): the reverse
		// direction becomes its own record.
		rev := *r
		rev.Src, rev.Dst, rev.SrcPort, rev.DstPort = r.Dst, r.Src, r.DstPort, r.SrcPort
		rev.Bytes, rev.Packets = revBytes, revPackets
		rev.TCPFlags = uint8(v.u[kRevFlags] & mask(v, kRevFlags))
		dst = append(dst, rev)
	}
	return dst
}

// mask is all ones when v has kind k and zero otherwise, so that stale
// values from a previous record read as zero.
func mask(v *values, k uint8) uint64 {
	if v.has(k) {
		return ^uint64(0)
	}
	return 0
}

// first returns the value of the first of kinds that v has, or 0.
func first(v *values, kinds ...uint8) uint64 {
	for _, k := range kinds {
		if v.has(k) {
			return v.u[k]
		}
	}
	return 0
}

// ownRate returns the sampling rate a record (or options record) states:
// an interval, packet interval and space, or size and population.
func ownRate(v *values) uint32 {
	var r uint64
	switch {
	case v.has(kSampling) && v.u[kSampling] > 0:
		r = v.u[kSampling]
	case v.has(kSamplerRandom) && v.u[kSamplerRandom] > 0:
		r = v.u[kSamplerRandom]
	case v.has(kPktInterval) && v.u[kPktInterval] > 0:
		r = (v.u[kPktInterval] + v.u[kPktSpace]&mask(v, kPktSpace)) / v.u[kPktInterval]
	case v.has(kSampleSize) && v.has(kSamplePop) && v.u[kSampleSize] > 0:
		r = v.u[kSamplePop] / v.u[kSampleSize]
	}
	return uint32(min(r, 1<<32-1))
}

func samplerID(v *values) (uint64, bool) {
	switch {
	case v.has(kSamplerID):
		return v.u[kSamplerID], true
	case v.has(kSelectorID):
		return v.u[kSelectorID], true
	}
	return 0, false
}

// options applies an options data record: sampling rates and the IPFIX
// system initialisation time.
func (d *Decoder) options(v *values, dom *domain) {
	if r := ownRate(v); r > 0 {
		if id, ok := samplerID(v); ok {
			if dom.samplers == nil {
				dom.samplers = make(map[uint64]uint32)
			}
			if _, known := dom.samplers[id]; known || len(dom.samplers) < maxSamplers {
				dom.samplers[id] = r
			}
		} else {
			dom.rate = r
		}
	}
	if v.has(kSysInit) {
		dom.sysInitMs = int64(v.u[kSysInit])
	}
}

// ntpEpoch is the NTP era 0 epoch (1900) in Unix seconds, negated.
const ntpEpoch = 2208988800

// ntp converts a 64-bit NTP timestamp to Unix nanoseconds.
func ntp(x uint64) int64 {
	sec := int64(x>>32) - ntpEpoch
	frac := (x & 0xffffffff) * 1e9 >> 32
	return sec*1e9 + int64(frac)
}

// times returns a record's start and end in Unix nanoseconds, from its most
// precise time fields; a missing end is the start and vice versa, and a
// record with neither gets the message's export time.
func (d *Decoder) times(v *values, m *msg) (int64, int64) {
	start, okS := d.when(v, m, kStartNs, kStartUs, kStartMs, kStartSec, kStartDeltaUs, kFirstUp)
	end, okE := d.when(v, m, kEndNs, kEndUs, kEndMs, kEndSec, kEndDeltaUs, kLastUp)
	switch {
	case okS && okE:
	case okS:
		end = start
	case okE:
		start = end
	default:
		start, end = m.exportNs, m.exportNs
	}
	return start, end
}

func (d *Decoder) when(v *values, m *msg, ns, us, ms, sec, delta, up uint8) (int64, bool) {
	switch {
	case v.has(ns):
		return ntp(v.u[ns]), true
	case v.has(us):
		return ntp(v.u[us] &^ 0x7ff), true
	case v.has(ms):
		return int64(v.u[ms]) * 1e6, true
	case v.has(sec):
		return int64(v.u[sec]) * 1e9, true
	case v.has(delta):
		return m.exportNs - int64(v.u[delta])*1e3, true
	case v.has(up):
		if m.version == 9 {
			return m.exportNs + int64(int32(uint32(v.u[up])-m.uptimeMs))*1e6, true
		}
		init := m.dom.sysInitMs
		if v.has(kSysInit) {
			init = int64(v.u[kSysInit])
		}
		if init > 0 {
			return (init + int64(v.u[up])) * 1e6, true
		}
	}
	return 0, false
}
