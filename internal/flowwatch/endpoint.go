package flowwatch

import (
	"math"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// epKey is one outside endpoint: address, port and protocol.
type epKey struct {
	addr addrKey
	port uint16
	prot uint16 // the IP protocol, widened: a key without padding hashes and compares as plain memory
}

func (k epKey) hash() uint64 { return mix64(hashAddr(k.addr) ^ uint64(k.port)<<8 ^ uint64(k.prot)) }

// epCounts are an endpoint's traffic in one half-window. "To" is inside
// to the endpoint, "from" the endpoint to inside.
type epCounts struct {
	sessions, failed, oneway float64
	multi                    float64 // unsampled sessions of more than three packets toward the endpoint
	toPkts, toBytes          float64
	fromPkts, fromBytes      float64
	durSum                   float64 // seconds
}

func (c *epCounts) plus(o *epCounts) epCounts {
	return epCounts{c.sessions + o.sessions, c.failed + o.failed, c.oneway + o.oneway, c.multi + o.multi,
		c.toPkts + o.toPkts, c.toBytes + o.toBytes, c.fromPkts + o.fromPkts, c.fromBytes + o.fromBytes,
		c.durSum + o.durSum}
}

// epState is what is known about one outside endpoint over the window.
type epState struct {
	first, last int64
	clients     windowHLL
	epoch       int64
	cur, prev   epCounts
	hours       hourRing
	flags       uint8
	sampled     bool // seen through sampled sessions
}

// Endpoint flags.
const (
	epC2Cand   = 1 << iota // scored as a C2 candidate in the last round
	epCollCand             // scored as a collector candidate in the last round
)

func (e *epState) counts(epoch int64) epCounts {
	e.roll(epoch)
	return e.cur.plus(&e.prev)
}

func (e *epState) roll(epoch int64) {
	switch {
	case epoch == e.epoch:
	case epoch == e.epoch+1:
		e.prev, e.cur, e.epoch = e.cur, epCounts{}, epoch
	case epoch > e.epoch:
		e.prev, e.cur, e.epoch = epCounts{}, epCounts{}, epoch
	}
}

// failedSession reports whether s is an attempt that got no answer or was
// refused. Sampled sessions without a state never count: a missing answer
// may just not have been sampled.
func failedSession(s *flow.Session) bool {
	switch s.State {
	case "S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR":
		return true
	case "":
		return !s.Sampled && s.RespPackets == 0
	}
	return false
}

// endpoint returns the state of k, admitting it if it is new and either
// the table has room or k has been seen more often, lately, than the
// entry it would evict. It returns nil when k is not admitted.
func (w *Watch) endpoint(k epKey, t int64) *epState {
	if e := w.eps.get(k); e != nil {
		return e
	}
	est := w.epCMS.add(k.hash())
	e := w.eps.admit(k, float64(est), w.epWorth(t))
	if e == nil {
		return nil
	}
	e.first, e.epoch = t, t/w.epochLen
	e.clients.epoch = e.epoch
	return e
}

// epWorth rates endpoints for eviction: recent sessions, candidates far
// above the rest.
func (w *Watch) epWorth(t int64) func(*epState) float64 {
	ep := t / w.epochLen
	return func(e *epState) float64 {
		if e.last < t-w.cfg.Window.Microseconds() {
			return -1
		}
		v := e.cur.sessions
		if e.epoch+1 >= ep {
			v += e.prev.sessions
		}
		if e.flags != 0 {
			v += 1e6
		}
		return v
	}
}

// outbound handles a session an inside host h opened to outside r; rs
// and hs are h's relay state and byte history, or nil.
func (w *Watch) outbound(s *flow.Session, h, r addrKey, rs *relayState, hs *histState) {
	start, end := s.Start.UnixMicro(), s.End().UnixMicro()
	ek := epKey{addr: r, port: s.Resp.Port(), prot: uint16(s.Proto)}
	failed := failedSession(s)
	e := w.endpoint(ek, end)
	if e != nil {
		ep := end / w.epochLen
		e.roll(ep)
		e.last = max(e.last, end)
		e.clients.add(ep, hashAddr(h))
		c := &e.cur
		c.sessions++
		if failed {
			c.failed++
		}
		if s.RespPackets == 0 {
			c.oneway++
		}
		if !s.Sampled && s.OrigPackets > 3 {
			c.multi++
		}
		c.toPkts += float64(s.OrigPackets)
		c.toBytes += float64(s.OrigBytes)
		c.fromPkts += float64(s.RespPackets)
		c.fromBytes += float64(s.RespBytes)
		c.durSum += s.Duration.Seconds()
		e.hours.add(start, 1)
		e.sampled = e.sampled || s.Sampled
	}
	w.observePair(pairKey{in: h, out: r, port: ek.port, prot: ek.prot}, e, start, end, s.OrigBytes, failed)
	w.hostOut(s, h, ek, start, end, rs, hs)
}

// inbound handles a session outside client c opened to inside host h.
func (w *Watch) inbound(s *flow.Session, c, h addrKey) {
	// Traffic from an endpoint already followed counts for it: a sampled
	// answer the stitcher could not pair shows as a session from it.
	if e := w.eps.get(epKey{addr: c, port: s.Orig.Port(), prot: uint16(s.Proto)}); e != nil {
		end := s.End().UnixMicro()
		e.roll(end / w.epochLen)
		e.cur.fromPkts += float64(s.OrigPackets)
		e.cur.fromBytes += float64(s.OrigBytes)
		e.cur.toPkts += float64(s.RespPackets)
		e.cur.toBytes += float64(s.RespBytes)
	}
	w.relayIn(s, c, h)
}

// observePair records one connection of the pair k, admitting the pair if
// it repeats (or its endpoint is a candidate already).
func (w *Watch) observePair(k pairKey, e *epState, start, end int64, origBytes uint64, failed bool) {
	p := w.pairs.get(k)
	if p == nil {
		est := w.pairCMS.add(k.hash())
		// Repeated pairs, pairs of candidate endpoints and pairs on
		// unusual ports are followed: a bot's first beacons to a C2 not yet
		// recognised count once it is.
		cand := e != nil && e.flags != 0 || unusualPort(k.port)
		if est < 2 && !cand {
			return
		}
		admitAs := float64(est)
		if cand {
			admitAs = math.Inf(1)
		}
		if p = w.pairs.admit(k, admitAs, w.pairWorth(end)); p == nil {
			return
		}
	}
	if p.pending {
		if max(p.last, end) > p.scoredAt {
			// Due again next round, before anything reads the score:
			// the pending one would never be seen.
			p.pending = false
		} else {
			w.settle(p) // the score due is of the state before this connection
		}
	}
	p.add(start, end, origBytes, failed)
}

// pairWorth rates pairs for eviction: connections (so that one-off
// contacts go before beacons), nothing once idle for a window.
func (w *Watch) pairWorth(t int64) func(*pairState) float64 {
	idle := t - w.cfg.Window.Microseconds()
	return func(p *pairState) float64 {
		if p.last < idle {
			return -1
		}
		return float64(p.n)
	}
}
