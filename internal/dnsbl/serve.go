package dnsbl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/proxywatch/proxywatch"
)

// shutdownGrace bounds how long Serve waits for TCP connections to finish
// once ctx is done.
const shutdownGrace = 2 * time.Second

// maxQuery is the largest UDP query read; a DNSBL query is far smaller.
const maxQuery = 4096

// Serve answers DNSBL queries on pc (UDP) and ln (TCP) until ctx is done,
// then closes both and returns nil. Either may be nil, not both. It
// returns an error, having closed both, when reading from either fails
// for another reason than ctx ending.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	if pc == nil && ln == nil {
		return fmt.Errorf("dnsbl: serve: no listener: %w", proxywatch.ErrInvalid)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		cancel()
	}
	if pc != nil {
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				if err := s.serveUDP(ctx, pc); err != nil {
					fail(err)
				}
			})
		}
	}
	var tcp *dns.Server
	started := make(chan struct{})
	if ln != nil {
		tcp = &dns.Server{
			Listener:       ln,
			Handler:        dns.HandlerFunc(s.serveTCP),
			ReadTimeout:    s.cfg.TCPIdle,
			WriteTimeout:   s.cfg.TCPIdle,
			IdleTimeout:    func() time.Duration { return s.cfg.TCPIdle },
			MaxTCPQueries:  -1,
			MsgAcceptFunc:  acceptQueries,
			MsgInvalidFunc: func([]byte, error) { s.met.errors.formerr.Inc() },
		}
		tcp.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() {
			if err := tcp.ActivateAndServe(); err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("dnsbl: serve tcp: %w", err))
			}
		})
	}
	<-ctx.Done()
	if pc != nil {
		pc.Close() // unblocks the readers
	}
	if tcp != nil {
		select {
		case <-started:
			sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			if err := tcp.ShutdownContext(sctx); err != nil {
				s.log.Warn("dnsbl: tcp shutdown", "err", err)
			}
			stop()
		default:
			ln.Close()
		}
	}
	wg.Wait()
	return first
}

// acceptQueries ignores responses and lets the handler judge the rest, so
// that TCP answers as UDP does.
func acceptQueries(dh dns.Header) dns.MsgAcceptAction {
	if dh.Bits&(1<<15) != 0 {
		return dns.MsgIgnore
	}
	return dns.MsgAccept
}

// serveUDP reads and answers queries on pc until it is closed: in
// batches where the system allows, else one at a time.
func (s *Server) serveUDP(ctx context.Context, pc net.PacketConn) error {
	uc, _ := pc.(*net.UDPConn)
	var pi *pktinfo
	if uc != nil {
		if pi = newPktinfo(uc); pi == nil {
			if b := newBatch(uc, s.cfg.UDPSize); b != nil {
				return s.serveBatch(ctx, b)
			}
		}
	}
	r := s.newResponder()
	buf := make([]byte, maxQuery)
	out := make([]byte, 0, 65535)
	for {
		var (
			n    int
			from netip.AddrPort
			err  error
		)
		switch {
		case pi != nil:
			n, from, err = pi.read(buf)
		case uc != nil:
			n, from, err = uc.ReadFromUDPAddrPort(buf)
		default:
			var a net.Addr
			n, a, err = pc.ReadFrom(buf)
			from = addrPortOf(a)
		}
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, net.ErrClosed):
				return fmt.Errorf("dnsbl: read udp: %w", err)
			}
			s.met.errors.read.Inc() // e.g. ICMP port unreachable from an earlier reply
			continue
		}
		t0 := time.Now()
		resp := s.handleUDP(r, out[:0], buf[:n], from.Addr(), t0)
		if len(resp) > 0 {
			switch {
			case pi != nil:
				err = pi.write(resp, from)
			case uc != nil:
				_, err = uc.WriteToUDPAddrPort(resp, from)
			default:
				_, err = pc.WriteTo(resp, net.UDPAddrFromAddrPort(from))
			}
			if err != nil {
				s.met.errors.write.Inc()
			}
		}
		s.met.latency.Observe(time.Since(t0).Seconds())
	}
}

// handleUDP applies the access list and rate limiting, then answers q.
// A panic is counted and logged, and the query dropped.
func (s *Server) handleUDP(r *responder, dst, q []byte, client netip.Addr, now time.Time) (out []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.met.errors.panics.Inc()
			s.logSampled("dnsbl: panic answering a query", "panic", p)
			out = dst
		}
	}()
	if !s.allowed(client) {
		s.met.refusedACL.Inc()
		return dst
	}
	if s.rrl != nil {
		switch s.rrl.check(client, now.UnixNano()) {
		case rrlDrop:
			s.met.rateDropped.Inc()
			return dst
		case rrlSlip:
			s.met.rateSlipped.Inc()
			return appendSlip(dst, q)
		}
	}
	return r.answer(dst, q)
}

// appendSlip appends a truncated (TC) response with the question alone,
// which tells a real client to retry over TCP and gives a spoofed flood
// nothing to amplify.
func appendSlip(dst, q []byte) []byte {
	if len(q) < headerLen || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return dst
	}
	end, _, ok := scanName(q, headerLen, nil)
	if !ok || end+4 > len(q) {
		return dst
	}
	out := append(dst, q[0], q[1], 0x80|0x02|q[2]&0x79, q[3]&0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	return append(out, q[headerLen:end+4]...)
}

// serveTCP answers one query over TCP.
func (s *Server) serveTCP(w dns.ResponseWriter, req *dns.Msg) {
	defer func() {
		if p := recover(); p != nil {
			s.met.errors.panics.Inc()
			s.logSampled("dnsbl: panic answering a query", "panic", p)
		}
	}()
	if !s.allowed(addrPortOf(w.RemoteAddr()).Addr()) {
		s.met.refusedACL.Inc()
		m := new(dns.Msg).SetRcode(req, dns.RcodeRefused)
		w.WriteMsg(m)
		s.met.count(transportTCP, m.Rcode, qtypeOf(req))
		return
	}
	r := s.pool.Get().(*responder)
	m := r.reply(req, false)
	s.pool.Put(r)
	if err := w.WriteMsg(m); err != nil {
		s.met.errors.write.Inc()
	}
	s.met.count(transportTCP, m.Rcode, qtypeOf(req))
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// logSampled logs at most one line a second, so that a flood of bad
// queries cannot flood the log.
func (s *Server) logSampled(msg string, args ...any) {
	now := time.Now().UnixNano()
	if last := s.lastLog.Load(); now-last > int64(time.Second) && s.lastLog.CompareAndSwap(last, now) {
		s.log.Error(msg, args...)
	}
}
