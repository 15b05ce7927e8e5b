package sim

import (
	"fmt"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// tunnel is a long-lived session that carries other traffic: an nsocks
// bot's connection to its backconnect server, or a VPN client's tunnel.
// It is generated as it goes: the Zeek record is written when the tunnel
// closes, and the flow exporter gets the chunks a router's cache would cut
// at its active and idle timeouts.
type tunnel struct {
	h      *host
	b      *bot // nil for a VPN client
	r      *rng
	proto  uint8
	srv    netip.Addr
	dport  uint16
	svc    string
	keep   int64
	perDay float64 // carried sessions a day, at peak
	shape  func(int64) float64
	tr     *track
	srvTr  *track
	lbl    label

	open      bool
	sport     uint16
	t0, tEnd  int64
	lastAct   int64
	nextPiece int64
	nextKeep  int64
	activeUS  int64
	idleUS    int64
	tot       chunk // the whole tunnel, for Zeek
	ch        chunk // the flow-cache entry, for the exporter
}

type chunk struct {
	active      bool
	first, last int64
	ob, rb      uint64 // payload bytes, orig (client) and resp (server) side
	op, rp      uint64
	n           int // chunks cut so far (for TCP flags)
}

func newBotTunnel(w *world, b *bot, r *rng) *tunnel {
	cfg := w.sc.Botnet.Backconnect
	t := &tunnel{h: b.h, b: b, r: r, proto: 6, dport: cfg.Port, svc: "ssl", keep: int64(cfg.Keepalive / 1000),
		perDay: b.perDay / 0.8, shape: worldwide, tr: b.trBC, lbl: lTunnel}
	if cfg.Port != 443 {
		t.svc = ""
	}
	return t
}

func newVPNTunnel(w *world, h *host, srv int, r *rng) *tunnel {
	t := &tunnel{h: h, r: r, proto: 17, srv: w.vpn[srv], dport: 51820, keep: 25 * usSecond,
		perDay: 300, shape: diurnal, lbl: lLookalike}
	t.tr = w.track(h.name, proxywatch.RoleBenignLookalike, true, classNames[h.cls])
	t.tr.h.Resembles = proxywatch.RoleBackconnectBot
	t.srvTr = w.track(fmt.Sprintf("vpn-%d", srv+1), proxywatch.RoleBenignLookalike, false, "vpn-server")
	t.srvTr.h.Resembles = proxywatch.RoleBackconnectC2
	t.srvTr.port(51820)
	return t
}

func (t *tunnel) serverTrack(w *world) *track {
	if t.srvTr != nil {
		return t.srvTr
	}
	tr := w.track(fmt.Sprintf("bc-%d", t.b.bc+1), proxywatch.RoleBackconnectC2, false, "backconnect")
	tr.port(t.dport)
	return tr
}

func (t *tunnel) act(e *engine) int64 {
	now := e.now
	if !t.open {
		if t.b != nil && now >= t.b.clean {
			return never
		}
		if t.b == nil && !workHours(now) {
			return nextWorkStart(t.r, now)
		}
		t.openAt(e)
		return t.wake()
	}
	if t.ch.active && (now >= t.ch.first+e.activeUS || now >= t.ch.last+e.idleUS) {
		t.cut(e, now)
	}
	if now >= t.tEnd || (t.b != nil && now >= t.b.clean) {
		t.closeAt(e)
		if t.b == nil {
			return nextWorkStart(t.r, now+usHour)
		}
		if now >= t.b.clean {
			return never
		}
		if t.r.chance(0.2) && len(e.w.bc) > 1 {
			t.b.bc = (t.b.bc + 1) % len(e.w.bc)
		}
		return now + t.r.span(usSecond, usMinute)
	}
	if now >= t.nextPiece {
		t.piece(e)
		t.nextPiece = nextPoisson(t.r, now, t.perDay, t.shape, e.end)
		if t.nextPiece < 0 {
			t.nextPiece = t.tEnd
		}
	}
	if now >= t.nextKeep {
		t.add(now, now, 32, 32, 1, 1)
	}
	t.nextKeep = t.lastAct + t.keep
	return t.wake()
}

// wake returns the next time something happens to the open tunnel.
func (t *tunnel) wake() int64 {
	w := min(t.nextPiece, t.nextKeep, t.tEnd)
	if t.ch.active {
		w = min(w, t.ch.first+t.activeUS, t.ch.last+t.idleUS)
	}
	return w
}

func (t *tunnel) openAt(e *engine) {
	now := e.now
	t.open = true
	t.sport = ephemeral(t.r)
	if t.b != nil {
		t.srv = e.w.bc[t.b.bc]
		cfg := e.w.sc.Botnet.Backconnect
		t.tEnd = now + t.r.span(int64(cfg.Session[0]/1000), int64(cfg.Session[1]/1000))
	} else {
		t.tEnd = now + t.r.span(7*usHour, 10*usHour)
	}
	t.activeUS, t.idleUS = e.activeUS, e.idleUS
	t.t0, t.lastAct = now, now
	t.tot, t.ch = chunk{}, chunk{}
	t.add(now, now+int64(t.r.lognormal(60e3, 0.4)), 600, 3200, 4, 4)
	t.nextPiece = nextPoisson(t.r, now, t.perDay, t.shape, e.end)
	if t.nextPiece < 0 {
		t.nextPiece = t.tEnd
	}
	t.nextKeep = t.lastAct + t.keep
	t.touch(e, now)
}

func (t *tunnel) touch(e *engine, now int64) {
	t.tr.touch(t.h.addr, now)
	t.tr.peer(t.srv)
	t.serverTrack(e.w).touch(t.srv, now)
}

// add records traffic between first and last on both chunks.
func (t *tunnel) add(first, last int64, ob, rb, op, rp uint64) {
	for _, c := range []*chunk{&t.tot, &t.ch} {
		if !c.active {
			c.active, c.first, c.last = true, first, last
		}
		c.last = max(c.last, last)
		c.ob += ob
		c.rb += rb
		c.op += op
		c.rp += rp
	}
	t.lastAct = max(t.lastAct, last)
}

// piece is one carried session: for a bot, a relayed connection that also
// appears as the bot's own outbound session; for a VPN, a burst of the
// user's traffic.
func (t *tunnel) piece(e *engine) {
	now, r := e.now, t.r
	if t.b == nil {
		dur := clampDur(r.lognormal(20e6, 1.2), usSecond, 30*usMinute)
		ob, rb := uint64(r.lognormal(20e3, 1.2)), uint64(r.lognormal(250e3, 1.5))
		t.add(now, now+dur, ob+ob/20, rb+rb/20, ob/1200+2, rb/1200+2)
		t.touch(e, now)
		return
	}
	w := e.w
	s := &w.sites[r.zipf(len(w.sites), 0.8)]
	port, svc := s.port, s.svc
	if s.proto != 6 {
		port, svc = 443, "ssl"
	}
	delay := r.span(int64(w.sc.Botnet.Relay.Delay[0]/1000), int64(w.sc.Botnet.Relay.Delay[1]/1000))
	dur := clampDur(r.lognormal(4e6, 1.3), 50e3, usHour)
	ob, rb := uint64(r.lognormal(1500, 1.0))+80, uint64(r.lognormal(s.resp, 1.3))+200
	var out conn
	tcpSF(&out, r, now+delay, t.h.addr, ephemeral(r), s.addr4, port, dur, ob, rb, svc)
	out.label, out.srcRole = lTunnel, proxywatch.RoleBackconnectBot
	e.emit(&out, toAll)
	// The customer's request reaches the bot from the server (the tunnel's
	// responder side); the answer goes back up (the originator side).
	t.add(now, now+delay+dur, rb+40, ob+40, rb/1400+3, ob/1400+3)
	t.touch(e, now)
}

// cut exports the flow-cache entry as one chunk at time now.
func (t *tunnel) cut(e *engine, now int64) {
	ch := &t.ch
	last := min(ch.last, now)
	var c conn
	c.TS, c.Orig, c.OrigPort, c.Resp, c.RespPort = ch.first, t.h.addr, t.sport, t.srv, t.dport
	c.Proto, c.Duration = t.proto, last-ch.first
	h := ipHeader(t.h.addr, t.proto)
	c.OrigPkts, c.RespPkts = ch.op, ch.rp
	c.OrigIPBytes, c.RespIPBytes = ch.ob+ch.op*h, ch.rb+ch.rp*h
	c.State = "SF"
	c.chunk, c.exportAt = true, now
	c.flags = fACK | fPSH
	if t.tot.n == 0 {
		c.flags |= fSYN
	}
	if !t.open || now >= t.tEnd {
		c.flags |= fFIN
	}
	t.tot.n++
	e.emit(&c, toMeter)
	*ch = chunk{}
}

// closeAt ends the tunnel: the last chunk and the Zeek record.
func (t *tunnel) closeAt(e *engine) {
	now := e.now
	t.add(now, now, 1, 1, 2, 2)
	t.open = false
	t.cut(e, now)
	var c conn
	tot := &t.tot
	c.TS, c.Orig, c.OrigPort, c.Resp, c.RespPort = t.t0, t.h.addr, t.sport, t.srv, t.dport
	c.Proto, c.Service, c.Duration = t.proto, t.svc, max(now-t.t0, 1)
	c.OrigBytes, c.RespBytes = tot.ob, tot.rb
	c.OrigPkts, c.RespPkts = tot.op+2, tot.rp+1
	h := ipHeader(t.h.addr, t.proto)
	c.OrigIPBytes, c.RespIPBytes = tot.ob+c.OrigPkts*h, tot.rb+c.RespPkts*h
	if t.proto == 6 {
		c.State, c.History = "SF", "ShADadFf"
	} else {
		c.State, c.History = "SF", "Dd"
	}
	c.label = t.lbl
	if t.b != nil {
		c.srcRole, c.dstRole = proxywatch.RoleBackconnectBot, proxywatch.RoleBackconnectC2
	}
	e.emit(&c, toZeek|toLabels)
	t.touch(e, now)
}

// workHours reports whether t is within a weekday's working hours.
func workHours(t int64) bool {
	wd := (t/usDay + 3) % 7
	h := (t % usDay) / usHour
	return wd < 5 && h >= 8 && h < 18
}

// nextWorkStart returns the start of the next working day's session.
func nextWorkStart(r *rng, t int64) int64 {
	day := t / usDay
	for i := int64(0); i < 8; i++ {
		d := day + i
		if (d+3)%7 >= 5 {
			continue
		}
		s := d*usDay + 8*usHour + r.span(0, 90*usMinute)
		if s > t {
			return s
		}
	}
	return t + usDay
}
