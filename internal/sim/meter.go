package sim

import (
	"github.com/proxywatch/proxywatch/internal/sim/nfexport"
)

// meter plays the router's flow cache: it cuts sessions into
// unidirectional flow records at the active timeout, ends UDP flows an
// idle timeout after their last packet, samples packets, and hands the
// records to the exporters in export-time order.
type meter struct {
	active, idle int64
	sampling     uint64
	rng          *rng
	q            tq[cursor]
	exps         []*nfexport.Exporter
	records      int64 // records exported (before encoding, per exporter)
	sampledOut   int64 // records dropped because no packet was sampled
}

// cursor is a session being cut into chunks; next is where the next chunk
// starts.
type cursor struct {
	c    conn
	next int64
}

func newMeter(ex Export, seed uint64, exps []*nfexport.Exporter) *meter {
	return &meter{
		active:   int64(ex.ActiveTimeout / 1000),
		idle:     int64(ex.IdleTimeout / 1000),
		sampling: uint64(ex.Sampling),
		rng:      newRNG(seed, streamID("meter", 0)),
		exps:     exps,
	}
}

// exportTime returns when the chunk [a, b] of c leaves the cache.
func (m *meter) exportTime(c *conn, b int64) int64 {
	if c.chunk {
		return c.exportAt
	}
	if b < c.end() {
		return b // active timeout
	}
	if c.Proto == 6 && c.State == "SF" {
		return b // FIN seen
	}
	return b + m.idle
}

func (m *meter) chunkEnd(c *conn, a int64) int64 {
	if c.chunk {
		return c.end()
	}
	b := a + m.active
	if b > c.end() {
		b = c.end()
	}
	return b
}

func (m *meter) add(c *conn) {
	cur := cursor{c: *c, next: c.TS}
	m.q.push(m.exportTime(c, m.chunkEnd(c, c.TS)), &cur)
}

// flush exports every chunk due by t.
func (m *meter) flush(t int64) error {
	for m.q.len() > 0 && m.q.minKey() <= t {
		due := m.q.minKey()
		cur := *m.q.pop()
		a := cur.next
		b := m.chunkEnd(&cur.c, a)
		if err := m.export(due, &cur.c, a, b); err != nil {
			return err
		}
		if b < cur.c.end() {
			cur.next = b
			m.q.push(m.exportTime(&cur.c, m.chunkEnd(&cur.c, b)), &cur)
		}
	}
	for _, x := range m.exps {
		if err := x.Tick(t); err != nil {
			return err
		}
	}
	return nil
}

// share returns the part of total that falls in [a, b] of a session that
// runs from s for d microseconds, such that the parts of consecutive
// chunks add up to total.
func share(total uint64, s, d, a, b int64) uint64 {
	if d <= 0 {
		return total
	}
	at := func(x int64) uint64 {
		if x >= s+d {
			return total
		}
		return uint64(float64(total) * float64(x-s) / float64(d))
	}
	return at(b) - at(a)
}

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

func (m *meter) export(t int64, c *conn, a, b int64) error {
	first, last := a == c.TS, b >= c.end()
	for dir := 0; dir < 2; dir++ {
		r := nfexport.Record{First: a, Last: b, Proto: c.Proto}
		var pkts, bytes uint64
		if dir == 0 {
			r.Src, r.Dst, r.SrcPort, r.DstPort = c.Orig, c.Resp, c.OrigPort, c.RespPort
			pkts, bytes = c.OrigPkts, c.OrigIPBytes
		} else {
			r.Src, r.Dst, r.SrcPort, r.DstPort = c.Resp, c.Orig, c.RespPort, c.OrigPort
			pkts, bytes = c.RespPkts, c.RespIPBytes
		}
		if !c.chunk {
			pkts = share(pkts, c.TS, c.Duration, a, b)
			bytes = share(bytes, c.TS, c.Duration, a, b)
		}
		if pkts == 0 {
			continue
		}
		if c.Proto == 6 {
			r.TCPFlags = tcpFlags(c.State, dir, first, last)
			if c.chunk {
				r.TCPFlags = c.flags
			}
		}
		if m.sampling > 1 {
			k := m.rng.binomial(pkts, 1/float64(m.sampling))
			if k == 0 {
				m.sampledOut++
				continue
			}
			bytes = (bytes*k + pkts/2) / pkts
			pkts = k
		}
		r.Packets, r.Bytes = pkts, bytes
		if isInside(r.Src) {
			r.InIf, r.OutIf = 1, 2
		} else {
			r.InIf, r.OutIf = 2, 1
		}
		m.records++
		for _, x := range m.exps {
			if err := x.Add(t, &r); err != nil {
				return err
			}
		}
	}
	return nil
}

// tcpFlags returns the cumulative TCP flags of one direction of a chunk.
func tcpFlags(state string, dir int, first, last bool) uint8 {
	switch state {
	case "S0":
		return fSYN
	case "REJ":
		if dir == 0 {
			return fSYN
		}
		return fRST | fACK
	}
	f := uint8(fACK | fPSH)
	if first {
		f |= fSYN
	}
	if last {
		f |= fFIN
	}
	return f
}

// close flushes the exporters' last packets.
func (m *meter) close() error {
	for _, x := range m.exps {
		if err := x.Close(); err != nil {
			return err
		}
	}
	return nil
}
