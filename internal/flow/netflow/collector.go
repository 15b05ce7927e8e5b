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

// Serve reads export datagrams from pc until ctx is done, then reads what
// the socket buffer still holds (for at most drainTime), sends the last
// batch (waiting for the consumer, which drains Batches until it is
// closed), closes the Batches channel and returns nil. It returns an error
// only when reading fails for another reason. pc is usually a
// *net.UDPConn bound by the caller; Serve does not close it. Serve may be
// called once.
func (c *Collector) Serve(ctx context.Context, pc net.PacketConn) error {
	if !c.served.CompareAndSwap(false, true) {
		return errors.New("netflow collector: Serve called twice")
	}
	defer close(c.out)
	r := c.newReader(pc)
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Now()) })
	defer stop()
	batch := c.batch()
	var flushAt time.Time
	for {
		if ctx.Err() != nil {
			c.flush(c.drain(r, batch))
			return nil
		}
		payload, from, err := r.read()
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
		was := len(batch)
		batch, _ = c.dec.Decode(batch, payload, from, now)
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

// drainTime bounds the reading of the socket buffer at shutdown.
const drainTime = 200 * time.Millisecond

// drain decodes what the socket buffer holds at shutdown, so that export
// already received is not lost, and returns the batch.
func (c *Collector) drain(r *sockReader, batch []flow.Record) []flow.Record {
	end := time.Now().Add(drainTime)
	for time.Now().Before(end) {
		r.pc.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		payload, from, err := r.read()
		if err != nil {
			break
		}
		batch, _ = c.dec.Decode(batch, payload, from, time.Now())
		if len(batch) >= c.cfg.BatchSize {
			batch = c.flush(batch)
		}
	}
	return batch
}

// sockReader reads datagrams and the kernel's drop counts.
type sockReader struct {
	c            *Collector
	pc           net.PacketConn
	udp          *net.UDPConn
	mmsg         *mmsgReader // batch reads on Linux; nil elsewhere
	buf, oob     []byte
	overflow     bool           // drops arrive with the datagrams (SO_RXQ_OVFL)
	lastOverflow uint32         // the kernel's counter is cumulative from the socket's creation and sent once non-zero
	local        netip.AddrPort // for the /proc fallback
	lastProc     uint64
	lastPoll     time.Time
}

func (c *Collector) newReader(pc net.PacketConn) *sockReader {
	r := &sockReader{c: c, pc: pc, buf: make([]byte, 65536), oob: make([]byte, oobSize)}
	r.udp, _ = pc.(*net.UDPConn)
	if r.udp == nil {
		return r
	}
	var got int
	got, r.overflow = socketOptions(r.udp, c.cfg.ReceiveBuffer)
	c.sock.rcvbuf.Store(int64(got))
	if got > 0 && got < c.cfg.ReceiveBuffer {
		c.log.Warn("receive buffer smaller than configured; raise net.core.rmem_max or grant CAP_NET_ADMIN",
			slog.Int("want", c.cfg.ReceiveBuffer), slog.Int("got", got))
	}
	if a, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		r.local = a.AddrPort()
	}
	r.mmsg = newMmsgReader(r.udp)
	return r
}

// read reads one datagram and returns it and its sender. The payload is
// valid until the next read.
func (r *sockReader) read() ([]byte, netip.Addr, error) {
	var n, oobn int
	var from netip.AddrPort
	var err error
	var payload, oob []byte
	switch {
	case r.mmsg != nil:
		payload, from, oob, err = r.mmsg.next()
		n, oobn = len(payload), len(oob)
	case r.udp != nil:
		n, oobn, _, from, err = r.udp.ReadMsgUDPAddrPort(r.buf, r.oob)
		payload, oob = r.buf[:n], r.oob[:oobn]
	default:
		var a net.Addr
		n, a, err = r.pc.ReadFrom(r.buf)
		if ua, ok := a.(*net.UDPAddr); ok {
			from = ua.AddrPort()
		}
		payload = r.buf[:n]
	}
	if err != nil {
		return nil, netip.Addr{}, err
	}
	sk := &r.c.sock
	sk.datagrams.Add(1)
	sk.bytes.Add(uint64(n))
	switch {
	case r.overflow:
		if v, ok := overflowCount(oob[:oobn]); ok {
			sk.drops.Add(uint64(v - r.lastOverflow))
			r.lastOverflow = v
		}
	case r.local.IsValid():
		if now := time.Now(); now.Sub(r.lastPoll) > time.Second {
			if v, ok := procDrops(r.local); ok {
				if !r.lastPoll.IsZero() && v >= r.lastProc {
					sk.drops.Add(v - r.lastProc)
				}
				r.lastProc = v
			}
			r.lastPoll = now
		}
	}
	return payload, from.Addr().Unmap(), nil
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
