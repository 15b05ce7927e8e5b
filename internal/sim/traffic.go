package sim

import (
	"math"
	"net/netip"
)

// Hourly activity of people, relative to the evening peak (UTC is the
// inside network's local time).
var humanHours = [24]float64{0.35, 0.22, 0.15, 0.12, 0.10, 0.12, 0.22, 0.40, 0.55, 0.62, 0.65, 0.68,
	0.72, 0.70, 0.68, 0.68, 0.72, 0.80, 0.90, 0.97, 1.0, 0.95, 0.78, 0.55}

// humanMean is the mean of humanHours: a rate of n a day peaks at n/humanMean.
const humanMean = 0.5875

// diurnal returns the human activity at t in [0, 1], interpolated between
// hours, a little higher in the daytime at weekends.
func diurnal(t int64) float64 {
	day := t / usDay
	x := float64(t%usDay) / float64(usHour)
	h := int(x)
	f := x - float64(h)
	v := humanHours[h]*(1-f) + humanHours[(h+1)%24]*f
	// 1970-01-01 was a Thursday: days 2 and 3 of the week are Saturday and Sunday.
	if wd := (day + 3) % 7; (wd == 5 || wd == 6) && h >= 9 && h < 18 {
		v = math.Min(1, v*1.15)
	}
	return v
}

// worldwide returns the activity of a customer base spread over time zones.
func worldwide(t int64) float64 { return 0.55 + 0.45*diurnal(t-7*usHour) }

// nextPoisson returns the next event time after t of a Poisson process
// whose rate (per day, at peak) is thinned by shape, or never after end.
func nextPoisson(r *rng, t int64, peakPerDay float64, shape func(int64) float64, end int64) int64 {
	if peakPerDay <= 0 {
		return never
	}
	mean := float64(usDay) / peakPerDay
	for {
		t += int64(r.exp(mean)) + 1
		if t >= end {
			return never
		}
		if shape == nil || r.float() < shape(t) {
			return t
		}
	}
}

// ephemeral returns a Linux ephemeral port.
func ephemeral(r *rng) uint16 { return uint16(32768 + r.intn(28232)) }

var histories = []string{"ShADadFf", "ShADadfF", "ShADdaFf", "ShAdDaFf", "ShADadFRf"}

func ipHeader(a netip.Addr, proto uint8) uint64 {
	h := uint64(20)
	if a.Is6() {
		h = 40
	}
	if proto == 6 {
		return h + 32 // TCP with timestamps
	}
	return h + 8
}

// tcpSF fills c as a completed TCP session.
func tcpSF(c *conn, r *rng, t int64, orig netip.Addr, oport uint16, resp netip.Addr, rport uint16,
	dur int64, ob, rb uint64, svc string) {
	if dur < 1000 {
		dur = 1000
	}
	od, rd := (ob+1447)/1448, (rb+1447)/1448
	c.TS, c.Orig, c.OrigPort, c.Resp, c.RespPort = t, orig, oport, resp, rport
	c.Proto, c.Service, c.Duration = 6, svc, dur
	c.OrigBytes, c.RespBytes = ob, rb
	c.State, c.History = "SF", histories[r.intn(len(histories)-1)]
	c.OrigPkts = od + rd/2 + 3
	c.RespPkts = rd + od/2 + 2
	h := ipHeader(orig, 6)
	c.OrigIPBytes = ob + c.OrigPkts*h
	c.RespIPBytes = rb + c.RespPkts*h
}

// tcpFailed fills c as a connection attempt that got no answer (S0) or a
// reset (REJ).
func tcpFailed(c *conn, r *rng, t int64, orig netip.Addr, oport uint16, resp netip.Addr, rport uint16, rej bool) {
	c.TS, c.Orig, c.OrigPort, c.Resp, c.RespPort = t, orig, oport, resp, rport
	c.Proto, c.Service = 6, ""
	c.OrigBytes, c.RespBytes = 0, 0
	h := ipHeader(orig, 6)
	if rej {
		c.State, c.History = "REJ", "Sr"
		c.Duration = int64(r.lognormal(40e3, 0.5)) + 1
		c.OrigPkts, c.RespPkts = 1, 1
		c.OrigIPBytes, c.RespIPBytes = h+8, h-12
		return
	}
	c.State, c.History = "S0", "S"
	c.OrigPkts = uint64(1 + r.intn(3))
	c.Duration = 0
	if c.OrigPkts > 1 {
		c.Duration = int64(c.OrigPkts-1) * 2 * usSecond
	}
	c.RespPkts = 0
	c.OrigIPBytes, c.RespIPBytes = c.OrigPkts*(h+8), 0
}

// udpConn fills c as a UDP exchange; with no response packets it is a
// one-way S0 flow.
func udpConn(c *conn, t int64, orig netip.Addr, oport uint16, resp netip.Addr, rport uint16,
	dur int64, opkts, rpkts, ob, rb uint64, svc string) {
	c.TS, c.Orig, c.OrigPort, c.Resp, c.RespPort = t, orig, oport, resp, rport
	c.Proto, c.Service = 17, svc
	c.Duration = dur
	if opkts+rpkts <= 1 {
		c.Duration = 0
	}
	c.OrigBytes, c.RespBytes = ob, rb
	c.OrigPkts, c.RespPkts = opkts, rpkts
	h := ipHeader(orig, 17)
	c.OrigIPBytes, c.RespIPBytes = ob+opkts*h, rb+rpkts*h
	if rpkts > 0 {
		c.State, c.History = "SF", "Dd"
	} else {
		c.State, c.History = "S0", "D"
	}
}

func clampDur(d float64, lo, hi int64) int64 {
	v := int64(d)
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// browse emits one session from a person at src (v6 optional) to a site.
func browse(e *engine, r *rng, src, src6 netip.Addr, s *site, lbl label) {
	var c conn
	c.label = lbl
	orig, resp := src, s.addr4
	if src6.IsValid() && s.addr6.IsValid() && r.chance(0.6) {
		orig, resp = src6, s.addr6
	}
	t := e.now
	if r.chance(0.01) {
		tcpFailed(&c, r, t, orig, ephemeral(r), resp, s.port, r.chance(0.3))
		e.emit(&c, toAll)
		return
	}
	dur := clampDur(r.lognormal(3e6, 1.4), 20e3, 2*usHour)
	ob := uint64(r.lognormal(1200, 1.0)) + 100
	rb := uint64(r.lognormal(s.resp, 1.2)) + 200
	if s.proto == 17 {
		op, rp := ob/1200+2, rb/1200+2
		udpConn(&c, t, orig, ephemeral(r), resp, s.port, dur, op, rp, ob, rb, s.svc)
	} else {
		tcpSF(&c, r, t, orig, ephemeral(r), resp, s.port, dur, ob, rb, s.svc)
	}
	e.emit(&c, toAll)
}

// human is the traffic of the people behind a line: phones and PCs.
type human struct {
	h    *host
	r    *rng
	peak float64 // sessions a day at peak
}

func (a *human) act(e *engine) int64 {
	s := &e.w.sites[a.r.zipf(len(e.w.sites), 1.1)]
	browse(e, a.r, a.h.addr, a.h.v6, s, lBenign)
	return nextPoisson(a.r, e.now, a.peak, diurnal, e.end)
}

// device is an IoT device's periodic calls home to its vendor's cloud.
type device struct {
	h      *host
	r      *rng
	period int64
	clouds []*site
}

func (a *device) act(e *engine) int64 {
	s := a.clouds[a.r.intn(len(a.clouds))]
	var c conn
	if s.proto == 17 {
		udpConn(&c, e.now, a.h.addr, ephemeral(a.r), s.addr4, s.port, int64(a.r.lognormal(80e3, 0.4)),
			1, 1, uint64(a.r.lognormal(90, 0.3)), uint64(a.r.lognormal(60, 0.3)), "")
	} else {
		tcpSF(&c, a.r, e.now, a.h.addr, ephemeral(a.r), s.addr4, s.port, int64(a.r.lognormal(600e3, 0.6)),
			uint64(a.r.lognormal(450, 0.5)), uint64(a.r.lognormal(s.resp, 0.5)), s.svc)
	}
	e.emit(&c, toAll)
	return e.now + a.r.jitter(a.period, 0.08)
}

// router is an end-of-life home router's own traffic: time sync now and
// then and a daily firmware check.
type router struct {
	h *host
	r *rng
}

func (a *router) act(e *engine) int64 {
	var c conn
	if a.r.chance(0.9) {
		srv := e.w.ntp[a.r.intn(len(e.w.ntp))]
		udpConn(&c, e.now, a.h.addr, 123, srv, 123, int64(a.r.lognormal(30e3, 0.4)), 1, 1, 48, 48, "ntp")
	} else {
		s := &e.w.clouds[a.h.idx%len(e.w.clouds)]
		tcpSF(&c, a.r, e.now, a.h.addr, ephemeral(a.r), s.addr4, 443, int64(a.r.lognormal(900e3, 0.5)),
			uint64(a.r.lognormal(500, 0.3)), uint64(a.r.lognormal(2500, 0.5)), "ssl")
	}
	e.emit(&c, toAll)
	return e.now + int64(a.r.exp(float64(3*usHour)))
}

// server answers outside clients.
type server struct {
	h    *host
	r    *rng
	peak float64
	port uint16
}

func (a *server) act(e *engine) int64 {
	t := netResidential
	if x := a.r.float(); x < 0.25 {
		t = netMobile
	} else if x < 0.4 {
		t = netCorporate
	}
	client := randomIn(a.r, e.w.pickNet(a.r, t))
	var c conn
	tcpSF(&c, a.r, e.now, client, ephemeral(a.r), a.h.addr, a.port, clampDur(a.r.lognormal(1.5e6, 1.2), 10e3, usHour),
		uint64(a.r.lognormal(700, 0.8)), uint64(a.r.lognormal(25e3, 1.4)), "ssl")
	e.emit(&c, toAll)
	return nextPoisson(a.r, e.now, a.peak, diurnal, e.end)
}

// lease changes a churning host's address from time to time.
type lease struct {
	h    *host
	r    *rng
	mean float64
}

func (a *lease) act(e *engine) int64 {
	e.w.newLease(a.r, a.h)
	return e.now + int64(a.r.exp(a.mean))
}
