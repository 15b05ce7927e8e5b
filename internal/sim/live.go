package sim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// liveSink sends export packets over UDP to a loopback collector at a
// paced rate. It is a nfexport.Sink.
type liveSink struct {
	ctx     context.Context
	conn    *net.UDPConn
	rate    float64
	version int
	t0      time.Time
	sent    int64
}

// LoopbackAddr parses a "host:port" collector address and accepts it only
// if the host is a loopback address (or "localhost").
func LoopbackAddr(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("live address %q: %w", s, err)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("live address %q: %w", s, err)
	}
	if !ap.Addr().Unmap().IsLoopback() || ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("live address %q: only a loopback address with a port is allowed", s)
	}
	return ap, nil
}

func dialLive(ctx context.Context, o LiveOptions) (*liveSink, error) {
	ap, err := LoopbackAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	if o.Rate == 0 {
		o.Rate = 5000
	}
	if o.Rate < 1 || o.Rate > 1e6 {
		return nil, fmt.Errorf("live rate %v: must be between 1 and 1000000 datagrams a second", o.Rate)
	}
	if o.Version == 0 {
		o.Version = 10
	}
	if o.Version != 9 && o.Version != 10 {
		return nil, fmt.Errorf("live version %d: must be 9 or 10", o.Version)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("live export: %w", err)
	}
	return &liveSink{ctx: ctx, conn: c, rate: o.Rate, version: o.Version}, nil
}

// WritePacket sends p once its turn under the rate has come.
func (l *liveSink) WritePacket(_ int64, p []byte) error {
	if l.sent == 0 {
		l.t0 = time.Now()
	}
	due := l.t0.Add(time.Duration(float64(l.sent) / l.rate * float64(time.Second)))
	if d := time.Until(due); d > time.Millisecond {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-l.ctx.Done():
			t.Stop()
			return l.ctx.Err()
		}
	}
	if _, err := l.conn.Write(p); err != nil {
		// A collector that is not listening yet makes loopback sends fail
		// with ECONNREFUSED; UDP export does not care.
		if !isRefused(err) {
			return fmt.Errorf("live export: %w", err)
		}
	}
	l.sent++
	return nil
}

func (l *liveSink) close() { l.conn.Close() }
