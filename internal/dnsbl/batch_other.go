//go:build !linux || !(amd64 || arm64)

package dnsbl

import (
	"context"
	"net"
)

// batch is Linux-only (recvmmsg and sendmmsg on 64-bit); elsewhere each
// query costs its own read and write.
type batch struct{}

func newBatch(*net.UDPConn, int) *batch { return nil }

func (s *Server) serveBatch(context.Context, *batch) error { panic("unreachable") }
