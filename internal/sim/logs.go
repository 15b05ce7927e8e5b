package sim

import (
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/sim/authlog"
)

// The login services' host names, as their logs name them.
const (
	sshHostname = "bastion"
	webHostname = "shop"
	webOrigin   = "https://shop.example"
)

type logKind uint8

const (
	logSSH logKind = iota
	logWeb
	logAccess
)

// logItem is one line for one of the login logs, queued until its time.
type logItem struct {
	t    int64
	kind logKind
	prog string
	pid  int
	msg  string
	web  authlog.WebEvent
	acc  authlog.AccessEntry
}

func (e *engine) sshLine(t int64, prog string, pid int, msg string) {
	if e.out.ssh == nil {
		return
	}
	e.lq.push(t, &logItem{t: t, kind: logSSH, prog: prog, pid: pid, msg: msg})
}

func (e *engine) webEvent(t int64, user string, src netip.Addr, port uint16, ok bool, reason, ua string) {
	if e.out.web == nil {
		return
	}
	outcome := authlog.OutcomeFailure
	if ok {
		outcome = authlog.OutcomeSuccess
	}
	e.lq.push(t, &logItem{kind: logWeb, web: authlog.WebEvent{
		Time: time.UnixMicro(t).UTC(), Service: "web", Host: webHostname, Event: "login", User: user,
		SrcIP: src, SrcPort: port, Outcome: outcome, Reason: reason, Method: "form", UserAgent: ua}})
}

func (e *engine) access(t int64, src netip.Addr, method, path string, status, size int, ref, ua string) {
	if e.out.access == nil {
		return
	}
	e.lq.push(t, &logItem{kind: logAccess, acc: authlog.AccessEntry{Time: t, Addr: src, Method: method,
		Path: path, Status: status, Size: size, Referer: ref, UserAgent: ua}})
}

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
}

// Tools replaying leaked credentials rotate a few spoofed browser strings.
var stuffingUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"python-requests/2.31.0",
}

var pages = []struct {
	path string
	size float64
}{{"/", 18e3}, {"/products", 32e3}, {"/products/%d", 24e3}, {"/cart", 9e3}, {"/static/app.css", 41e3},
	{"/static/app.js", 120e3}, {"/images/p%d.jpg", 80e3}, {"/help", 12e3}, {"/search?q=shoes", 28e3}}
