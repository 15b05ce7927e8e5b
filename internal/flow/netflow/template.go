package netflow

import (
	"slices"
	"time"
)

// varLength marks an IPFIX variable-length field (RFC 7011 section 7).
const varLength = 0xffff

// penReverse is the private enterprise number of the reverse information
// elements of bidirectional IPFIX flows (RFC 5103).
const penReverse = 29305

// The information elements the decoder reads, as extraction kinds. Numbers
// are IPFIX element IDs (IANA), which NetFlow v9 shares for these.
const (
	kSkip          = iota
	kBytes         // 1 octetDeltaCount / IN_BYTES
	kPackets       // 2 packetDeltaCount / IN_PKTS
	kBytesTotal    // 85 octetTotalCount
	kPacketsTotal  // 86 packetTotalCount
	kProto         // 4 protocolIdentifier
	kFlags         // 6 tcpControlBits
	kSrcPort       // 7 sourceTransportPort
	kDstPort       // 11 destinationTransportPort
	kSrc4          // 8 sourceIPv4Address
	kDst4          // 12 destinationIPv4Address
	kSrc6          // 27 sourceIPv6Address
	kDst6          // 28 destinationIPv6Address
	kLastUp        // 21 flowEndSysUpTime / LAST_SWITCHED, ms
	kFirstUp       // 22 flowStartSysUpTime / FIRST_SWITCHED, ms
	kStartSec      // 150 flowStartSeconds
	kEndSec        // 151 flowEndSeconds
	kStartMs       // 152 flowStartMilliseconds
	kEndMs         // 153 flowEndMilliseconds
	kStartUs       // 154 flowStartMicroseconds (NTP format)
	kEndUs         // 155 flowEndMicroseconds (NTP format)
	kStartNs       // 156 flowStartNanoseconds (NTP format)
	kEndNs         // 157 flowEndNanoseconds (NTP format)
	kStartDeltaUs  // 158 flowStartDeltaMicroseconds, before export time
	kEndDeltaUs    // 159 flowEndDeltaMicroseconds, before export time
	kSysInit       // 160 systemInitTimeMilliseconds
	kSampling      // 34 samplingInterval / SAMPLING_INTERVAL
	kSamplerRandom // 50 samplerRandomInterval / FLOW_SAMPLER_RANDOM_INTERVAL
	kSamplerID     // 48 samplerId / FLOW_SAMPLER_ID
	kSelectorID    // 302 selectorId
	kPktInterval   // 305 samplingPacketInterval
	kPktSpace      // 306 samplingPacketSpace
	kSampleSize    // 309 samplingSize
	kSamplePop     // 310 samplingPopulation
	kICMP          // 32 icmpTypeCodeIPv4, 139 icmpTypeCodeIPv6
	kICMPType      // 176 icmpTypeIPv4, 178 icmpTypeIPv6
	kICMPCode      // 177 icmpCodeIPv4, 179 icmpCodeIPv6
	kInitBytes     // 231 initiatorOctets (Cisco ASA NSEL forward bytes)
	kRespBytes     // 232 responderOctets
	kInitPackets   // 298 initiatorPackets
	kRespPackets   // 299 responderPackets
	kRevBytes      // 29305/1 and /85 reverse octet counts (RFC 5103)
	kRevPackets    // 29305/2 and /86 reverse packet counts
	kRevFlags      // 29305/6 reverseTcpControlBits
	kSrcPortAlt    // 180 udpSourcePort, 182 tcpSourcePort: used without element 7
	kDstPortAlt    // 181 udpDestinationPort, 183 tcpDestinationPort: used without element 11
	numKinds
)

// kindOf maps an element to its extraction kind, or kSkip.
func kindOf(typ uint16, pen uint32) uint8 {
	if pen == penReverse {
		switch typ {
		case 1, 85:
			return kRevBytes
		case 2, 86:
			return kRevPackets
		case 6:
			return kRevFlags
		}
		return kSkip
	}
	if pen != 0 {
		return kSkip
	}
	switch typ {
	case 1:
		return kBytes
	case 2:
		return kPackets
	case 85:
		return kBytesTotal
	case 86:
		return kPacketsTotal
	case 4:
		return kProto
	case 6:
		return kFlags
	case 7:
		return kSrcPort
	case 11:
		return kDstPort
	case 8:
		return kSrc4
	case 12:
		return kDst4
	case 27:
		return kSrc6
	case 28:
		return kDst6
	case 21:
		return kLastUp
	case 22:
		return kFirstUp
	case 150:
		return kStartSec
	case 151:
		return kEndSec
	case 152:
		return kStartMs
	case 153:
		return kEndMs
	case 154:
		return kStartUs
	case 155:
		return kEndUs
	case 156:
		return kStartNs
	case 157:
		return kEndNs
	case 158:
		return kStartDeltaUs
	case 159:
		return kEndDeltaUs
	case 160:
		return kSysInit
	case 34:
		return kSampling
	case 50:
		return kSamplerRandom
	case 48:
		return kSamplerID
	case 302:
		return kSelectorID
	case 305:
		return kPktInterval
	case 306:
		return kPktSpace
	case 309:
		return kSampleSize
	case 310:
		return kSamplePop
	case 32, 139:
		return kICMP
	case 176, 178:
		return kICMPType
	case 177, 179:
		return kICMPCode
	case 231:
		return kInitBytes
	case 232:
		return kRespBytes
	case 298:
		return kInitPackets
	case 299:
		return kRespPackets
	case 180, 182:
		return kSrcPortAlt
	case 181, 183:
		return kDstPortAlt
	}
	return kSkip
}

// A field is one template entry.
type field struct {
	typ    uint16
	length uint16 // varLength for a variable-length field
	pen    uint32
}

// An op reads one field of a fixed-length record.
type op struct {
	off    uint16
	length uint16
	kind   uint8
}

// A template describes data records. Fixed-length templates (the common
// case) are compiled to the list of fields to read at fixed offsets;
// templates with variable-length fields are walked field by field.
type template struct {
	fields  []field
	kinds   []uint8 // kind of each field
	scopes  int     // leading scope fields, for options templates
	options bool
	fixed   int    // record length when every field is fixed; 0 otherwise
	minLen  int    // the shortest possible record (variable fields count 1 byte)
	ops     []op   // fields worth reading, for fixed-length templates
	have    uint64 // the values.have bits a record of a fixed-length template sets
	hasAddr bool   // the template can carry both addresses
	seen    time.Time
}

// maxFields bounds a template; a datagram cannot hold more than this many
// 4-byte field specifiers anyway.
const maxFields = 16384

// newTemplate compiles fields. It returns nil for a template that cannot
// describe a record: no fields, or records of zero length.
func newTemplate(fields []field, scopes int, options bool) *template {
	if len(fields) == 0 || len(fields) > maxFields || scopes > len(fields) {
		return nil
	}
	t := &template{fields: slices.Clone(fields), scopes: scopes, options: options, kinds: make([]uint8, len(fields))}
	off, variable := 0, false
	var src, dst bool
	for i, f := range fields {
		k := kindOf(f.typ, f.pen)
		t.kinds[i] = k
		switch k {
		case kSrc4, kSrc6:
			src = true
		case kDst4, kDst6:
			dst = true
		}
		if f.length == varLength {
			variable = true
			t.minLen++
			continue
		}
		t.minLen += int(f.length)
		if bit, ok := opBit(k, f.length); ok && !variable && off+int(f.length) <= 0xffff {
			t.ops = append(t.ops, op{off: uint16(off), length: f.length, kind: k})
			t.have |= bit
		}
		off += int(f.length)
	}
	if t.minLen == 0 {
		return nil
	}
	if !variable {
		t.fixed = off
	} else {
		t.ops = nil
	}
	t.hasAddr = src && dst
	return t
}

// same reports whether t already describes fields, so a re-announced
// template only refreshes its time.
func (t *template) same(fields []field, scopes int, options bool) bool {
	return t.scopes == scopes && t.options == options && slices.Equal(t.fields, fields)
}

// opBit returns the values.have bit a fixed-length field of kind k and
// length n sets, and whether the field is read at all: addresses of the
// wrong length are not.
func opBit(k uint8, n uint16) (uint64, bool) {
	switch k {
	case kSkip:
		return 0, false
	case kSrc4, kDst4:
		return 1 << k, n == 4
	case kSrc6:
		return 1 << kSrc4, n == 16
	case kDst6:
		return 1 << kDst4, n == 16
	}
	return 1 << k, true
}
