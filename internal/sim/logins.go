package sim

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/sim/authlog"
)

// user is an honest account holder of one of the services.
type user struct {
	name     string
	uid      int
	home     netip.Addr // outside home line; invalid when homeHost is set
	homeHost *host      // inside home line
	mobile   netip.Addr
	office   int // index into world.offices, or -1
	password bool
	ua       string
	key      string
	newSrc   int // new sources used so far
}

var firstNames = []string{"anna", "ben", "carla", "david", "elena", "felix", "greta", "hugo", "irene", "jonas",
	"karin", "lukas", "maria", "nico", "olga", "paul", "rosa", "stefan", "tina", "uwe", "vera", "wim",
	"yara", "zoe", "ahmed", "bianca", "chen", "diego", "emma", "farid", "hana", "ivan", "jana", "kofi"}

var lastNames = []string{"meyer", "schmidt", "garcia", "rossi", "dubois", "novak", "kowalski", "silva",
	"jansen", "nielsen", "petrov", "yilmaz", "tanaka", "kim", "nguyen", "smith", "brown", "wagner", "weber",
	"fischer", "horvat", "popescu", "ivanova", "costa", "martin", "bauer", "koch", "richter", "klein"}

// userName returns a plausible user name not in taken, and adds it there.
// The plain forms run out after a few thousand names; then a number is
// appended, which never runs out.
func userName(r *rng, taken map[string]bool) string {
	for try := 0; ; try++ {
		f, l := firstNames[r.intn(len(firstNames))], lastNames[r.intn(len(lastNames))]
		var s string
		switch r.intn(4) {
		case 0:
			s = f + "." + l
		case 1:
			s = f[:1] + l
		case 2:
			s = fmt.Sprintf("%s%d", f, 10+r.intn(90))
		default:
			s = f + "_" + l
		}
		if try >= 8 {
			s = fmt.Sprintf("%s%d", s, 100+r.intn(9900))
		}
		if !taken[s] {
			taken[s] = true
			return s
		}
	}
}

// mistype returns name with one character dropped, doubled or swapped.
func mistype(r *rng, name string) string {
	if len(name) < 3 {
		return name + "x"
	}
	i := 1 + r.intn(len(name)-2)
	switch r.intn(3) {
	case 0:
		return name[:i] + name[i+1:]
	case 1:
		return name[:i] + name[i:i+1] + name[i:]
	default:
		return name[:i-1] + name[i:i+1] + name[i-1:i] + name[i+1:]
	}
}

// services holds the honest users and shared login state.
type services struct {
	ssh, web []*user
	sshNames map[string]bool
	webNames map[string]bool
	offices  []netip.Addr
	pid      int
	session  int
}

func (w *world) buildUsers(r *rng) *services {
	l := w.sc.Logins
	s := &services{sshNames: map[string]bool{}, webNames: map[string]bool{}, pid: 900 + r.intn(400), session: 1}
	for i := 0; i < w.sc.Lookalikes.OfficeNAT; i++ {
		s.offices = append(s.offices, w.freshOutside(r, netCorporate))
	}
	mk := func(cfg LoginService, names map[string]bool) *user {
		u := &user{name: userName(r, names), office: -1, ua: browserUAs[r.intn(len(browserUAs))]}
		if len(w.hosts) > 0 && r.chance(cfg.Inside) {
			u.homeHost = w.hosts[r.intn(len(w.hosts))]
			if u.homeHost.cls == clsServer || u.homeHost.cls == clsIoT {
				u.homeHost = nil
			}
		}
		if u.homeHost == nil {
			u.home = w.freshOutside(r, netResidential)
		}
		u.mobile = randomIn(r, w.pickNet(r, netMobile))
		if len(s.offices) > 0 && r.chance(0.25) {
			u.office = r.intn(len(s.offices))
		}
		u.password = r.chance(cfg.Password)
		u.key = fmt.Sprintf("ED25519 SHA256:%s", keyFingerprint(r))
		return u
	}
	for i := 0; i < l.SSH.Users; i++ {
		u := mk(l.SSH, s.sshNames)
		u.name = strings.SplitN(strings.SplitN(u.name, ".", 2)[0], "_", 2)[0]
		s.sshNames[u.name] = true
		u.uid = 1001 + i
		s.ssh = append(s.ssh, u)
	}
	for i := 0; i < l.Web.Users; i++ {
		s.web = append(s.web, mk(l.Web, s.webNames))
	}
	return s
}

func keyFingerprint(r *rng) string {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b [43]byte
	for i := range b {
		b[i] = b64[r.intn(64)]
	}
	return string(b[:])
}

// inCampaign reports whether a campaign runs at t.
func (w *world) inCampaign(t int64) bool {
	for _, c := range w.sc.Logins.Campaigns {
		s := w.start + int64(c.At*float64(w.end-w.start))
		if t >= s && t < s+int64(c.Duration/1000) {
			return true
		}
	}
	return false
}

// source returns where u logs in from at t.
func (w *world) source(e *engine, r *rng, s *services, u *user) netip.Addr {
	t := e.now
	if w.inCampaign(t) && r.chance(w.sc.Logins.NewSources) {
		// A new phone, a hotel: a source never seen before for this user.
		a := w.freshOutside(r, []netType{netResidential, netMobile}[r.intn(2)])
		u.newSrc++
		tr := w.lookalike(fmt.Sprintf("newsrc-%s-%d", u.name, u.newSrc), false, "residential", proxywatch.RoleCampaign)
		tr.touch(a, t)
		return a
	}
	if u.office >= 0 && workHours(t) && r.chance(0.8) {
		a := s.offices[u.office]
		w.lookalike(fmt.Sprintf("office-%d", u.office+1), false, "office-nat", proxywatch.RoleBruteForcer).touch(a, t)
		return a
	}
	if u.homeHost != nil {
		return u.homeHost.addr
	}
	if r.chance(0.25) {
		return u.mobile
	}
	return u.home
}

func (s *services) nextPID(r *rng) int {
	s.pid += 1 + r.intn(9)
	if s.pid > 4194000 {
		s.pid = 1000
	}
	return s.pid
}

// loginFlow emits the session of an inside client to a login service.
func loginFlow(e *engine, r *rng, src netip.Addr, port uint16, dst netip.Addr, dport uint16, svc string,
	t, dur int64, ob, rb uint64, lbl label) {
	if !isInside(src) {
		return
	}
	var c conn
	tcpSF(&c, r, t, src, port, dst, dport, dur, ob, rb, svc)
	c.label = lbl
	e.emit(&c, toAll)
}

// sshUsers is the honest users' ssh logins.
type sshUsers struct {
	s    *services
	r    *rng
	peak float64
}

func (a *sshUsers) act(e *engine) int64 {
	r, s := a.r, a.s
	u := s.ssh[r.intn(len(s.ssh))]
	src := e.w.source(e, r, s, u)
	cfg := e.w.sc.Logins.SSH
	t := e.now
	if r.chance(cfg.WrongUser) {
		pid, port := s.nextPID(r), ephemeral(r)
		bad := mistype(r, u.name)
		t += r.span(80e3, 300e3)
		e.sshLine(t, "sshd", pid, authlog.InvalidUser(bad, src, port))
		if u.password {
			t += r.span(2e6, 6e6)
			e.sshLine(t, "sshd", pid, authlog.PAMUserUnknown())
			e.sshLine(t, "sshd", pid, authlog.PAMAuthFailure(src, ""))
			e.sshLine(t+r.span(1e6, 2e6), "sshd", pid, authlog.FailedPassword(bad, true, src, port))
			t += 2e6
		}
		t += r.span(500e3, 3e6)
		e.sshLine(t, "sshd", pid, authlog.ClosedPreauth(bad, true, src, port))
		loginFlow(e, r, src, port, sshAddr, 22, "ssh", e.now, t-e.now+1000, 2100, 2600, lLogin)
		t += r.span(3e6, 15e6)
	}
	pid, port := s.nextPID(r), ephemeral(r)
	t0 := t
	t += r.span(100e3, 400e3)
	if u.password {
		if r.chance(cfg.Typo) {
			t += r.span(2e6, 5e6)
			e.sshLine(t, "sshd", pid, authlog.PAMAuthFailure(src, u.name))
			e.sshLine(t+r.span(1e6, 2e6), "sshd", pid, authlog.FailedPassword(u.name, false, src, port))
			t += r.span(4e6, 9e6)
		} else {
			t += r.span(2e6, 5e6)
		}
		e.sshLine(t, "sshd", pid, authlog.Accepted("password", u.name, src, port, ""))
	} else {
		e.sshLine(t, "sshd", pid, authlog.Accepted("publickey", u.name, src, port, u.key))
	}
	sess := s.session
	s.session++
	e.sshLine(t, "sshd", pid, authlog.SessionOpened(u.name, u.uid))
	e.sshLine(t+r.span(5e3, 40e3), "systemd-logind", 412, authlog.NewSession(sess, u.name))
	end := t + clampDur(r.lognormal(15*60e6, 1.0), 5e6, 8*usHour)
	e.sshLine(end, "sshd", pid, authlog.ReceivedDisconnect(src, port))
	e.sshLine(end, "sshd", pid, authlog.Disconnected(u.name, src, port))
	e.sshLine(end, "sshd", pid, authlog.SessionClosed(u.name))
	e.sshLine(end, "systemd-logind", 412, authlog.SessionLoggedOut(sess))
	e.sshLine(end, "systemd-logind", 412, authlog.RemovedSession(sess))
	loginFlow(e, r, src, port, sshAddr, 22, "ssh", t0, end-t0, uint64(r.lognormal(40e3, 1.2)),
		uint64(r.lognormal(200e3, 1.4)), lLogin)
	return nextPoisson(r, e.now, a.peak, diurnal, e.end)
}

// webUsers is the honest users' visits with a login.
type webUsers struct {
	s    *services
	r    *rng
	peak float64
}

func (a *webUsers) act(e *engine) int64 {
	r, s := a.r, a.s
	u := s.web[r.intn(len(s.web))]
	src := e.w.source(e, r, s, u)
	cfg := e.w.sc.Logins.Web
	port := ephemeral(r)
	t := e.now + r.span(50e3, 300e3)
	t0 := t
	e.access(t, src, "GET", "/login", 200, 5200+r.intn(200), webOrigin+"/", u.ua)
	t += r.span(4e6, 20e6)
	switch {
	case r.chance(cfg.WrongUser):
		e.access(t, src, "POST", "/login", 200, 5350+r.intn(100), webOrigin+"/login", u.ua)
		e.webEvent(t, mistype(r, u.name), src, port, false, "unknown_user", u.ua)
		t += r.span(5e6, 20e6)
	case r.chance(cfg.Typo):
		e.access(t, src, "POST", "/login", 200, 5350+r.intn(100), webOrigin+"/login", u.ua)
		e.webEvent(t, u.name, src, port, false, "bad_password", u.ua)
		t += r.span(4e6, 15e6)
	}
	e.access(t, src, "POST", "/login", 302, 0, webOrigin+"/login", u.ua)
	e.webEvent(t, u.name, src, port, true, "", u.ua)
	t += r.span(200e3, 900e3)
	e.access(t, src, "GET", "/account", 200, 14000+r.intn(3000), webOrigin+"/login", u.ua)
	loginFlow(e, r, src, port, webAddr, 443, "ssl", t0, t-t0+r.span(1e6, 30e6), uint64(r.lognormal(6e3, 0.4)),
		uint64(r.lognormal(60e3, 0.8)), lLogin)
	return nextPoisson(r, e.now, a.peak, diurnal, e.end)
}

// pageViews is the rest of the web traffic, for the access log.
type pageViews struct {
	s    *services
	r    *rng
	peak float64
}

func (a *pageViews) act(e *engine) int64 {
	r, s := a.r, a.s
	var src netip.Addr
	ua := browserUAs[r.intn(len(browserUAs))]
	if len(s.web) > 0 && r.chance(0.6) {
		u := s.web[r.intn(len(s.web))]
		src, ua = u.home, u.ua
		if u.homeHost != nil {
			src = u.homeHost.addr
		}
	} else {
		src = randomIn(r, e.w.pickNet(r, []netType{netResidential, netMobile}[r.intn(2)]))
	}
	t := e.now
	n := 1 + r.intn(5)
	var total uint64
	for i := 0; i < n; i++ {
		p := pages[r.intn(len(pages))]
		path := p.path
		if strings.Contains(path, "%d") {
			path = fmt.Sprintf(path, 1+r.intn(400))
		}
		status, size := 200, int(r.lognormal(p.size, 0.3))
		if r.chance(0.08) {
			status, size = 304, 0
		} else if r.chance(0.01) {
			status, size = 404, 153
		}
		e.access(t, src, "GET", path, status, size, webOrigin+"/", ua)
		total += uint64(size)
		t += r.span(50e3, 8e6)
	}
	loginFlow(e, r, src, ephemeral(r), webAddr, 443, "ssl", e.now, t-e.now+1e6, 2000+uint64(n)*600, total+4000, lBenign)
	return nextPoisson(r, e.now, a.peak, diurnal, e.end)
}
