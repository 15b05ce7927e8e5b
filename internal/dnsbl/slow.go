package dnsbl

import (
	"net"

	"github.com/miekg/dns"
)

// answer appends the UDP response to q to dst: the fast path when it
// can, else the miekg path. It counts the query.
func (r *responder) answer(dst, q []byte) []byte {
	if out, qtype, ok := r.fast(dst, q); ok {
		r.s.met.count(transportUDP, int(out[len(dst)+3]&0x0f), qtype)
		return out
	}
	return r.slow(dst, q)
}

// slow answers q through miekg/dns. A message shorter than a header, or a
// response, is dropped; one that does not parse is answered FORMERR with
// the header alone, as miekg's server does.
func (r *responder) slow(dst, q []byte) []byte {
	if len(q) < headerLen || q[2]&0x80 != 0 {
		r.s.met.errors.short.Inc()
		return dst
	}
	req := new(dns.Msg)
	if err := req.Unpack(q); err != nil {
		r.s.met.errors.formerr.Inc()
		r.s.met.count(transportUDP, rcodeFormErr, 0)
		return append(dst, q[0], q[1], 0x80|q[2]&0x78, rcodeFormErr, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	m := r.reply(req, true)
	b, err := m.PackBuffer(r.pack)
	if err != nil {
		r.s.met.errors.pack.Inc()
		return dst
	}
	r.pack = b[:0]
	r.s.met.count(transportUDP, m.Rcode, qtypeOf(req))
	return append(dst, b...)
}

func qtypeOf(m *dns.Msg) uint16 {
	if len(m.Question) == 0 {
		return 0
	}
	return m.Question[0].Qtype
}

// reply returns the response to req. Over UDP it is truncated to the
// client's size.
func (r *responder) reply(req *dns.Msg, udp bool) *dns.Msg {
	s := r.s
	m := new(dns.Msg)
	m.SetReply(req)
	opt := req.IsEdns0()
	if opt != nil {
		m.SetEdns0(uint16(s.cfg.UDPSize), opt.Do())
		if opt.Version() != 0 {
			m.Rcode = dns.RcodeBadVers
			return m
		}
	}
	switch {
	case req.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
		return m
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	switch {
	case q.Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeRefused
		return m
	case q.Qtype >= 250 && q.Qtype != dns.TypeANY: // TKEY, TSIG, IXFR, AXFR, MAILB, MAILA and beyond
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	off, err := dns.PackDomainName(q.Name, r.wire, 0, nil, false)
	if err != nil {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	name := r.wire[:off]
	_, labels, ok := scanName(name, 0, r.labels[:0])
	zi, zl := -1, -1
	if ok {
		zi, zl = s.findZone(name, labels)
	}
	if zi < 0 {
		s.met.refusedZone.Inc()
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	z := &s.zones[zi]
	apex, _, err := dns.UnpackDomainName(name, labels[zl])
	if err != nil {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	kind, addr := classify(name, labels, zl)
	if kind == nameApex {
		switch q.Qtype {
		case dns.TypeSOA:
			m.Answer = append(m.Answer, z.soa(apex, z.ttl))
		case dns.TypeNS:
			m.Answer = z.appendNS(m.Answer, apex)
		case dns.TypeANY:
			m.Answer = z.appendNS(append(m.Answer, z.soa(apex, z.ttl)), apex)
		default:
			m.Ns = append(m.Ns, z.soa(apex, z.negTTL))
		}
		return r.truncate(m, req, udp)
	}
	var l listing
	if kind == nameAddr {
		l = r.lookup(z, addr)
	}
	if !l.listed {
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, z.soa(apex, z.negTTL))
		return r.truncate(m, req, udp)
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: z.ttl}
	}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(127, 0, 0, l.code).To4()})
	}
	if (q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY) && l.txt != nil {
		// The text holds no '\' or '"' (DNSBLTemplate and the feed
		// names' mapping see to it), so its presentation form is itself.
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{string(l.txt)}})
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, z.soa(apex, z.negTTL))
	}
	return r.truncate(m, req, udp)
}

// truncate cuts m to the client's UDP size: 512 bytes, or the EDNS0 size
// between 512 and the configured udp_size.
func (r *responder) truncate(m, req *dns.Msg, udp bool) *dns.Msg {
	if !udp {
		return m
	}
	size := 512
	if opt := req.IsEdns0(); opt != nil {
		size = max(512, min(int(opt.UDPSize()), r.s.cfg.UDPSize))
	}
	m.Truncate(size)
	return m
}

func (z *zone) soa(apex string, ttl uint32) dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      z.ns[0],
		Mbox:    z.mbox,
		Serial:  z.serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  z.negTTL,
	}
}

func (z *zone) appendNS(rrs []dns.RR, apex string) []dns.RR {
	for _, ns := range z.ns {
		rrs = append(rrs, &dns.NS{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: z.ttl}, Ns: ns})
	}
	return rrs
}
