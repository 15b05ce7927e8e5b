package sim

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// bot is an infected inside device.
type bot struct {
	h              *host
	n              int
	infect, clean  int64
	c2             int   // index of the pinned C2 server
	pinUntil       int64 // when the bot moves to another server
	port           uint16
	perDay         float64 // relayed sessions a day
	bc             int     // backconnect server (nsocks)
	tun            *tunnel // the nsocks tunnel
	trBot, trRelay *track
	trExposed      *track
	trBC           *track
}

func (b *bot) active(t int64) bool { return t >= b.infect && t < b.clean }

// infect chooses the bots and schedules their actors.
func (w *world) infect(e *engine) {
	bn := w.sc.Botnet
	if bn.Kind == "none" {
		return
	}
	r := newRNG(w.seed, streamID("infect", 0))
	nr := int(math.Round(float64(bn.Bots) * bn.RouterShare))
	nr = min(nr, len(w.byClass[clsRouter]))
	ni := min(bn.Bots-nr, len(w.byClass[clsIoT]))
	var chosen []*host
	for _, pick := range []struct {
		hosts []*host
		n     int
	}{{w.byClass[clsRouter], nr}, {w.byClass[clsIoT], ni}} {
		perm := make([]int, len(pick.hosts))
		for i := range perm {
			perm[i] = i
		}
		for i := 0; i < pick.n; i++ {
			j := i + r.intn(len(perm)-i)
			perm[i], perm[j] = perm[j], perm[i]
			chosen = append(chosen, pick.hosts[perm[i]])
		}
	}
	span := w.end - w.start
	for i, h := range chosen {
		b := &bot{h: h, n: i + 1, clean: w.end + usDay}
		h.bot = b
		b.infect = w.start
		if !r.chance(bn.Initial) {
			b.infect = w.start + int64(r.float()*0.9*float64(span))
		}
		if r.chance(bn.Cleaned) {
			b.clean = b.infect + int64(r.float()*float64(w.end-b.infect))
		}
		b.c2 = r.intn(len(w.c2))
		b.pinUntil = b.infect + r.span(int64(bn.C2.Pin[0]/1000), int64(bn.C2.Pin[1]/1000))
		b.port = uint16(r.between(10000, 60000))
		lo, hi := math.Log(max(bn.Relay.PerDay[0], 0.1)), math.Log(max(bn.Relay.PerDay[1], 0.1))
		b.perDay = math.Exp(lo + r.float()*(hi-lo))
		if bn.Relay.PerDay[1] == 0 {
			b.perDay = 0
		}
		b.bc = r.intn(max(len(w.bc), 1))
		cls := classNames[h.cls]
		b.trBot = w.track(h.name, proxywatch.RoleBot, true, cls)
		b.trBot.port(bn.C2.Port)
		w.bots = append(w.bots, b)
		e.add(&beacon{b: b, r: newRNG(w.seed, streamID("beacon", i))}, b.infect+r.span(0, int64(bn.C2.Beacon/1000)))
		if bn.Collector.Enabled {
			e.add(&report{b: b, r: newRNG(w.seed, streamID("report", i))},
				b.infect+r.span(0, int64(bn.Collector.Interval/1000)))
		}
		switch bn.Kind {
		case "5socks":
			b.trRelay = w.track(h.name, proxywatch.RoleRelay, true, cls)
			b.trExposed = w.track(h.name, proxywatch.RoleExposedProxy, true, cls)
			b.trRelay.port(b.port)
			b.trExposed.port(b.port)
			rr := newRNG(w.seed, streamID("relay", i))
			e.add(&relay{b: b, r: rr}, nextPoisson(rr, b.infect, b.perDay/0.8, worldwide, w.end))
		case "nsocks":
			b.trBC = w.track(h.name, proxywatch.RoleBackconnectBot, true, cls)
			b.trBC.port(bn.Backconnect.Port)
			tr := newRNG(w.seed, streamID("tunnel", i))
			b.tun = newBotTunnel(w, b, tr)
			e.add(b.tun, b.infect+r.span(usSecond, 10*usMinute))
		}
	}
}

func (w *world) c2Track(i int) *track {
	tr := w.track(fmt.Sprintf("c2-%d", i+1), proxywatch.RoleC2, false, "c2")
	tr.port(w.sc.Botnet.C2.Port)
	return tr
}

// beacon is a bot's periodic check-in with its pinned C2 server.
type beacon struct {
	b *bot
	r *rng
}

func (a *beacon) act(e *engine) int64 {
	b, w := a.b, e.w
	if e.now >= b.clean {
		return never
	}
	cfg := w.sc.Botnet.C2
	if e.now >= b.pinUntil && len(w.c2) > 1 {
		b.c2 = (b.c2 + 1 + a.r.intn(len(w.c2)-1)) % len(w.c2)
		b.pinUntil = e.now + a.r.span(int64(cfg.Pin[0]/1000), int64(cfg.Pin[1]/1000))
	}
	srv := w.c2[b.c2]
	var c conn
	tcpSF(&c, a.r, e.now, b.h.addr, ephemeral(a.r), srv, cfg.Port, int64(a.r.lognormal(700e3, 0.5)),
		uint64(a.r.lognormal(180, 0.25)), uint64(a.r.lognormal(110, 0.4)), "")
	c.label, c.srcRole, c.dstRole = lBeacon, proxywatch.RoleBot, proxywatch.RoleC2
	e.emit(&c, toAll)
	b.trBot.touch(b.h.addr, e.now)
	b.trBot.peer(srv)
	w.c2Track(b.c2).touch(srv, e.now)
	return e.now + a.r.jitter(int64(cfg.Beacon/1000), cfg.Jitter)
}

// report is a bot's small, one-way UDP datagram to the collector.
type report struct {
	b *bot
	r *rng
}

func (a *report) act(e *engine) int64 {
	b, w := a.b, e.w
	if e.now >= b.clean {
		return never
	}
	cfg := w.sc.Botnet.Collector
	var c conn
	n := uint64(a.r.between(cfg.Bytes[0], cfg.Bytes[1]))
	udpConn(&c, e.now, b.h.addr, ephemeral(a.r), w.coll, cfg.Port, 0, 1, 0, n, 0, "")
	c.label, c.srcRole, c.dstRole = lCollector, proxywatch.RoleBot, proxywatch.RoleCollector
	e.emit(&c, toAll)
	b.trBot.touch(b.h.addr, e.now)
	b.trBot.peer(w.coll)
	tr := w.track("collector", proxywatch.RoleCollector, false, "collector")
	tr.port(cfg.Port)
	tr.touch(w.coll, e.now)
	return e.now + a.r.jitter(int64(cfg.Interval/1000), cfg.Jitter)
}

// SOCKS5 handshake bytes a relay adds to the customer's side: greeting
// and CONNECT request from the client, method choice and reply back.
const (
	socksUp   = 3 + 10
	socksDown = 2 + 10
)

// relayPair emits one relayed session through bot b: the customer's
// inbound session to the bot's proxy port and, a short delay later, the
// bot's outbound session to dst. It returns the outbound leg's start and
// source port.
func relayPair(e *engine, r *rng, b *bot, customer, dst netip.Addr, dport uint16, svc string,
	dur int64, ob, rb uint64, failed bool, lbl label) (int64, uint16) {
	cfg := e.w.sc.Botnet.Relay
	delay := r.span(int64(cfg.Delay[0]/1000), int64(cfg.Delay[1]/1000))
	t0 := e.now
	var in, out conn
	if failed {
		tcpFailed(&out, r, t0+delay, b.h.addr, ephemeral(r), dst, dport, r.chance(0.5))
		tcpSF(&in, r, t0, customer, ephemeral(r), b.h.addr, b.port, delay+out.Duration+int64(r.lognormal(30e3, 0.5)),
			socksUp, socksDown, "socks")
	} else {
		tcpSF(&out, r, t0+delay, b.h.addr, ephemeral(r), dst, dport, dur, ob, rb, svc)
		tcpSF(&in, r, t0, customer, ephemeral(r), b.h.addr, b.port, delay+dur+int64(r.lognormal(15e3, 0.5)),
			ob+socksUp, rb+socksDown, "socks")
		in.OrigPkts += 2
		in.RespPkts += 2
		h := ipHeader(customer, 6)
		in.OrigIPBytes += 2 * h
		in.RespIPBytes += 2 * h
	}
	in.label, in.dstRole = lblIn(lbl), proxywatch.RoleRelay
	out.label, out.srcRole = lbl, proxywatch.RoleRelay
	e.emit(&in, toAll)
	e.emit(&out, toAll)
	b.trRelay.touch(b.h.addr, t0)
	b.trExposed.touch(b.h.addr, t0)
	return t0 + delay, out.OrigPort
}

// relayVia relays one session through b: through its listening port
// (5socks) or through its backconnect tunnel (nsocks), where only the
// bot's outbound leg shows and the bytes ride in the tunnel. It returns
// the outbound leg's start and source port.
func relayVia(e *engine, r *rng, b *bot, customer, dst netip.Addr, dport uint16, svc string,
	dur int64, ob, rb uint64, lbl label) (int64, uint16) {
	if b.trRelay != nil {
		return relayPair(e, r, b, customer, dst, dport, svc, dur, ob, rb, false, lbl)
	}
	delay := r.span(int64(e.w.sc.Botnet.Relay.Delay[0]/1000), int64(e.w.sc.Botnet.Relay.Delay[1]/1000))
	var out conn
	tcpSF(&out, r, e.now+delay, b.h.addr, ephemeral(r), dst, dport, dur, ob, rb, svc)
	out.label, out.srcRole = lbl, proxywatch.RoleBackconnectBot
	e.emit(&out, toAll)
	if b.tun != nil && b.tun.open {
		b.tun.add(e.now, e.now+delay+dur, rb+40, ob+40, rb/1400+3, ob/1400+3)
	}
	if b.trBC != nil {
		b.trBC.touch(b.h.addr, e.now)
	}
	return e.now + delay, out.OrigPort
}

func lblIn(l label) label {
	if l == lRelayOut {
		return lRelayIn
	}
	return l
}

// relay is the proxy customers' use of one 5socks bot.
type relay struct {
	b *bot
	r *rng
}

func (a *relay) act(e *engine) int64 {
	b, w, r := a.b, e.w, a.r
	if e.now >= b.clean {
		return never
	}
	cust := w.custs[r.zipf(len(w.custs), 0.9)]
	s := &w.sites[r.zipf(len(w.sites), 0.8)]
	port, svc := s.port, s.svc
	if s.proto != 6 {
		port, svc = 443, "ssl"
	}
	dur := clampDur(r.lognormal(4e6, 1.3), 50e3, 3*usHour)
	relayPair(e, r, b, cust, s.addr4, port, svc, dur, uint64(r.lognormal(1500, 1.0))+80,
		uint64(r.lognormal(s.resp, 1.3))+200, r.chance(w.sc.Botnet.Relay.Failed), lRelayOut)
	return nextPoisson(r, e.now, b.perDay/0.8, worldwide, min(e.end, b.clean))
}
