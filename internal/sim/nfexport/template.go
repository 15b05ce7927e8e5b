package nfexport

// A field is one (type, length) pair of a template.
type field struct{ typ, length uint16 }

// The NetFlow v9 field types (RFC 3954 section 8) and IPFIX information
// elements (IANA registry) the exporter uses. Where the numbers agree,
// one name serves both.
const (
	fBytes       = 1  // IN_BYTES, octetDeltaCount
	fPackets     = 2  // IN_PKTS, packetDeltaCount
	fProto       = 4  // PROTOCOL, protocolIdentifier
	fTOS         = 5  // SRC_TOS, ipClassOfService
	fTCPFlags    = 6  // TCP_FLAGS, tcpControlBits
	fSrcPort     = 7  // L4_SRC_PORT, sourceTransportPort
	fSrc4        = 8  // IPV4_SRC_ADDR, sourceIPv4Address
	fInIf        = 10 // INPUT_SNMP, ingressInterface
	fDstPort     = 11 // L4_DST_PORT, destinationTransportPort
	fDst4        = 12 // IPV4_DST_ADDR, destinationIPv4Address
	fOutIf       = 14 // OUTPUT_SNMP, egressInterface
	fLast        = 21 // LAST_SWITCHED (v9, sysUptime ms)
	fFirst       = 22 // FIRST_SWITCHED (v9, sysUptime ms)
	fSrc6        = 27 // IPV6_SRC_ADDR, sourceIPv6Address
	fDst6        = 28 // IPV6_DST_ADDR, destinationIPv6Address
	fSampling    = 34 // SAMPLING_INTERVAL, samplingInterval
	fDirection   = 61 // DIRECTION, flowDirection
	fStartMs     = 152
	fEndMs       = 153
	fScopeSystem = 1   // v9 options scope type "System"
	fObsDomain   = 149 // observationDomainId
)

// fields returns the data template's fields in record order.
func fields(version int, v6 bool) []field {
	src, dst, alen := uint16(fSrc4), uint16(fDst4), uint16(4)
	if v6 {
		src, dst, alen = fSrc6, fDst6, 16
	}
	if version == 9 {
		return []field{{fBytes, 8}, {fPackets, 8}, {fProto, 1}, {fTOS, 1}, {fTCPFlags, 1},
			{fSrcPort, 2}, {src, alen}, {fInIf, 2}, {fDstPort, 2}, {dst, alen}, {fOutIf, 2},
			{fLast, 4}, {fFirst, 4}, {fDirection, 1}}
	}
	return []field{{fBytes, 8}, {fPackets, 8}, {fProto, 1}, {fTOS, 1}, {fTCPFlags, 1},
		{fSrcPort, 2}, {src, alen}, {fInIf, 4}, {fDstPort, 2}, {dst, alen}, {fOutIf, 4},
		{fStartMs, 8}, {fEndMs, 8}, {fDirection, 1}}
}

// templateSet returns the template flowset (v9, ID 0) or set (IPFIX, ID 2)
// that defines the IPv4 and IPv6 data templates.
func templateSet(version int) []byte {
	id := uint16(0)
	if version == 10 {
		id = 2
	}
	b := be.AppendUint16(nil, id)
	b = be.AppendUint16(b, 0)
	for _, t := range []struct {
		id uint16
		v6 bool
	}{{TemplateV4, false}, {TemplateV6, true}} {
		fs := fields(version, t.v6)
		b = be.AppendUint16(b, t.id)
		b = be.AppendUint16(b, uint16(len(fs)))
		for _, f := range fs {
			b = be.AppendUint16(b, f.typ)
			b = be.AppendUint16(b, f.length)
		}
	}
	be.PutUint16(b[2:], uint16(len(b)))
	return b
}

// optionsSets returns the options template and one options data record
// announcing 1-in-n packet sampling for the whole exporter: the scope (the
// exporter) and samplingInterval (34). The algorithm (35) is left out on
// purpose: nfdump 1.7.1 ignores the whole record, in v9 and IPFIX, when the
// algorithm is present (checked by replaying to nfcapd: with 34 alone it
// reports "Generic Sampler ... packet space: 99" and scales counts).
func optionsSets(version int, sourceID, n uint32) []byte {
	var b []byte
	if version == 9 {
		b = be.AppendUint16(b, 1) // options template flowset
		b = be.AppendUint16(b, 0)
		b = be.AppendUint16(b, TemplateOptions)
		b = be.AppendUint16(b, 4) // scope length in bytes
		b = be.AppendUint16(b, 4) // options length in bytes
		for _, f := range []field{{fScopeSystem, 4}, {fSampling, 4}} {
			b = be.AppendUint16(b, f.typ)
			b = be.AppendUint16(b, f.length)
		}
	} else {
		b = be.AppendUint16(b, 3) // options template set
		b = be.AppendUint16(b, 0)
		b = be.AppendUint16(b, TemplateOptions)
		b = be.AppendUint16(b, 2) // field count
		b = be.AppendUint16(b, 1) // scope field count
		for _, f := range []field{{fObsDomain, 4}, {fSampling, 4}} {
			b = be.AppendUint16(b, f.typ)
			b = be.AppendUint16(b, f.length)
		}
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	be.PutUint16(b[2:], uint16(len(b)))
	start := len(b)
	b = be.AppendUint16(b, TemplateOptions)
	b = be.AppendUint16(b, 0)
	b = be.AppendUint32(b, sourceID)
	b = be.AppendUint32(b, n)
	for (len(b)-start)%4 != 0 {
		b = append(b, 0)
	}
	be.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}
