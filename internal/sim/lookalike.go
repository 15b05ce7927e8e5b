package sim

import (
	"fmt"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// Honest hosts that resemble bad ones. Each is a benign-lookalike in the
// truth, with the role it resembles, so a scorer can say which detectors
// they fool.

// periodic is a host calling one outside server on a regular schedule:
// an NTP client, an update check, a monitoring agent.
type periodic struct {
	h      *host
	r      *rng
	srv    netip.Addr
	port   uint16
	proto  uint8
	svc    string
	period int64
	jitter float64
	tr     *track
	srvTr  *track
}

func (a *periodic) act(e *engine) int64 {
	var c conn
	if a.proto == 17 {
		udpConn(&c, e.now, a.h.addr, 123, a.srv, a.port, int64(a.r.lognormal(25e3, 0.3)), 1, 1, 48, 48, a.svc)
	} else {
		tcpSF(&c, a.r, e.now, a.h.addr, ephemeral(a.r), a.srv, a.port, int64(a.r.lognormal(400e3, 0.4)),
			uint64(a.r.lognormal(900, 0.3)), uint64(a.r.lognormal(1400, 0.4)), a.svc)
	}
	c.label = lLookalike
	e.emit(&c, toAll)
	a.tr.touch(a.h.addr, e.now)
	a.tr.peer(a.srv)
	a.srvTr.touch(a.srv, e.now)
	return e.now + a.r.jitter(a.period, a.jitter)
}

// lookalike returns the truth track of an honest host resembling role.
func (w *world) lookalike(id string, inside bool, class string, role proxywatch.Role) *track {
	tr := w.track(id, proxywatch.RoleBenignLookalike, inside, class)
	tr.h.Resembles = role
	return tr
}

// addLookalikes picks the honest look-alike hosts and schedules them.
func (w *world) addLookalikes(e *engine) {
	l := w.sc.Lookalikes
	r := newRNG(w.seed, streamID("lookalikes", 0))
	taken := make(map[*host]bool)
	pick := func(cls hostClass) *host {
		hs := w.byClass[cls]
		for i := 0; i < 100 && len(hs) > 0; i++ {
			h := hs[r.intn(len(hs))]
			if !taken[h] && h.bot == nil {
				taken[h] = true
				return h
			}
		}
		return nil
	}
	n := 0
	sched := func(a actor, period int64) {
		n++
		e.add(a, w.start+r.span(0, period))
	}
	for i := 0; i < l.NTP; i++ {
		h := pick(clsIoT)
		if h == nil {
			break
		}
		srv := i % len(w.ntp)
		a := &periodic{h: h, r: newRNG(w.seed, streamID("ntp", i)), srv: w.ntp[srv], port: 123, proto: 17,
			svc: "ntp", period: (64 << r.intn(5)) * usSecond, jitter: 0.01,
			tr:    w.lookalike(h.name, true, classNames[h.cls], proxywatch.RoleBot),
			srvTr: w.lookalike(fmt.Sprintf("ntp-%d", srv+1), false, "ntp-server", proxywatch.RoleCollector)}
		sched(a, a.period)
	}
	for i := 0; i < l.Update; i++ {
		h := pick(clsPC)
		if h == nil {
			break
		}
		a := &periodic{h: h, r: newRNG(w.seed, streamID("update", i)), srv: w.update, port: 443, proto: 6,
			svc: "ssl", period: usHour, jitter: 0.05,
			tr:    w.lookalike(h.name, true, classNames[h.cls], proxywatch.RoleBot),
			srvTr: w.lookalike("update-server", false, "update-server", proxywatch.RoleC2)}
		sched(a, a.period)
	}
	for i := 0; i < l.Monitor; i++ {
		h := pick(clsServer)
		if h == nil {
			h = pick(clsPC)
		}
		if h == nil {
			break
		}
		a := &periodic{h: h, r: newRNG(w.seed, streamID("monitor", i)), srv: w.monitor, port: 8086, proto: 6,
			period: usMinute, jitter: 0.02,
			tr:    w.lookalike(h.name, true, classNames[h.cls], proxywatch.RoleBot),
			srvTr: w.lookalike("monitor-saas", false, "monitoring", proxywatch.RoleC2)}
		sched(a, a.period)
	}
	for i := 0; i < l.HomeServer; i++ {
		h := pick(clsPC)
		if h == nil {
			break
		}
		tr := w.lookalike(h.name, true, classNames[h.cls], proxywatch.RoleExposedProxy)
		tr.port(8080)
		rr := newRNG(w.seed, streamID("homeserver", i))
		e.add(&homeServer{server: server{h: h, r: rr, peak: 600 / humanMean, port: 8080}, tr: tr},
			nextPoisson(rr, w.start, 600/humanMean, diurnal, w.end))
	}
	for i := 0; i < l.VPN; i++ {
		h := pick(clsPC)
		if h == nil {
			break
		}
		rr := newRNG(w.seed, streamID("vpn", i))
		e.add(newVPNTunnel(w, h, i%len(w.vpn), rr), nextWorkStart(rr, w.start))
	}
}

// homeServer is a residential host serving many outside clients on a
// proxy-like port.
type homeServer struct {
	server
	tr *track
}

func (a *homeServer) act(e *engine) int64 {
	a.tr.touch(a.h.addr, e.now)
	return a.server.act(e)
}
