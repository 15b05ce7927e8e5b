package netflow

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// mmsgBatch is how many datagrams one recvmmsg(2) call may return.
const mmsgBatch = 32

// mmsgSize is the largest datagram read whole: the largest UDP payload.
const mmsgSize = 65535

// mmsghdr is struct mmsghdr: a message header and the length received.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgReader reads datagrams in batches with recvmmsg(2), through the
// runtime's poller (so read deadlines apply). At high export rates this
// takes a fraction of the per-datagram system-call cost of one read each.
type mmsgReader struct {
	raw   syscall.RawConn
	msgs  [mmsgBatch]mmsghdr
	iovs  [mmsgBatch]syscall.Iovec
	names [mmsgBatch]syscall.RawSockaddrInet6
	bufs  [mmsgBatch][]byte
	oobs  [mmsgBatch][oobSize]byte
	n, i  int // messages filled, next to hand out
}

func newMmsgReader(c *net.UDPConn) *mmsgReader {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &mmsgReader{raw: raw}
	for i := range r.msgs {
		r.bufs[i] = make([]byte, mmsgSize)
		r.iovs[i].Base = &r.bufs[i][0]
		r.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.msgs[i].hdr.Iov = &r.iovs[i]
		r.msgs[i].hdr.Iovlen = 1
		r.msgs[i].hdr.Control = &r.oobs[i][0]
	}
	return r
}

// next returns the next datagram, its sender and control data, reading a
// new batch when the last one is used up. The slices are valid until the
// next call.
func (r *mmsgReader) next() ([]byte, netip.AddrPort, []byte, error) {
	for r.i >= r.n {
		if err := r.fill(); err != nil {
			return nil, netip.AddrPort{}, nil, err
		}
	}
	i := r.i
	r.i++
	m := &r.msgs[i].hdr
	n := int(r.msgs[i].n)
	return r.bufs[i][:n], sockaddr(&r.names[i]), r.oobs[i][:m.Controllen], nil
}

func (r *mmsgReader) fill() error {
	for i := range r.msgs {
		r.iovs[i].SetLen(mmsgSize)
		r.msgs[i].hdr.Namelen = syscall.SizeofSockaddrInet6
		r.msgs[i].hdr.SetControllen(oobSize)
		r.msgs[i].hdr.Flags = 0
		r.msgs[i].n = 0
	}
	var got int
	var errno syscall.Errno
	err := r.raw.Read(func(fd uintptr) bool {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.msgs[0])), mmsgBatch, syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN || e == syscall.EINTR {
			return false // wait until readable
		}
		got, errno = int(n), e
		return true
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	r.n, r.i = got, 0
	return nil
}

// sockaddr decodes a sockaddr_in or sockaddr_in6.
func sockaddr(sa *syscall.RawSockaddrInet6) netip.AddrPort {
	b := (*[syscall.SizeofSockaddrInet6]byte)(unsafe.Pointer(sa))
	port := binary.BigEndian.Uint16(b[2:])
	switch sa.Family {
	case syscall.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
