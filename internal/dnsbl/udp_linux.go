package dnsbl

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
)

// A pktinfo reads and answers on a UDP socket bound to an unspecified
// address (0.0.0.0 or ::), answering each query from the address it was
// sent to: without it, on a host with several addresses, the kernel may
// pick another source address and the client drops the answer. It uses
// IP_PKTINFO and IPV6_PKTINFO, parsed by hand so that a query costs no
// allocation. It is not safe for concurrent use; each reader has its own.
type pktinfo struct {
	uc      *net.UDPConn
	oob     []byte
	oobOut  []byte
	dst     netip.Addr
	ifindex uint32
}

// Linux socket option and control message numbers.
const (
	ipPktinfo       = 8  // IP_PKTINFO
	ipv6RecvPktinfo = 49 // IPV6_RECVPKTINFO
	ipv6Pktinfo     = 50 // IPV6_PKTINFO
)

// newPktinfo returns a pktinfo for uc, or nil when uc is bound to a
// specific address (the kernel then answers from it) or the options
// cannot be set.
func newPktinfo(uc *net.UDPConn) *pktinfo {
	la, ok := uc.LocalAddr().(*net.UDPAddr)
	if !ok || !la.IP.IsUnspecified() {
		return nil
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	set := false
	rc.Control(func(fd uintptr) {
		e4 := syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipPktinfo, 1)
		e6 := syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, ipv6RecvPktinfo, 1)
		set = e4 == nil || e6 == nil
	})
	if !set {
		return nil
	}
	return &pktinfo{uc: uc, oob: make([]byte, 256), oobOut: make([]byte, 0, 64)}
}

func (p *pktinfo) read(buf []byte) (int, netip.AddrPort, error) {
	n, oobn, _, from, err := p.uc.ReadMsgUDPAddrPort(buf, p.oob)
	p.dst, p.ifindex = netip.Addr{}, 0
	if err == nil {
		p.parse(p.oob[:oobn])
	}
	return n, from, err
}

// parse finds the query's destination address in the control messages.
func (p *pktinfo) parse(b []byte) {
	for len(b) >= syscall.SizeofCmsghdr {
		var l int
		if syscall.SizeofCmsghdr == 16 {
			l = int(binary.NativeEndian.Uint64(b))
		} else {
			l = int(binary.NativeEndian.Uint32(b))
		}
		level := int32(binary.NativeEndian.Uint32(b[syscall.SizeofCmsghdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(b[syscall.SizeofCmsghdr-4:]))
		if l < syscall.SizeofCmsghdr || l > len(b) {
			return
		}
		data := b[syscall.SizeofCmsghdr:l]
		switch {
		case level == syscall.IPPROTO_IP && typ == ipPktinfo && len(data) >= 12:
			// struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
			p.dst = netip.AddrFrom4([4]byte(data[8:12]))
		case level == syscall.IPPROTO_IPV6 && typ == ipv6Pktinfo && len(data) >= 20:
			// struct in6_pktinfo { in6_addr addr; unsigned ifindex; }
			p.dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
			p.ifindex = binary.NativeEndian.Uint32(data[16:20])
		}
		b = b[min(len(b), cmsgAlign(l)):]
	}
}

func (p *pktinfo) write(resp []byte, to netip.AddrPort) error {
	oob := p.oobOut[:0]
	switch {
	case p.dst.Is4(): // also on a dual-stack socket, as Linux allows
		var d [12]byte
		a := p.dst.As4()
		copy(d[4:8], a[:]) // spec_dst: the source to answer from
		oob = appendCmsg(oob, syscall.IPPROTO_IP, ipPktinfo, d[:])
	case p.dst.IsValid():
		var d [20]byte
		a := p.dst.As16()
		copy(d[:16], a[:])
		binary.NativeEndian.PutUint32(d[16:], p.ifindex)
		oob = appendCmsg(oob, syscall.IPPROTO_IPV6, ipv6Pktinfo, d[:])
	}
	_, _, err := p.uc.WriteMsgUDPAddrPort(resp, oob, to)
	return err
}

// ptrSize is the size of a C long, to which control messages align.
const ptrSize = 4 << (^uintptr(0) >> 63)

var zeros [64]byte

func cmsgAlign(n int) int {
	return (n + ptrSize - 1) &^ (ptrSize - 1)
}

func appendCmsg(b []byte, level, typ int32, data []byte) []byte {
	l := syscall.SizeofCmsghdr + len(data)
	start := len(b)
	b = append(b, zeros[:cmsgAlign(l)]...)
	h := b[start:]
	if syscall.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(h, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(h, uint32(l))
	}
	binary.NativeEndian.PutUint32(h[syscall.SizeofCmsghdr-8:], uint32(level))
	binary.NativeEndian.PutUint32(h[syscall.SizeofCmsghdr-4:], uint32(typ))
	copy(h[syscall.SizeofCmsghdr:], data)
	return b
}
