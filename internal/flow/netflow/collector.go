package netflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Deps are what a Collector needs from its surroundings.
type Deps struct {
	Logger     *slog.Logger          // nil discards
	Registerer prometheus.Registerer // nil registers no metrics
}

// A Collector receives NetFlow v5, v9 and IPFIX export on a UDP socket,
// decodes it and hands the records over in batches on the channel
// Batches returns.
//
// The contract of the output:
//   - a batch holds 1 to Config.BatchSize records, in arrival order, from
//     any exporters; a batch is sent when it is full or its first record
//     has waited Config.FlushInterval;
//   - the receiver owns each batch and may keep it; it may hand it back
//     with Recycle once done, which saves an allocation;
//   - sending blocks while Config.Queue batches wait, so a slow consumer
//     makes the collector stop reading; the kernel's socket buffer then
//     fills and its overflow is counted (proxywatch_flow_socket_drops_total);
//   - the channel is closed when Serve returns, after the last batch.
type Collector struct {
	cfg     Config
	log     *slog.Logger
	dec     *Decoder
	out     chan []flow.Record
	free    chan []flow.Record // recycled batches
	served  atomic.Bool
	sock    sockStats
	metrics *metrics
}

// sockStats counts what the socket loop saw.
type sockStats struct {
	datagrams, bytes, drops, blockedNs atomic.Uint64
	rcvbuf                             atomic.Int64
}

// New returns a collector for cfg. It validates cfg and registers the
// collector's metrics; it opens nothing.
func New(cfg Config, deps Deps) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("netflow collector: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Collector{cfg: cfg, log: log, dec: NewDecoder(cfg.options()), out: make(chan []flow.Record, cfg.Queue),
		free: make(chan []flow.Record, cfg.Queue+2)}
	if deps.Registerer != nil {
		c.metrics = newMetrics(c)
		if err := deps.Registerer.Register(c.metrics); err != nil {
			return nil, fmt.Errorf("netflow collector: register metrics: %w", err)
		}
	}
	return c, nil
}

// Batches returns the channel the collector sends record batches on. See
// Collector for the contract.
func (c *Collector) Batches() <-chan []flow.Record { return c.out }

// Recycle hands a batch back for reuse. The caller must not touch it
// afterwards.
func (c *Collector) Recycle(b []flow.Record) {
	if cap(b) < c.cfg.BatchSize {
		return
	}
	select {
	case c.free <- b[:0]:
	default:
	}
}

// Stats returns the decoder's counters.
func (c *Collector) Stats() Stats { return c.dec.Stats() }

// SocketDrops returns the datagrams the kernel dropped because the socket
// buffer was full, as far as the platform reports them.
func (c *Collector) SocketDrops() uint64 { return c.sock.drops.Load() }

func (c *Collector) batch() []flow.Record {
	select {
	case b := <-c.free:
		return b
	default:
		return make([]flow.Record, 0, c.cfg.BatchSize)
	}
}

// Serve reads export datagrams from pc until ctx is done, then sends the
// last batch (waiting for the consumer, which drains Batches until it is
// closed), closes the Batches channel and returns nil. It returns an
// error only when reading fails for another reason. pc is usually a
// *net.UDPConn bound by the caller; Serve does not close it. Serve may be
// called once.
func (c *Collector) Serve(ctx context.Context, pc net.PacketConn) error {
	if !c.served.CompareAndSwap(false, true) {
		return errors.New("netflow collector: Serve called twice")
	}
	defer close(c.out)
	udp, _ := pc.(*net.UDPConn)
	overflow := false
	var local netip.AddrPort
	if udp != nil {
		var got int
		got, overflow = socketOptions(udp, c.cfg.ReceiveBuffer)
		c.sock.rcvbuf.Store(int64(got))
		if got > 0 && got < c.cfg.ReceiveBuffer {
			c.log.Warn("receive buffer smaller than configured; raise net.core.rmem_max or grant CAP_NET_ADMIN",
				slog.Int("want", c.cfg.ReceiveBuffer), slog.Int("got", got))
		}
		if a, ok := pc.LocalAddr().(*net.UDPAddr); ok {
			local = a.AddrPort()
		}
	}
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Now()) })
	defer stop()

	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	batch := c.batch()
	var flushAt time.Time
	var lastOverflow uint32
	haveOverflow := false
	lastProc, lastPoll := uint64(0), time.Time{}
	for {
		if ctx.Err() != nil {
			c.flush(batch)
			return nil
		}
		var n, oobn int
		var from netip.AddrPort
		var err error
		if udp != nil {
			n, oobn, _, from, err = udp.ReadMsgUDPAddrPort(buf, oob)
		} else {
			var a net.Addr
			n, a, err = pc.ReadFrom(buf)
			if ua, ok := a.(*net.UDPAddr); ok {
				from = ua.AddrPort()
			}
		}
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				batch = c.flush(batch)
				flushAt = time.Time{}
				pc.SetReadDeadline(time.Time{})
				continue
			}
			return fmt.Errorf("netflow collector: read: %w", err)
		}
		c.sock.datagrams.Add(1)
		c.sock.bytes.Add(uint64(n))
		if overflow {
			if v, ok := overflowCount(oob[:oobn]); ok {
				if haveOverflow {
					c.sock.drops.Add(uint64(v - lastOverflow))
				}
				lastOverflow, haveOverflow = v, true
			}
		} else if local.IsValid() && now.Sub(lastPoll) > time.Second {
			if v, ok := procDrops(local); ok {
				if !lastPoll.IsZero() && v >= lastProc {
					c.sock.drops.Add(v - lastProc)
				}
				lastProc = v
			}
			lastPoll = now
		}
		was := len(batch)
		batch, _ = c.dec.Decode(batch, buf[:n], from.Addr().Unmap(), now)
		if was == 0 && len(batch) > 0 {
			flushAt = now.Add(c.cfg.FlushInterval)
			pc.SetReadDeadline(flushAt)
		}
		if len(batch) >= c.cfg.BatchSize || (!flushAt.IsZero() && !now.Before(flushAt)) {
			batch = c.flush(batch)
			flushAt = time.Time{}
			pc.SetReadDeadline(time.Time{})
		}
	}
}

// flush sends batch if it holds records and returns an empty one.
func (c *Collector) flush(batch []flow.Record) []flow.Record {
	if len(batch) == 0 {
		return batch
	}
	c.send(batch)
	return c.batch()
}

// send hands batch to the consumer, waiting while the queue is full, and
// accounts for the time spent waiting.
func (c *Collector) send(batch []flow.Record) {
	select {
	case c.out <- batch:
		return
	default:
	}
	start := time.Now()
	c.out <- batch
	c.sock.blockedNs.Add(uint64(time.Since(start)))
}
