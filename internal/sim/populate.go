package sim

import (
	"fmt"

	"github.com/proxywatch/proxywatch"
)

// populate creates every actor of the scenario and schedules its first step.
func (w *world) populate(e *engine) {
	sc := w.sc
	rates := sc.Hosts.Rates
	for i, h := range w.hosts {
		r := newRNG(w.seed, streamID("host", i))
		switch h.cls {
		case clsPC:
			peak := rates.PC * r.lognormal(1, 0.6) / humanMean
			e.add(&human{h: h, r: r, peak: peak}, nextPoisson(r, w.start, peak, diurnal, w.end))
		case clsIoT:
			n := 1 + r.intn(2)
			d := &device{h: h, r: r}
			for j := 0; j < n; j++ {
				d.clouds = append(d.clouds, &w.clouds[r.intn(len(w.clouds))])
			}
			if rates.IoT > 0 {
				d.period = int64(float64(usDay) / rates.IoT * r.lognormal(1, 0.3))
				e.add(d, w.start+r.span(0, d.period))
			}
		case clsRouter:
			e.add(&router{h: h, r: r}, w.start+r.span(0, 3*usHour))
			hr := newRNG(w.seed, streamID("household", i))
			peak := rates.Router * hr.lognormal(1, 0.6) / humanMean
			e.add(&human{h: h, r: hr, peak: peak}, nextPoisson(hr, w.start, peak, diurnal, w.end))
		case clsServer:
			peak := rates.Server * r.lognormal(1, 0.8) / humanMean
			e.add(&server{h: h, r: r, peak: peak, port: 443}, nextPoisson(r, w.start, peak, diurnal, w.end))
		}
		if ch := sc.Network.Churn; h.cls != clsServer && ch.Share > 0 {
			lr := newRNG(w.seed, streamID("lease", i))
			if lr.chance(ch.Share) {
				mean := float64(ch.MeanLease / 1000)
				e.add(&lease{h: h, r: lr, mean: mean}, w.start+int64(lr.exp(mean)))
			}
		}
	}
	w.infect(e)
	w.addLookalikes(e)

	l := sc.Logins
	s := w.buildUsers(newRNG(w.seed, streamID("users", 0)))
	if n := len(s.ssh); n > 0 && l.SSH.PerDay > 0 {
		r := newRNG(w.seed, streamID("ssh-users", 0))
		peak := float64(n) * l.SSH.PerDay / humanMean
		e.add(&sshUsers{s: s, r: r, peak: peak}, nextPoisson(r, w.start, peak, diurnal, w.end))
	}
	if n := len(s.web); n > 0 {
		if l.Web.PerDay > 0 {
			r := newRNG(w.seed, streamID("web-users", 0))
			peak := float64(n) * l.Web.PerDay / humanMean
			e.add(&webUsers{s: s, r: r, peak: peak}, nextPoisson(r, w.start, peak, diurnal, w.end))
		}
		if l.Web.PageViews > 0 {
			r := newRNG(w.seed, streamID("page-views", 0))
			peak := float64(n) * l.Web.PageViews / humanMean
			e.add(&pageViews{s: s, r: r, peak: peak}, nextPoisson(r, w.start, peak, diurnal, w.end))
		}
	}
	span := w.end - w.start
	if bf := l.BruteForce; bf.Enabled {
		t0 := w.start + int64(bf.At*float64(span))
		tr := w.track("bruteforcer", proxywatch.RoleBruteForcer, false, "vps")
		tr.port(22)
		e.add(&brute{s: s, r: newRNG(w.seed, streamID("brute", 0)), end: t0 + int64(bf.Duration/1000), tr: tr}, t0)
	}
	for i, c := range l.Campaigns {
		a := &campaign{id: fmt.Sprintf("%s-%d", c.Service, i+1), cfg: c, s: s, r: newRNG(w.seed, streamID("campaign", i))}
		w.campaigns = append(w.campaigns, a)
		e.add(a, w.start+int64(c.At*float64(span)))
	}
}
