package stitch

import (
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// session builds the flow.Session of an entry. The originator is the side
// whose first record started first. On a tie (exporters timestamp in
// milliseconds, and a SYN and its SYN-ACK often share one), the responder
// is the endpoint that uses a well-known port (below 1024) while the other
// does not, else the endpoint that took part in more sessions lately (na
// and nb: a listener serves many clients, a client's port serves one
// session), else the lower port (ephemeral ranges sit at the top). A
// session seen in one direction only is originated by that direction's
// source.
func (e *entry) session(na, nb uint32) flow.Session {
	orig := 0
	switch {
	case e.has[0] && !e.has[1]:
	case e.has[1] && !e.has[0]:
		orig = 1
	case e.start[0] != e.start[1]:
		if e.start[1] < e.start[0] {
			orig = 1
		}
	default:
		orig = clientSide(e.k.ap, e.k.bp, na, nb)
	}
	resp := 1 - orig
	ends := [2]netip.AddrPort{
		netip.AddrPortFrom(addrOf(e.k.a, e.v4), e.k.ap),
		netip.AddrPortFrom(addrOf(e.k.b, e.v4), e.k.bp),
	}
	// Side 0 flows from a to b, so its originator is endpoint a.
	origEnd, respEnd := ends[orig], ends[resp]
	start, end := e.start[orig], e.end[orig]
	if e.has[resp] {
		if !e.has[orig] {
			start, end = e.start[resp], e.end[resp]
		}
		start, end = min(start, e.start[resp]), max(end, e.end[resp])
	}
	s := flow.Session{
		Start:       time.Unix(0, start).UTC(),
		Duration:    time.Duration(end - start),
		Orig:        origEnd,
		Resp:        respEnd,
		Proto:       e.k.proto,
		OrigPackets: e.pkts[orig],
		OrigBytes:   e.byts[orig],
		RespPackets: e.pkts[resp],
		RespBytes:   e.byts[resp],
		Sampled:     e.sampled,
	}
	if e.k.proto == flow.ProtoICMP || e.k.proto == flow.ProtoICMPv6 {
		// As Zeek does: the ICMP type as the originator's port, the code as
		// the responder's.
		s.Orig = netip.AddrPortFrom(s.Orig.Addr(), e.icmp>>8)
		s.Resp = netip.AddrPortFrom(s.Resp.Addr(), e.icmp&0xff)
	}
	return s
}

// clientSide picks the originator between endpoints a (0) and b (1) by
// their ports and session counts.
func clientSide(ap, bp uint16, na, nb uint32) int {
	switch {
	case ap < 1024 && bp >= 1024:
		return 1
	case bp < 1024 && ap >= 1024:
		return 0
	case na > nb:
		return 1
	case nb > na:
		return 0
	case ap > bp:
		return 0
	case bp > ap:
		return 1
	}
	return 0
}
