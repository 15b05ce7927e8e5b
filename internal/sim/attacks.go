package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/sim/authlog"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// User names password guessers try against ssh.
var guessNames = []string{"root", "admin", "test", "user", "ubuntu", "oracle", "postgres", "git", "pi",
	"ftpuser", "support", "guest", "deploy", "jenkins", "hadoop", "minecraft", "debian", "centos",
	"ec2-user", "mysql", "www", "ansible", "dev", "backup", "nagios", "tomcat", "steam", "zabbix",
	"administrator", "user1", "test1", "operator", "sysadmin", "docker", "elastic", "ftp", "service"}

// sshGuess logs one connection's password guesses for user from src and
// returns when the connection ended. exists says whether the user exists.
func sshGuess(e *engine, r *rng, s *services, src netip.Addr, port uint16, t int64, user string,
	exists bool, guesses int) int64 {
	pid := s.nextPID(r)
	invalid := !exists
	t += r.span(100e3, 600e3)
	if invalid {
		e.sshLine(t, "sshd", pid, authlog.InvalidUser(user, src, port))
	}
	for i := 0; i < guesses; i++ {
		t += r.span(300e3, 2500e3)
		if i == 0 {
			if invalid {
				e.sshLine(t, "sshd", pid, authlog.PAMUserUnknown())
				e.sshLine(t, "sshd", pid, authlog.PAMAuthFailure(src, ""))
			} else {
				e.sshLine(t, "sshd", pid, authlog.PAMAuthFailure(src, user))
			}
		}
		t += r.span(1e6, 2500e3)
		e.sshLine(t, "sshd", pid, authlog.FailedPassword(user, invalid, src, port))
	}
	t += r.span(50e3, 500e3)
	pamUser := user
	if invalid {
		pamUser = ""
	}
	switch {
	case guesses >= 6:
		e.sshLine(t, "sshd", pid, authlog.MaxAuthExceeded(user, invalid, src, port))
		e.sshLine(t, "sshd", pid, authlog.TooManyFailures(user, invalid, src, port))
	case r.chance(0.5):
		e.sshLine(t, "sshd", pid, authlog.ReceivedDisconnectPreauth(src, port))
		e.sshLine(t, "sshd", pid, authlog.DisconnectedPreauth(user, invalid, src, port))
	default:
		e.sshLine(t, "sshd", pid, authlog.ClosedPreauth(user, invalid, src, port))
	}
	if guesses > 1 {
		e.sshLine(t, "sshd", pid, authlog.PAMMoreFailures(guesses-1, src, pamUser))
	}
	return t
}

// brute is the single-source password guesser.
type brute struct {
	s   *services
	r   *rng
	end int64
	tr  *track
}

func (a *brute) act(e *engine) int64 {
	if e.now >= a.end {
		return never
	}
	r, cfg := a.r, e.w.sc.Logins.BruteForce
	user := "root"
	if !r.chance(0.5) {
		user = guessNames[r.intn(len(guessNames))]
	}
	exists := user == "root" || a.s.sshNames[user]
	g := r.between(cfg.Guesses[0], cfg.Guesses[1])
	end := sshGuess(e, r, a.s, bruteAddr, ephemeral(r), e.now, user, exists, g)
	for i := 0; i < g; i++ {
		a.tr.touch(bruteAddr, e.now+int64(i))
	}
	return end + r.span(int64(cfg.Gap[0]/1000), int64(cfg.Gap[1]/1000))
}

// attempt is one planned login attempt of a campaign.
type attempt struct {
	t    int64
	b    *bot
	exit netip.Addr
	tr   *track
}

// campaign is a credential-stuffing (web) or password-spraying (ssh)
// attack relayed through proxies, each address trying once or twice.
type campaign struct {
	id        string
	cfg       Campaign
	s         *services
	r         *rng
	plan      []attempt
	next      int
	accounts  []string
	known     map[string]bool
	acct      int
	attackers []netip.Addr
	sum       *truth.Campaign
	addrs     map[netip.Addr]bool
	tried     map[string]bool
}

func (a *campaign) act(e *engine) int64 {
	if a.plan == nil {
		a.build(e)
		if len(a.plan) == 0 {
			return never
		}
		return a.plan[0].t
	}
	at := a.plan[a.next]
	a.next++
	a.try(e, &at)
	if a.next >= len(a.plan) {
		return never
	}
	return a.plan[a.next].t
}

// build plans the campaign at its start: who takes part and when.
func (a *campaign) build(e *engine) {
	w, r := e.w, a.r
	t0, dur := e.now, int64(a.cfg.Duration/1000)
	var active []*bot
	for _, b := range w.bots {
		if b.active(t0) && b.active(t0+dur/2) {
			active = append(active, b)
		}
	}
	nOut := int(float64(a.cfg.Participants)*a.cfg.OutsideShare + 0.5)
	nIn := min(a.cfg.Participants-nOut, len(active))
	for i := 0; i < nIn; i++ {
		j := i + r.intn(len(active)-i)
		active[i], active[j] = active[j], active[i]
	}
	add := func(b *bot, exit netip.Addr, tr *track) {
		k := r.between(a.cfg.Attempts[0], a.cfg.Attempts[1])
		last := int64(-1)
		for i := 0; i < k; i++ {
			t := t0 + r.span(0, dur)
			if last >= 0 && t-last < 10*usMinute {
				t = min(last+10*usMinute+r.span(0, usHour), t0+dur+usHour)
			}
			last = t
			a.plan = append(a.plan, attempt{t: t, b: b, exit: exit, tr: tr})
		}
	}
	for _, b := range active[:nIn] {
		add(b, netip.Addr{}, w.campaignTrack(b.h.name, proxywatch.RoleCampaign, true, classNames[b.h.cls], a.id))
	}
	for i := 0; i < nOut; i++ {
		exit := w.freshOutside(r, []netType{netResidential, netResidential, netMobile}[r.intn(3)])
		add(nil, exit, w.campaignTrack(fmt.Sprintf("exit-%s-%04d", a.id, i+1), proxywatch.RoleCampaign, false, "proxy-exit", a.id))
	}
	slices.SortStableFunc(a.plan, func(x, y attempt) int {
		switch {
		case x.t < y.t:
			return -1
		case x.t > y.t:
			return 1
		}
		return 0
	})
	for i := 0; i < 3; i++ {
		a.attackers = append(a.attackers, w.freshOutside(r, netHosting))
	}
	// The attacker's list: real accounts mixed with names from other breaches.
	a.known = map[string]bool{}
	taken := map[string]bool{}
	if a.cfg.Service == "web" {
		for _, u := range a.s.web {
			taken[u.name] = true
		}
	}
	for i := 0; i < a.cfg.Accounts; i++ {
		switch {
		case a.cfg.Service == "web" && len(a.s.web) > 0 && r.chance(a.cfg.Known):
			n := a.s.web[r.intn(len(a.s.web))].name
			a.accounts = append(a.accounts, n)
			a.known[n] = true
		case a.cfg.Service == "web":
			a.accounts = append(a.accounts, userName(r, taken))
		case i < len(guessNames):
			a.accounts = append(a.accounts, guessNames[i])
			a.known[guessNames[i]] = guessNames[i] == "root" || a.s.sshNames[guessNames[i]]
		default:
			a.accounts = append(a.accounts, userName(r, taken))
		}
	}
	a.sum = &truth.Campaign{ID: a.id, Service: a.cfg.Service}
	a.addrs, a.tried = map[netip.Addr]bool{}, map[string]bool{}
}

func (a *campaign) try(e *engine, at *attempt) {
	r, w := a.r, e.w
	src, t := at.exit, e.now
	port := ephemeral(r)
	dst, dport, svc := webAddr, uint16(443), "ssl"
	if a.cfg.Service == "ssh" {
		dst, dport, svc = sshAddr, 22, "ssh"
	}
	if at.b != nil {
		if !at.b.active(t) {
			return
		}
		src = at.b.h.addr
		start, sport := relayVia(e, r, at.b, a.attackers[r.intn(len(a.attackers))], dst, dport, svc,
			int64(r.lognormal(3e6, 0.5)), uint64(r.lognormal(2500, 0.3)), uint64(r.lognormal(9000, 0.3)), lAttack)
		t, port = start, sport
	}
	user := a.accounts[a.acct%len(a.accounts)]
	a.acct++
	ok := false
	if a.cfg.Service == "ssh" {
		sshGuess(e, r, a.s, src, port, t, user, a.known[user], 1)
	} else {
		ua := stuffingUAs[r.intn(len(stuffingUAs))]
		t += r.span(150e3, 900e3)
		e.access(t, src, "GET", "/login", 200, 5200+r.intn(200), "", ua)
		t += r.span(300e3, 2e6)
		ok = a.known[user] && r.chance(a.cfg.Success)
		reason := "unknown_user"
		if a.known[user] {
			reason = "bad_password"
		}
		if ok {
			reason = ""
			e.access(t, src, "POST", "/login", 302, 0, webOrigin+"/login", ua)
		} else {
			e.access(t, src, "POST", "/login", 200, 5350+r.intn(100), webOrigin+"/login", ua)
		}
		e.webEvent(t, user, src, port, ok, reason, ua)
	}
	at.tr.touch(src, t)
	s := a.sum
	if s.Attempts == 0 {
		s.Start = time.UnixMicro(t).UTC()
	}
	s.End = time.UnixMicro(t).UTC()
	s.Attempts++
	if ok {
		s.Successes++
	}
	if !a.addrs[src] {
		a.addrs[src] = true
		s.Participants++
	}
	if !a.tried[user] {
		a.tried[user] = true
		s.Accounts++
	}
	_ = w
}
