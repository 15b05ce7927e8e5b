//go:build !linux

package dnsbl

import (
	"net"
	"net/netip"
)

// pktinfo is Linux-only; elsewhere a socket bound to an unspecified
// address answers from the address the system picks.
type pktinfo struct{}

func newPktinfo(*net.UDPConn) *pktinfo { return nil }

func (*pktinfo) read([]byte) (int, netip.AddrPort, error) { panic("unreachable") }

func (*pktinfo) write([]byte, netip.AddrPort) error { panic("unreachable") }
