package netflow

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// socketOptions asks for a receive buffer of size bytes, forcing it past
// net.core.rmem_max when the process may (CAP_NET_ADMIN), turns on the
// kernel's drop counter (SO_RXQ_OVFL), and returns the buffer size
// obtained (the kernel reports twice what it grants for bookkeeping; this
// is halved back) and whether drops arrive with each datagram.
func socketOptions(c *net.UDPConn, size int) (got int, overflow bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	raw.Control(func(fd uintptr) {
		if size > 0 {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
			}
		}
		if v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			got = v / 2
		}
		overflow = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1) == nil
	})
	return got, overflow
}

// overflowCount returns the socket's cumulative drop counter carried in the
// control messages of one read (SO_RXQ_OVFL), if present.
func overflowCount(oob []byte) (uint32, bool) {
	const hdr = syscall.SizeofCmsghdr // len (a word), level, type
	const word = hdr - 8
	for len(oob) >= hdr {
		var l int
		if word == 8 {
			l = int(binary.NativeEndian.Uint64(oob))
		} else {
			l = int(binary.NativeEndian.Uint32(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[word:]))
		typ := int32(binary.NativeEndian.Uint32(oob[word+4:]))
		if l < hdr || l > len(oob) {
			return 0, false
		}
		if level == syscall.SOL_SOCKET && typ == syscall.SO_RXQ_OVFL && l >= hdr+4 {
			return binary.NativeEndian.Uint32(oob[hdr:]), true
		}
		oob = oob[min(len(oob), (l+word-1)&^(word-1)):]
	}
	return 0, false
}

// oobSize is the control buffer size for one SO_RXQ_OVFL message.
const oobSize = 64

// procDrops reads the drops column of the socket bound to local from
// /proc/net/udp or /proc/net/udp6: the fallback when SO_RXQ_OVFL is off.
func procDrops(local netip.AddrPort) (uint64, bool) {
	name := "/proc/net/udp"
	if local.Addr().Is6() && !local.Addr().Is4In6() {
		name = "/proc/net/udp6"
	}
	f, err := os.Open(name)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	port := strings.ToUpper(strconv.FormatUint(uint64(local.Port()), 16))
	for len(port) < 4 {
		port = "0" + port
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 13 || !strings.HasSuffix(fs[1], ":"+port) {
			continue
		}
		n, err := strconv.ParseUint(fs[len(fs)-1], 10, 64)
		if err == nil {
			return n, true
		}
	}
	return 0, false
}
