package pcapread

import (
	"encoding/binary"
	"net/netip"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Why a frame yields no datagram.
const (
	whyNotUDP    = "not-udp"
	whyFragment  = "fragment"
	whyTruncated = "truncated"
)

// IP protocol numbers and IPv6 extension headers the parser walks.
const (
	protoUDP      = 17
	ip6HopByHop   = 0
	ip6Routing    = 43
	ip6Fragment   = 44
	ip6DestOpts   = 60
	ip6Mobility   = 135
	ethIPv4       = 0x0800
	ethIPv6       = 0x86dd
	ethVLAN       = 0x8100
	ethQinQ       = 0x88a8
	ethQinQOld    = 0x9100
	maxVLANLayers = 4
)

// parseFrame extracts the UDP datagram from one captured frame of the
// given link type. The payload aliases frame.
func parseFrame(link uint32, frame []byte) (flow.Datagram, string) {
	var ip []byte
	switch link {
	case linkEthernet:
		if len(frame) < 14 {
			return flow.Datagram{}, whyTruncated
		}
		et := binary.BigEndian.Uint16(frame[12:])
		p := frame[14:]
		for i := 0; i < maxVLANLayers && (et == ethVLAN || et == ethQinQ || et == ethQinQOld); i++ {
			if len(p) < 4 {
				return flow.Datagram{}, whyTruncated
			}
			et, p = binary.BigEndian.Uint16(p[2:]), p[4:]
		}
		if et != ethIPv4 && et != ethIPv6 {
			return flow.Datagram{}, whyNotUDP
		}
		ip = p
	case linkSLL:
		if len(frame) < 16 {
			return flow.Datagram{}, whyTruncated
		}
		ip = frame[16:]
	case linkSLL2:
		if len(frame) < 20 {
			return flow.Datagram{}, whyTruncated
		}
		ip = frame[20:]
	case linkNull, linkLoop:
		if len(frame) < 4 {
			return flow.Datagram{}, whyTruncated
		}
		ip = frame[4:] // the address family is checked through the IP version below
	case linkRaw, linkRawBSD, linkRawBSD14, linkIPv4, linkIPv6:
		ip = frame
	default:
		return flow.Datagram{}, whyNotUDP
	}
	if len(ip) < 1 {
		return flow.Datagram{}, whyTruncated
	}
	switch ip[0] >> 4 {
	case 4:
		return parseIPv4(ip)
	case 6:
		return parseIPv6(ip)
	}
	return flow.Datagram{}, whyNotUDP
}

func parseIPv4(ip []byte) (flow.Datagram, string) {
	if len(ip) < 20 {
		return flow.Datagram{}, whyTruncated
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || total < ihl {
		return flow.Datagram{}, whyTruncated
	}
	if ip[9] != protoUDP {
		return flow.Datagram{}, whyNotUDP
	}
	if frag := binary.BigEndian.Uint16(ip[6:]); frag&0x3fff != 0 { // MF set or a non-zero offset
		return flow.Datagram{}, whyFragment
	}
	if total > len(ip) {
		return flow.Datagram{}, whyTruncated
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	dst := netip.AddrFrom4([4]byte(ip[16:20]))
	return parseUDP(src, dst, ip[ihl:total])
}

func parseIPv6(ip []byte) (flow.Datagram, string) {
	if len(ip) < 40 {
		return flow.Datagram{}, whyTruncated
	}
	plen := int(binary.BigEndian.Uint16(ip[4:]))
	if 40+plen > len(ip) {
		return flow.Datagram{}, whyTruncated
	}
	src := netip.AddrFrom16([16]byte(ip[8:24])).Unmap()
	dst := netip.AddrFrom16([16]byte(ip[24:40])).Unmap()
	next, p := ip[6], ip[40:40+plen]
	for range 8 { // a bounded walk over extension headers
		switch next {
		case protoUDP:
			return parseUDP(src, dst, p)
		case ip6HopByHop, ip6Routing, ip6DestOpts, ip6Mobility:
			if len(p) < 8 {
				return flow.Datagram{}, whyTruncated
			}
			n := 8 + int(p[1])*8
			if n > len(p) {
				return flow.Datagram{}, whyTruncated
			}
			next, p = p[0], p[n:]
		case ip6Fragment:
			if len(p) < 8 {
				return flow.Datagram{}, whyTruncated
			}
			if binary.BigEndian.Uint16(p[2:])&0xfff9 != 0 { // an offset or more fragments
				return flow.Datagram{}, whyFragment
			}
			next, p = p[0], p[8:] // an atomic fragment: the whole datagram
		default:
			return flow.Datagram{}, whyNotUDP
		}
	}
	return flow.Datagram{}, whyNotUDP
}

func parseUDP(src, dst netip.Addr, p []byte) (flow.Datagram, string) {
	if len(p) < 8 {
		return flow.Datagram{}, whyTruncated
	}
	ulen := int(binary.BigEndian.Uint16(p[4:]))
	if ulen < 8 || ulen > len(p) {
		return flow.Datagram{}, whyTruncated
	}
	return flow.Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(p)),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(p[2:])),
		Payload: p[8:ulen],
	}, ""
}
