package authwatch

import (
	"fmt"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// account tracks the addresses failing for one account, and alerts when
// too many fail within the window: a distributed attack on it. Addresses
// that logged in successfully before (the owner's) are left out.
func (w *Watch) account(ev *proxywatch.Event, ts uint32, svc *service, key [16]byte) {
	cfg := w.cfg.Account
	u, _ := w.users.Put(userKey{svc: uint8(svc.idx), name: ev.User})
	u.fails.Add(ts)
	if w.known.Contains(window.HashAddr(ev.Addr)) {
		return
	}
	u.failing.Add(key, ts)
	win := dur(cfg.Window)
	since := sub(ts, win)
	if u.alerted != 0 && ts < u.alerted+win {
		// Still under attack: decide on each new address at once.
		st, _ := w.ips.Peek(key)
		w.decide(st, ev.Addr, proxywatch.ActionChallenge, "account_spray", "account-targeted", u.alertID, proxywatch.KindUnknown, ts)
		return
	}
	n := u.failing.Count(since)
	if n < cfg.Sources {
		return
	}
	keys := u.failing.AppendSince(nil, since)
	subjects := make([]proxywatch.Subject, 0, len(keys))
	spread := newSpreadCounter()
	for _, k := range keys {
		a := window.KeyAddr(k)
		subjects = append(subjects, proxywatch.AddrSubject(a))
		spread.add(w, a)
	}
	al := proxywatch.Alert{
		Detector: "account_spray", Severity: proxywatch.SeverityHigh,
		Time: at(ts), Start: at(since), End: at(ts), Service: svc.name,
		Subjects: subjects, Users: []string{ev.User},
		Reasons: []string{fmt.Sprintf("sources>=%d/%s", cfg.Sources, shortDur(cfg.Window))},
		Counts:  map[string]int64{"sources": int64(n), "failures": int64(u.fails.CountSince(since))},
		Spread:  spread.spread(),
		Sample:  svc.sampleUser(ev.User, w.cfg.Sample),
		Summary: fmt.Sprintf("%s: account %q failed from %d addresses within %s", svc.name, ev.User, n, shortDur(cfg.Window)),
	}
	w.emitAlert(&al)
	u.alerted, u.alertID = ts, al.ID
	for _, k := range keys {
		a := window.KeyAddr(k)
		st, _ := w.ips.Peek(k)
		w.decide(st, a, proxywatch.ActionChallenge, "account_spray", "account-targeted", al.ID, proxywatch.KindUnknown, ts)
	}
}

// targeted reports whether the account user of svc has failed from at
// least n addresses within the campaign window.
func (w *Watch) targeted(svc int, user string, n int, ts uint32) bool {
	if user == "" {
		return false
	}
	u, ok := w.users.Peek(userKey{svc: uint8(svc), name: user})
	return ok && u.failing.Count(sub(ts, dur(w.cfg.Campaign.Window))) >= n
}
