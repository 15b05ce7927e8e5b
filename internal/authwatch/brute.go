package authwatch

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// failure handles a failed attempt or an attempt for an unknown user.
func (w *Watch) failure(ev *proxywatch.Event, ts uint32, svc *service) {
	key := window.AddrKey(ev.Addr)
	st, added := w.ips.Put(key)
	if added {
		st.first = ts
	}
	st.last, st.svc = ts, uint8(svc.idx)
	invalid := ev.Type == proxywatch.EventInvalidUser
	if invalid {
		st.flags |= flagInvalid
	}
	svc.remember(ev)
	w.listed(ev, ts, st)
	counted := st.attempt(ev.Port, ev.Method, ts)
	if counted {
		w.stats.Failures++
		st.fails.Add(ts)
	}
	if w.cfg.BruteForce.Enabled {
		w.brute(ev, ts, svc, st, invalid)
	}
	bit := uint32(1) << svc.idx
	if w.cfg.Campaign.Enabled && (st.counted|st.waiting)&bit == 0 && !w.known.Contains(window.HashAddr(ev.Addr)) {
		w.hold(pending{addr: key, t: ts, svc: uint8(svc.idx), invalid: invalid, user: ev.User, port: ev.Port, src: ev.Source, seq: ev.Seq})
		// hold may confirm (and so evict) other states: look st up again.
		if st, ok := w.ips.Peek(key); ok {
			st.waiting |= bit
		}
	}
	if !invalid && ev.User != "" && w.cfg.Account.Enabled {
		w.account(ev, ts, svc, key)
	}
}

// hold queues a failure until Forgive has passed; a full queue confirms
// its oldest entry early.
func (w *Watch) hold(p pending) {
	if w.pending.full() {
		old, _ := w.pending.peek()
		w.pending.pop()
		w.stats.PendingForced++
		w.confirm(old, w.now)
	}
	w.pending.push(p)
}

// brute checks the per-address thresholds after a failure.
func (w *Watch) brute(ev *proxywatch.Event, ts uint32, svc *service, st *ipState, invalid bool) {
	cfg := w.cfg.BruteForce
	// Which tiers hold is a bit set (at most 64 tiers are checked); the
	// reasons are only spelt out for an alert.
	var tiers uint64
	var span uint32
	for i, t := range cfg.Tiers {
		if i < 64 && st.fails.Within(t.Attempts, dur(t.Window), ts) {
			tiers |= 1 << i
			span = max(span, dur(t.Window))
		}
	}
	volume := tiers != 0
	// Unknown user names alone are weak evidence at an address honest
	// users log in from (a NAT, a carrier's shared address): there only
	// the volume tiers apply.
	names, byNames := 0, false
	if invalid && ev.User != "" && cfg.InvalidUsers > 0 && st.succ == 0 && !w.known.Contains(window.HashAddr(ev.Addr)) {
		names = st.addInvalid(uint8(svc.idx), ev.User, ts, sub(ts, dur(cfg.InvalidWindow)))
		if names >= cfg.InvalidUsers {
			byNames = true
			span = max(span, dur(cfg.InvalidWindow))
		}
	}
	if (!volume && !byNames) || (st.alerted != 0 && ts < st.alerted+dur(cfg.Cooldown)) {
		return
	}
	if ts < st.decided && st.flags2&flagBanned != 0 {
		// Banned by an earlier alert of ours (decide would propose
		// nothing): a new alert would say nothing new. The cooldown
		// restarts; once the ban we proposed ends, the address is
		// alerted and proposed again, and escalates.
		st.alerted = ts
		return
	}
	var reasons []string
	for i, t := range cfg.Tiers {
		if i < 64 && tiers&(1<<i) != 0 {
			reasons = append(reasons, fmt.Sprintf("attempts>=%d/%s", t.Attempts, shortDur(t.Window)))
		}
	}
	if byNames {
		reasons = append(reasons, fmt.Sprintf("invalid-users>=%d/%s", cfg.InvalidUsers, shortDur(cfg.InvalidWindow)))
	}
	if !volume && st.camp != 0 && svc.camp != nil && st.camp == svc.camp.serial {
		return // a participant of the open campaign, decided as one
	}
	st.alerted = ts
	st.flags |= flagBrute
	if volume {
		st.flags |= flagVolume
	}
	start := ts
	for k := st.fails.CountSince(sub(ts, span)); k >= 1; k-- {
		if t, ok := st.fails.Kth(k); ok {
			start = t
			break
		}
	}
	a := proxywatch.Alert{
		Detector: "bruteforce", Severity: proxywatch.SeverityHigh,
		Time: at(ts), Start: at(start), End: at(ts), Service: svc.name,
		Subjects: []proxywatch.Subject{proxywatch.AddrSubject(ev.Addr)},
		Reasons:  reasons,
		Counts:   map[string]int64{"attempts": int64(st.fails.CountSince(sub(ts, span)))},
		Spread:   &proxywatch.Spread{Addrs: 1, Prefixes: 1},
		Sample:   svc.sample(ev.Addr, w.cfg.Sample),
		Summary:  fmt.Sprintf("%s: %d failed attempts from %s", svc.name, st.fails.CountSince(sub(ts, span)), ev.Addr),
	}
	if names > 0 {
		a.Counts["invalid_users"] = int64(names)
	}
	if ev.User != "" {
		a.Users = []string{ev.User}
	}
	w.enrichSpread(a.Spread, ev.Addr)
	w.emitAlert(&a)
	w.decide(st, ev.Addr, proxywatch.ActionBan, "bruteforce", reasons[0], a.ID, proxywatch.KindBruteForce, ts)
}

// success handles an accepted login.
func (w *Watch) success(ev *proxywatch.Event, ts uint32, svc *service) {
	key := window.AddrKey(ev.Addr)
	st, added := w.ips.Put(key)
	if added {
		st.first = ts
	}
	st.last = ts
	w.stats.Successes++
	w.known.Add(window.HashAddr(ev.Addr), int64(ts))
	w.listed(ev, ts, st)
	short := w.shortWindow()
	if n := st.fails.CountSince(sub(ts, short)); n > 0 {
		switch {
		case st.flags&flagBrute != 0:
			w.compromise(ev, ts, svc, st, "success-after-bruteforce", n)
		case n <= w.cfg.BruteForce.ForgiveUpTo:
			st.forgive()
			w.stats.Forgiven++
		}
	}
	st.succ = ts
	if st.camp != 0 && svc.camp != nil && st.camp == svc.camp.serial {
		w.compromise(ev, ts, svc, st, "success-from-participant", 0)
	}
	if ev.User != "" {
		w.origin(ev, ts, svc)
	}
}

// compromise raises a critical alert for a success that follows an
// attack from the same address.
func (w *Watch) compromise(ev *proxywatch.Event, ts uint32, svc *service, st *ipState, reason string, fails int) {
	det := "bruteforce"
	if reason == "success-from-participant" {
		det = "campaign"
	}
	a := proxywatch.Alert{
		Detector: det, Severity: proxywatch.SeverityCritical,
		Time: at(ts), Start: at(st.first), End: at(ts), Service: svc.name,
		Subjects: []proxywatch.Subject{proxywatch.AddrSubject(ev.Addr)},
		Reasons:  []string{reason},
		Counts:   map[string]int64{"successes": 1, "failures": int64(fails)},
		Spread:   &proxywatch.Spread{Addrs: 1, Prefixes: 1},
		Sample:   append(svc.sample(ev.Addr, w.cfg.Sample-1), evidence(ev)),
		Summary:  fmt.Sprintf("%s: %s logged in from %s after an attack from it", svc.name, ev.User, ev.Addr),
	}
	if ev.User != "" {
		a.Users = []string{ev.User}
	}
	w.enrichSpread(a.Spread, ev.Addr)
	if svc.camp != nil && det == "campaign" {
		a.Labels = map[string]string{"campaign": svc.camp.id}
		svc.camp.successes++
	}
	w.emitAlert(&a)
}

// listed alerts on an attempt from an address the verdict table lists.
func (w *Watch) listed(ev *proxywatch.Event, ts uint32, st *ipState) {
	cfg := w.cfg.Listed
	if !cfg.Enabled || w.deps.Listed == nil || (st.listedAt != 0 && ts < st.listedAt+dur(cfg.Cooldown)) {
		return
	}
	l, ok := w.deps.Listed(ev.Addr)
	if !ok || l.Confidence < cfg.MinConfidence {
		return
	}
	st.listedAt = ts
	sev, what := proxywatch.SeverityMedium, "failed login"
	if ev.Type == proxywatch.EventLoginSuccess {
		sev, what = proxywatch.SeverityCritical, "successful login"
	}
	a := proxywatch.Alert{
		Detector: "listed_login", Severity: sev, Time: at(ts), Start: at(ts), End: at(ts), Service: ev.Service,
		Subjects: []proxywatch.Subject{proxywatch.AddrSubject(ev.Addr)},
		Reasons:  []string{"listed:" + l.Kind.String(), ev.Type.String()},
		Counts:   map[string]int64{"confidence": int64(l.Confidence)},
		Spread:   &proxywatch.Spread{Addrs: 1, Prefixes: 1},
		Sample:   []string{evidence(ev)},
		Labels:   map[string]string{"feed": l.Feed, "kind": l.Kind.String()},
		Summary:  fmt.Sprintf("%s from %s, listed as %s by %s", what, ev.Addr, l.Kind, l.Feed),
	}
	if ev.User != "" {
		a.Users = []string{ev.User}
	}
	w.enrichSpread(a.Spread, ev.Addr)
	w.emitAlert(&a)
	if cfg.Decide && ev.Type != proxywatch.EventLoginSuccess {
		w.decide(st, ev.Addr, proxywatch.ActionChallenge, "listed_login", "listed:"+l.Kind.String(), a.ID, l.Kind, ts)
	}
}

// decide proposes a decision for addr unless one as strong is still live
// for it.
func (w *Watch) decide(st *ipState, addr netip.Addr, action proxywatch.Action, detector, reason, alertID string, kind proxywatch.Kind, ts uint32) {
	if st != nil && ts < st.decided && (action == proxywatch.ActionChallenge || st.flags2&flagBanned != 0) {
		return
	}
	d := w.propose(addr, action, detector, reason, alertID, kind, ts)
	if st != nil {
		st.decided = secs(d.Expires)
		if d.Action == proxywatch.ActionBan {
			st.flags2 |= flagBanned
		} else {
			st.flags2 &^= flagBanned
		}
	}
}

// shortWindow returns the first brute-force tier's window in seconds (10
// minutes by default): how far back a success forgives failures.
func (w *Watch) shortWindow() uint32 {
	if t := w.cfg.BruteForce.Tiers; len(t) > 0 {
		return dur(t[0].Window)
	}
	return 600
}

// sub returns a-b, or 0.
func sub(a, b uint32) uint32 {
	if a < b {
		return 0
	}
	return a - b
}

// shortDur formats d compactly: "10m", "6h", "90s".
func shortDur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
