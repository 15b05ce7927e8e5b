package dnsbl

import (
	"net/netip"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// The RFC 5782 test points. Their IPv6 forms, ::FFFF:7F00:2 and
// ::FFFF:7F00:1, are IPv4-mapped and so arrive here unmapped.
var (
	testListed   = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	testUnlisted = netip.AddrFrom4([4]byte{127, 0, 0, 1})
)

// A responder holds one goroutine's scratch buffers, so that answering
// does not allocate. It is not safe for concurrent use.
type responder struct {
	s      *Server
	hits   []verdict.Hit
	labels []int
	txt    []byte
	addr   []byte
	wire   []byte
	pack   []byte
}

func (s *Server) newResponder() *responder {
	return &responder{
		s:      s,
		hits:   make([]verdict.Hit, 0, 64),
		labels: make([]int, 0, 128),
		txt:    make([]byte, 0, 512),
		addr:   make([]byte, 0, 64),
		wire:   make([]byte, maxName+1),
		pack:   make([]byte, 0, 4096),
	}
}

// A listing is the answer for one address in one zone.
type listing struct {
	listed bool
	code   uint8  // last octet of 127.0.0.x
	txt    []byte // nil when the zone answers no TXT; valid until the next lookup
}

// lookup decides how zone z answers for addr: the test points from the
// zone alone; otherwise the address is listed when verdict.Summarize says
// so over the hits of the kinds z serves, and the most specific of the
// hits that reach the minimum confidence answers, ties going by
// proxywatch.CompareDNSBL.
func (r *responder) lookup(z *zone, addr netip.Addr) listing {
	s := r.s
	switch addr {
	case testListed:
		l := listing{listed: true, code: proxywatch.DNSBLTestCode}
		if !z.txt.IsZero() {
			l.txt = append(r.txt[:0], proxywatch.DNSBLTestTXT...)
			l.txt = l.txt[:min(len(l.txt), s.cfg.TXTMax)]
		}
		return l
	case testUnlisted:
		return listing{}
	}
	var hits []verdict.Hit
	if s.now != nil {
		hits = s.table.LookupAt(addr, s.now(), r.hits[:0])
	} else {
		hits = s.table.Lookup(addr, r.hits[:0])
	}
	if cap(hits) > cap(r.hits) {
		r.hits = hits[:0] // keep the grown buffer
	}
	// Keep the hits of the zone's kinds, in place.
	n := 0
	for _, h := range hits {
		if z.serves(h.Kind()) {
			hits[n] = h
			n++
		}
	}
	hits = hits[:n]
	if !verdict.Summarize(hits, s.minConf).Listed {
		return listing{}
	}
	var best verdict.Hit
	bestBits := -1
	for _, h := range hits {
		if h.Confidence() < s.minConf {
			continue
		}
		bits := h.Prefix().Bits()
		if bits > bestBits || bits == bestBits &&
			proxywatch.CompareDNSBL(h.Kind(), h.Confidence(), h.Feed(), best.Kind(), best.Confidence(), best.Feed()) < 0 {
			best, bestBits = h, bits
		}
	}
	l := listing{listed: true, code: proxywatch.DNSBLCode(best.Kind())}
	if !z.txt.IsZero() {
		r.addr = addr.AppendTo(r.addr[:0])
		e := proxywatch.DNSBLEntry{Kind: best.Kind(), Feed: best.Feed(), Prefix: best.Prefix(), Confidence: best.Confidence()}
		l.txt = z.txt.AppendTXT(r.txt[:0], r.addr, &e)
		if len(l.txt) > s.cfg.TXTMax {
			l.txt = l.txt[:s.cfg.TXTMax]
		}
		r.txt = l.txt[:0]
	}
	return l
}
