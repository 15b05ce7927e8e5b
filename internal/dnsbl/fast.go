package dnsbl

import (
	"encoding/binary"
)

// DNS numbers the fast path reads and writes.
const (
	typeA    = 1
	typeNS   = 2
	typeSOA  = 6
	typeTXT  = 16
	typeAAAA = 28
	typeOPT  = 41
	typeANY  = 255
	classIN  = 1

	rcodeNoError  = 0
	rcodeFormErr  = 1
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5

	headerLen = 12
)

// fast answers an ordinary question without allocating: one question of
// class IN about a name below a zone's apex, or outside every zone, in a
// query with no answer or authority records and at most an EDNS0 (version
// 0) OPT record, whose answer fits the client's UDP size. It appends the
// response to dst and returns it with the question's type; ok is false,
// and dst is returned unchanged, for anything else, which the miekg path
// answers. TestFastMatchesMiekg holds the two paths to the same answers.
func (r *responder) fast(dst, q []byte) (out []byte, qtype uint16, ok bool) {
	if len(q) < headerLen+5 ||
		q[2]&0xfe != 0 || // QR, opcode, AA and TC clear; RD may be set
		binary.BigEndian.Uint16(q[4:]) != 1 || binary.BigEndian.Uint16(q[6:]) != 0 ||
		binary.BigEndian.Uint16(q[8:]) != 0 || binary.BigEndian.Uint16(q[10:]) > 1 {
		return dst, 0, false
	}
	end, labels, ok := scanName(q, headerLen, r.labels[:0])
	if !ok || end+4 > len(q) {
		return dst, 0, false
	}
	qtype = binary.BigEndian.Uint16(q[end:])
	if binary.BigEndian.Uint16(q[end+2:]) != classIN || (qtype >= 250 && qtype != typeANY) {
		return dst, 0, false
	}
	edns, do := false, false
	maxLen := 512
	if p := end + 4; binary.BigEndian.Uint16(q[10:]) == 1 {
		if p+11 > len(q) || q[p] != 0 || binary.BigEndian.Uint16(q[p+1:]) != typeOPT || q[p+6] != 0 {
			return dst, 0, false
		}
		size := int(binary.BigEndian.Uint16(q[p+3:]))
		maxLen = max(512, min(size, r.s.cfg.UDPSize))
		do = q[p+7]&0x80 != 0
		if p+11+int(binary.BigEndian.Uint16(q[p+9:])) != len(q) {
			return dst, 0, false
		}
		for o := p + 11; o < len(q); {
			if o+4 > len(q) {
				return dst, 0, false
			}
			o += 4 + int(binary.BigEndian.Uint16(q[o+2:]))
			if o > len(q) {
				return dst, 0, false
			}
		}
		edns = true
	} else if p != len(q) {
		return dst, 0, false
	}
	name := q[headerLen:end]
	s := r.s
	zi, zl := s.findZone(name, labels)
	h := len(dst)
	out = append(dst, q[0], q[1], 0x80|0x04|q[2]&0x01, q[3]&0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	out = append(out, q[headerLen:end+4]...)
	if zi < 0 {
		s.met.refusedZone.Inc()
		out[h+2] &^= 0x04 // not authoritative
		out[h+3] |= rcodeRefused
		return r.finish(dst, out, h, edns, do, maxLen, qtype)
	}
	z := &s.zones[zi]
	kind, addr := classify(name, labels, zl)
	if kind == nameApex {
		return dst, 0, false
	}
	var l listing
	if kind == nameAddr {
		l = r.lookup(z, addr)
	}
	an := 0
	if l.listed {
		if qtype == typeA || qtype == typeANY {
			out = appendRRHeader(out, 0xc000|headerLen, typeA, z.ttl, 4)
			out = append(out, 127, 0, 0, l.code)
			an++
		}
		if (qtype == typeTXT || qtype == typeANY) && l.txt != nil {
			out = appendRRHeader(out, 0xc000|headerLen, typeTXT, z.ttl, 1+len(l.txt))
			out = append(out, byte(len(l.txt)))
			out = append(out, l.txt...)
			an++
		}
		out[h+7] = byte(an)
	} else {
		out[h+3] |= rcodeNXDomain
	}
	if an == 0 {
		// NXDOMAIN, or the name exists without records of the type: the
		// SOA goes in the authority section for negative caching (RFC
		// 2308), its owner a pointer to the zone's part of the question.
		out = appendRRHeader(out, 0xc000|uint16(headerLen+labels[zl]), typeSOA, z.negTTL, len(z.soaRdata))
		out = append(out, z.soaRdata...)
		out[h+9] = 1
	}
	return r.finish(dst, out, h, edns, do, maxLen, qtype)
}

// finish appends the OPT record when the query had one, and checks the
// response fits maxLen; if not, the miekg path answers, truncating.
func (r *responder) finish(dst, out []byte, h int, edns, do bool, maxLen int, qtype uint16) ([]byte, uint16, bool) {
	if edns {
		var flags byte
		if do {
			flags = 0x80
		}
		size := uint16(r.s.cfg.UDPSize)
		out = append(out, 0, 0, typeOPT, byte(size>>8), byte(size), 0, 0, flags, 0, 0, 0)
		out[h+11] = 1
	}
	if len(out)-h > maxLen {
		return dst, 0, false
	}
	return out, qtype, true
}

func appendRRHeader(b []byte, ptr uint16, typ uint16, ttl uint32, rdlen int) []byte {
	return append(b, byte(ptr>>8), byte(ptr), byte(typ>>8), byte(typ), 0, classIN,
		byte(ttl>>24), byte(ttl>>16), byte(ttl>>8), byte(ttl), byte(rdlen>>8), byte(rdlen))
}
