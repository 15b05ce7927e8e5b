package authwatch

import (
	"fmt"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// origin checks a success against the account's history: an ASN or
// country new for the account right after failures, and impossible
// travel (a success from another country too soon after the last one).
// It needs enrichment; without it, it only keeps the account's counts.
func (w *Watch) origin(ev *proxywatch.Event, ts uint32, svc *service) {
	cfg := w.cfg.Origin
	u, _ := w.users.Put(userKey{svc: uint8(svc.idx), name: ev.User})
	defer func() {
		u.successes++
		u.lastOK, u.lastAddr = ts, window.AddrKey(ev.Addr)
	}()
	if !cfg.Enabled || w.deps.Enrich == nil {
		return
	}
	info := w.deps.Enrich(ev.Addr)
	var cc [2]byte
	copy(cc[:], info.Country)
	o := origin{asn: info.ASN, cc: cc}
	var reasons []string
	if u.successes > 0 && (info.ASN != 0 || info.Country != "") {
		fails := u.fails.CountSince(sub(ts, dur(cfg.FailureWindow)))
		if fails >= cfg.AfterFailures {
			if info.ASN != 0 && !u.knowsASN(info.ASN) {
				reasons = append(reasons, "new-asn")
			}
			if info.Country != "" && !u.knowsCountry(cc) {
				reasons = append(reasons, "new-country")
			}
			if len(reasons) > 0 {
				reasons = append(reasons, fmt.Sprintf("after-failures>=%d/%s", cfg.AfterFailures, shortDur(cfg.FailureWindow)))
				w.originAlert(ev, ts, svc, "new_origin_login", reasons, int64(fails))
			}
		}
		if info.Country != "" && u.lastCC != [2]byte{} && u.lastCC != cc && u.lastAddr != window.AddrKey(ev.Addr) &&
			ts < u.lastOK+dur(cfg.TravelWindow) {
			prev := string(u.lastCC[:])
			w.originAlert(ev, ts, svc, "impossible_travel",
				[]string{"countries:" + prev + "->" + info.Country, fmt.Sprintf("within<%s", shortDur(cfg.TravelWindow))}, 0)
		}
	}
	if info.Country != "" {
		u.lastCC = cc
	}
	u.learn(o)
}

func (w *Watch) originAlert(ev *proxywatch.Event, ts uint32, svc *service, detector string, reasons []string, fails int64) {
	a := proxywatch.Alert{
		Detector: detector, Severity: proxywatch.SeverityHigh, Time: at(ts), Start: at(ts), End: at(ts), Service: svc.name,
		Subjects: []proxywatch.Subject{proxywatch.AddrSubject(ev.Addr)}, Users: []string{ev.User},
		Reasons: reasons, Counts: map[string]int64{"failures": fails, "successes": 1},
		Spread:  &proxywatch.Spread{Addrs: 1, Prefixes: 1},
		Sample:  append(svc.sampleUser(ev.User, w.cfg.Sample-1), evidence(ev)),
		Summary: fmt.Sprintf("%s: %q logged in from %s (%s)", svc.name, ev.User, ev.Addr, reasons[0]),
	}
	w.enrichSpread(a.Spread, ev.Addr)
	w.emitAlert(&a)
}
