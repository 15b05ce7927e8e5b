//go:build !linux

package netflow

import (
	"net"
	"net/netip"
)

// socketOptions asks for a receive buffer of size bytes and returns the
// size obtained; drop counters are Linux-only.
func socketOptions(c *net.UDPConn, size int) (int, bool) {
	if size > 0 {
		c.SetReadBuffer(size)
	}
	return 0, false
}

func overflowCount(oob []byte) (uint32, bool) { return 0, false }

const oobSize = 0

func procDrops(local netip.AddrPort) (uint64, bool) { return 0, false }

type mmsgReader struct{}

func newMmsgReader(*net.UDPConn) *mmsgReader { return nil }

func (*mmsgReader) next() ([]byte, netip.AddrPort, []byte, error) { panic("unreachable") }
