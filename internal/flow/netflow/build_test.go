package netflow_test

import "encoding/binary"

var be = binary.BigEndian

// tf is a template field for the packet builders.
type tf struct {
	typ, length uint16
	pen         uint32
}

// set wraps a body in a set header with the given ID, padded to 4 bytes.
func set(id uint16, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := be.AppendUint16(nil, id)
	b = be.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

// tmpl encodes one template record (v9 or IPFIX; enterprise fields only in IPFIX).
func tmpl(id uint16, fields ...tf) []byte {
	b := be.AppendUint16(nil, id)
	b = be.AppendUint16(b, uint16(len(fields)))
	for _, f := range fields {
		t := f.typ
		if f.pen != 0 {
			t |= 0x8000
		}
		b = be.AppendUint16(b, t)
		b = be.AppendUint16(b, f.length)
		if f.pen != 0 {
			b = be.AppendUint32(b, f.pen)
		}
	}
	return b
}

// ipfixOptsTmpl encodes an IPFIX options template record.
func ipfixOptsTmpl(id uint16, scopes int, fields ...tf) []byte {
	b := be.AppendUint16(nil, id)
	b = be.AppendUint16(b, uint16(len(fields)))
	b = be.AppendUint16(b, uint16(scopes))
	for _, f := range fields {
		b = be.AppendUint16(b, f.typ)
		b = be.AppendUint16(b, f.length)
	}
	return b
}

// v9OptsTmpl encodes a v9 options template record.
func v9OptsTmpl(id uint16, scopes []tf, opts []tf) []byte {
	b := be.AppendUint16(nil, id)
	b = be.AppendUint16(b, uint16(4*len(scopes)))
	b = be.AppendUint16(b, uint16(4*len(opts)))
	for _, f := range append(append([]tf{}, scopes...), opts...) {
		b = be.AppendUint16(b, f.typ)
		b = be.AppendUint16(b, f.length)
	}
	return b
}

// v9 builds a NetFlow v9 packet; count is the number of sets given.
func v9(uptimeMs, unixSecs, seq, source uint32, sets ...[]byte) []byte {
	b := be.AppendUint16(nil, 9)
	b = be.AppendUint16(b, uint16(len(sets)))
	b = be.AppendUint32(b, uptimeMs)
	b = be.AppendUint32(b, unixSecs)
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, source)
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

// ipfix builds an IPFIX message.
func ipfix(exportSecs, seq, domain uint32, sets ...[]byte) []byte {
	b := be.AppendUint16(nil, 10)
	b = be.AppendUint16(b, 0)
	b = be.AppendUint32(b, exportSecs)
	b = be.AppendUint32(b, seq)
	b = be.AppendUint32(b, domain)
	for _, s := range sets {
		b = append(b, s...)
	}
	be.PutUint16(b[2:], uint16(len(b)))
	return b
}

// v5rec is one NetFlow v5 record.
type v5rec struct {
	src, dst         [4]byte
	pkts, octets     uint32
	first, last      uint32
	srcPort, dstPort uint16
	flags, proto     uint8
}

// v5 builds a NetFlow v5 packet.
func v5(uptime, secs, nsecs, seq uint32, sampling uint16, recs ...v5rec) []byte {
	b := be.AppendUint16(nil, 5)
	b = be.AppendUint16(b, uint16(len(recs)))
	b = be.AppendUint32(b, uptime)
	b = be.AppendUint32(b, secs)
	b = be.AppendUint32(b, nsecs)
	b = be.AppendUint32(b, seq)
	b = append(b, 0, 1)
	b = be.AppendUint16(b, sampling)
	for _, r := range recs {
		b = append(b, r.src[:]...)
		b = append(b, r.dst[:]...)
		b = append(b, 0, 0, 0, 0, 0, 1, 0, 2)
		b = be.AppendUint32(b, r.pkts)
		b = be.AppendUint32(b, r.octets)
		b = be.AppendUint32(b, r.first)
		b = be.AppendUint32(b, r.last)
		b = be.AppendUint16(b, r.srcPort)
		b = be.AppendUint16(b, r.dstPort)
		b = append(b, 0, r.flags, r.proto, 0, 0, 0, 0, 0, 24, 24, 0, 0)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func u16(v uint16) []byte { return be.AppendUint16(nil, v) }
func u32(v uint32) []byte { return be.AppendUint32(nil, v) }
func u64(v uint64) []byte { return be.AppendUint64(nil, v) }
