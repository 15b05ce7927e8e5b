package flowwatch

import (
	"github.com/proxywatch/proxywatch/internal/flow"
)

// legRing is how many recent sessions of each direction a relay candidate
// keeps for matching.
const legRing = 16

// leg is one session of a relay candidate, inbound or outbound.
type leg struct {
	start, end int64  // µs
	ob, rb     uint64 // originator and responder bytes
	peer       uint64 // hash of the outside address
	port       uint16 // the inside host's port (inbound legs)
	sampled    bool
	matched    bool
	used       bool
}

// relayCounts are a relay candidate's counts in one half-window.
type relayCounts struct {
	answered int32 // inbound sessions the host answered
	matched  int32 // of them, matched by an outbound session
	shifted  int32 // matched by an outbound session a minute earlier: chance
	socks    int32 // inbound sessions a protocol analyser called a proxy
}

// relayState is what is kept about an inside host that outside clients
// connect to.
type relayState struct {
	first, last int64
	ins, outs   [legRing]leg
	inHead      uint8
	outHead     uint8
	epoch       int64
	cur, prev   relayCounts
	clients     windowHLL // distinct outside clients
	dests       windowHLL // distinct destinations of matched outbound legs
	port        uint16    // the most used listening port (majority vote)
	portVotes   int32
	portClients windowHLL // distinct clients of that port
	peers       [4]addrKey
	npeers      uint8
	matchFirst  int64
	matchLast   int64
	flags       uint8
}

func (r *relayState) roll(epoch int64) {
	switch {
	case epoch == r.epoch:
	case epoch == r.epoch+1:
		r.prev, r.cur, r.epoch = r.cur, relayCounts{}, epoch
	case epoch > r.epoch:
		r.prev, r.cur, r.epoch = relayCounts{}, relayCounts{}, epoch
	}
}

func (r *relayState) counts(epoch int64) relayCounts {
	r.roll(epoch)
	return relayCounts{r.cur.answered + r.prev.answered, r.cur.matched + r.prev.matched,
		r.cur.shifted + r.prev.shifted, r.cur.socks + r.prev.socks}
}

// served reports whether the inside host served the inbound session s:
// it answered, or, when sampling may have hidden the answer, the packets
// seen carry data (a scan's probes are bare 40 to 60 byte segments).
func served(s *flow.Session) bool {
	if !s.Sampled {
		return s.RespPackets > 0 && !failedSession(s)
	}
	if s.RespPackets > 0 {
		return true
	}
	return s.OrigPackets > 0 && s.OrigBytes >= 100*s.OrigPackets
}

func legOf(s *flow.Session, peer addrKey) leg {
	return leg{start: s.Start.UnixMicro(), end: s.End().UnixMicro(), ob: s.OrigBytes, rb: s.RespBytes,
		peer: hashAddr(peer), sampled: s.Sampled, used: true}
}

// relayIn handles an inbound session from outside client c to inside
// host h: h becomes a relay candidate, and the session is matched against
// h's recent outbound sessions.
func (w *Watch) relayIn(s *flow.Session, c, h addrKey) {
	if !unusualPort(s.Orig.Port()) && s.Orig.Port() != 0 {
		// Clients do not connect from service ports: this is an answer
		// (or an outbound session) the flow source turned around.
		return
	}
	end := s.End().UnixMicro()
	r := w.relays.get(h)
	if r == nil {
		r = w.relays.put(h, w.relayWorth(end))
		r.first, r.epoch = s.Start.UnixMicro(), end/w.epochLen
	}
	ep := end / w.epochLen
	r.roll(ep)
	r.last = max(r.last, end)
	port := s.Resp.Port()
	switch {
	case port == r.port:
		r.portVotes++
	case r.portVotes == 0:
		r.port, r.portVotes = port, 1
		r.portClients = windowHLL{epoch: ep}
	default:
		r.portVotes--
	}
	if !served(s) {
		return // unanswered: a scan, not a client the host served
	}
	if port == r.port {
		r.portClients.add(ep, hashAddr(c))
	}
	r.cur.answered++
	r.clients.add(ep, hashAddr(c))
	if s.Service == "socks" || s.Service == "http-proxy" {
		r.cur.socks++
	}
	if r.npeers < uint8(len(r.peers)) {
		r.peers[r.npeers] = c
		r.npeers++
	}
	in := legOf(s, c)
	in.port = port
	// The outbound leg usually ends first and is already here.
	for i := range r.outs {
		o := &r.outs[i]
		if o.used && !o.matched && w.legsMatch(&in, o, 0) {
			o.matched, in.matched = true, true
			w.relayMatched(r, &in, o, ep)
			break
		}
	}
	shift := int64(60e6)
	for i := range r.outs {
		if o := &r.outs[i]; o.used && w.legsMatch(&in, o, shift) {
			r.cur.shifted++
			break
		}
	}
	if !in.matched {
		r.ins[r.inHead%legRing] = in
		r.inHead++
	}
}

// relayOut offers an outbound session to dst of an inside host to its
// relay state r.
func (w *Watch) relayOut(r *relayState, s *flow.Session, dst addrKey) {
	out := legOf(s, dst)
	ep := out.end / w.epochLen
	r.roll(ep)
	for i := range r.ins {
		in := &r.ins[i]
		if in.used && !in.matched && w.legsMatch(in, &out, 0) {
			in.matched, out.matched = true, true
			w.relayMatched(r, in, &out, ep)
			break
		}
	}
	r.outs[r.outHead%legRing] = out
	r.outHead++
}

func (w *Watch) relayMatched(r *relayState, in, out *leg, ep int64) {
	r.cur.matched++
	r.dests.add(ep, out.peer)
	if r.matchFirst == 0 || in.start < r.matchFirst {
		r.matchFirst = in.start
	}
	r.matchLast = max(r.matchLast, in.end)
}

// legsMatch reports whether out looks like the relayed continuation of in
// (with out's times moved shift µs later, to measure chance matches): it
// starts a moment after in starts, ends before in ends, goes elsewhere,
// and carries in's bytes less the proxy protocol's overhead.
func (w *Watch) legsMatch(in, out *leg, shift int64) bool {
	if in.peer == out.peer {
		return false
	}
	cfg := &w.cfg.Relay
	tol := cfg.StartTolerance.Microseconds()
	os, oe := out.start+shift, out.end+shift
	ratio := cfg.ByteRatio
	if in.sampled || out.sampled {
		// Sampled sessions start and end at their first and last sampled
		// packet: only containment in time can be asked for.
		ratio = cfg.SampledRatio
		stol := tol + max(5e6, in.end-in.start)
		if os < in.start-stol || oe > in.end+stol {
			return false
		}
	} else {
		d := os - in.start
		if d < -tol || d > cfg.MaxDelay.Microseconds()+tol || oe > in.end+tol {
			return false
		}
	}
	if in.sampled || out.sampled {
		// Each direction of each leg is sampled on its own: compare the
		// directions seen on both legs, at least one.
		n := 0
		for _, d := range [2][2]uint64{{in.ob, out.ob}, {in.rb, out.rb}} {
			if d[0] == 0 || d[1] == 0 {
				continue
			}
			if !near(d[0], d[1], cfg.ByteSlack, ratio) {
				return false
			}
			n++
		}
		return n > 0
	}
	return near(in.ob, out.ob, cfg.ByteSlack, ratio) && near(in.rb, out.rb, cfg.ByteSlack, ratio)
}

// near reports whether a exceeds b by at most slack plus ratio of the
// larger, or falls short of it by at most ratio of the larger (the
// inbound leg carries the proxy handshake on top).
func near(a, b, slack uint64, ratio float64) bool {
	m := float64(max(a, b))
	if a >= b {
		return float64(a-b) <= float64(slack)+ratio*m
	}
	return float64(b-a) <= ratio*m+float64(slack)/4
}

// relayWorth rates relay candidates for eviction: hosts with matched
// relays or many clients stay.
func (w *Watch) relayWorth(t int64) func(*relayState) float64 {
	ep := t / w.epochLen
	return func(r *relayState) float64 {
		if r.last < t-w.cfg.Window.Microseconds() {
			return -1
		}
		c := r.counts(ep)
		return float64(c.answered) + 10*float64(c.matched) + float64(r.flags)*1e6
	}
}
