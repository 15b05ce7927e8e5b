package logparse

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// AccessConfig configures the web access log parser.
type AccessConfig struct {
	// Service is the events' Service.
	Service string `yaml:"service"`
	// Rules say which requests are logins; they are tried in order, before
	// the presets, and the first that matches decides.
	Rules []Rule `yaml:"rules"`
	// Presets names built-in rule sets tried after Rules, in order:
	// "wordpress", "login" and "basic-auth" (see docs/logs.md).
	Presets []string `yaml:"presets"`
}

// DefaultAccessConfig returns the access parser's defaults: every preset.
func DefaultAccessConfig() AccessConfig {
	return AccessConfig{Service: "http", Presets: []string{PresetWordPress, PresetLogin, PresetBasicAuth}}
}

// Validate reports every problem in c.
func (c AccessConfig) Validate() error {
	var errs []error
	if c.Service == "" {
		errs = append(errs, errors.New("service: must not be empty"))
	}
	for i, r := range c.Rules {
		if _, err := r.compile(); err != nil {
			errs = append(errs, fmt.Errorf("rules[%d]: %w", i, err))
		}
	}
	for i, name := range c.Presets {
		if _, ok := presets[name]; !ok {
			errs = append(errs, fmt.Errorf("presets[%d] %q: must be one of wordpress, login, basic-auth", i, name))
		}
	}
	if len(c.Rules) == 0 && len(c.Presets) == 0 {
		errs = append(errs, errors.New("rules: no rules and no presets: no request would be a login"))
	}
	return errors.Join(errs...)
}

// An AccessRecord is one access log line, as [Access.Record] reads it.
// Its byte slices point into the line.
type AccessRecord struct {
	Time   time.Time
	Addr   netip.Addr // the client (%h, $remote_addr)
	User   []byte     // the authenticated user (%u, $remote_user); nil for "-"
	VHost  []byte     // a leading virtual host ("www.example.org:443"), when logged
	Method []byte     // the request method; empty for a malformed request
	Target []byte     // the request target as logged
	Path   []byte     // Target's path, with an absolute form's scheme and host removed
	Query  []byte     // Target's query, without the '?'
	Status int
	Host   []byte // the syslog host, when the line came through syslog
}

// Access parses web access logs in the nginx and Apache "combined" and
// "common" formats, optionally led by a virtual host ("vhost_combined")
// or carried in syslog, followed by any extra fields. A request becomes
// an event when a rule says it is a login failure or success.
type Access struct {
	counter
	service string
	rules   []rule
	sys     syslogReader
	hdr     header
	rec     AccessRecord
	users   interner
	hosts   interner
}

var _ Parser = (*Access)(nil)

// NewAccess returns an access log parser for the source named source.
func NewAccess(c AccessConfig, source string) (*Access, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Access{counter: counter{source: source}, service: c.Service}
	p.sys = syslogReader{loc: time.Local, now: time.Now, years: yearGuess{now: time.Now}}
	for _, r := range c.Rules {
		cr, _ := r.compile()
		p.rules = append(p.rules, cr)
	}
	for _, name := range c.Presets {
		for _, r := range presets[name] {
			cr, err := r.compile()
			if err != nil {
				panic(fmt.Sprintf("logparse: preset %s: %v", name, err)) // a bug in the table below
			}
			p.rules = append(p.rules, cr)
		}
	}
	return p, nil
}

// Stats returns the counts of lines parsed so far.
func (p *Access) Stats() Stats { return p.stats }

// Parse implements [Parser].
func (p *Access) Parse(line []byte, seq uint64, ev *proxywatch.Event) (int, error) {
	p.stats.Lines++
	rec := &p.rec
	if r := p.Record(line, rec); r != ReasonNone {
		err := errSyntax
		switch r {
		case ReasonBadTime:
			err = errTime
		case ReasonBadAddress:
			err = errAddress
		}
		return p.fail(r, seq, line, err)
	}
	for i := range p.rules {
		r := &p.rules[i]
		if !r.match(rec) {
			continue
		}
		host := rec.VHost
		if i := bytes.LastIndexByte(host, ':'); i > 0 && bytes.IndexByte(host, ']') < i {
			host = host[:i]
		}
		if len(host) == 0 {
			host = rec.Host
		}
		*ev = proxywatch.Event{
			Time: rec.Time, Type: r.typ, Service: p.service, Addr: rec.Addr,
			User: p.users.get(rec.User), Method: r.method, Host: p.hosts.get(host),
			Source: p.source, Seq: seq,
		}
		return p.hit(1)
	}
	return p.skip(ReasonNoRule)
}

// Record reads one access log line into rec without allocating. It
// returns ReasonNone, or ReasonSyntax, ReasonBadTime or ReasonBadAddress
// for a line it cannot read.
func (p *Access) Record(line []byte, rec *AccessRecord) Reason {
	*rec = AccessRecord{}
	line = trimRight(line)
	r := fields(line, rec)
	if r == ReasonNone {
		return r
	}
	// Not an access line as it stands: perhaps one carried in syslog.
	if p.sys.parse(line, &p.hdr) != ReasonNone || len(p.hdr.msg) == 0 {
		return r
	}
	*rec = AccessRecord{}
	r = fields(p.hdr.msg, rec)
	rec.Host = p.hdr.host
	return r
}

// fields reads "[vhost] addr ident user [time] "request" status ..." into
// rec.
func fields(line []byte, rec *AccessRecord) Reason {
	// Up to six tokens before the "[time]": [vhost] addr ident user, where
	// a user name with spaces spans tokens.
	var toks [6][]byte
	n, rest := 0, line
	for n < len(toks) && len(rest) > 0 && rest[0] != '[' {
		toks[n], rest = cutSpace(rest)
		n++
	}
	if len(rest) == 0 || rest[0] != '[' || n < 2 {
		return ReasonSyntax
	}
	addrAt := 0
	if _, ok := parseAddr(toks[0]); !ok {
		if _, ok := parseAddr(toks[1]); ok && n >= 3 {
			rec.VHost, addrAt = toks[0], 1
		}
	}
	a, ok := parseAddr(toks[addrAt])
	if !ok {
		return ReasonBadAddress
	}
	rec.Addr = a
	if userAt := addrAt + 2; userAt < n {
		last := toks[n-1]
		u := line[cap(line)-cap(toks[userAt]) : cap(line)-cap(last)+len(last)]
		if !(len(u) == 1 && u[0] == '-') {
			rec.User = u
		}
	}
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return ReasonSyntax
	}
	t, ok := accessTime(rest[1:end])
	if !ok {
		return ReasonBadTime
	}
	rec.Time = t
	rest = bytes.TrimLeft(rest[end+1:], " ")
	req, rest, ok := quoted(rest)
	if !ok {
		return ReasonSyntax
	}
	rec.Target = req
	if m, r := cutSpace(req); len(r) > 0 {
		target, _ := cutSpace(r)
		rec.Method, rec.Target = m, target
	}
	rec.Path, rec.Query = splitTarget(rec.Target)
	status, _ := cutSpace(bytes.TrimLeft(rest, " "))
	code, ok := parseUint(status)
	if !ok || code < 100 || code > 999 {
		return ReasonSyntax
	}
	rec.Status = int(code)
	return ReasonNone
}

// quoted reads a double-quoted field with backslash escapes at the start
// of b and returns its raw content and what follows.
func quoted(b []byte) (field, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, b, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[1:i], b[i+1:], true
		}
	}
	return nil, b, false
}

// splitTarget returns a request target's path and query. An absolute
// form ("http://host/path") loses its scheme and host.
func splitTarget(t []byte) (path, query []byte) {
	if r, ok := cutPrefix(t, "http://"); ok {
		t = r
	} else if r, ok := cutPrefix(t, "https://"); ok {
		t = r
	}
	if len(t) > 0 && t[0] != '/' {
		if i := bytes.IndexByte(t, '/'); i >= 0 {
			t = t[i:]
		}
	}
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		return t[:i], t[i+1:]
	}
	return t, nil
}

// accessTime parses "02/Jan/2006:15:04:05 -0700" into UTC.
func accessTime(b []byte) (time.Time, bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	d, ok1 := atoi2(b[0:2])
	m := month(b[3:6])
	y, ok2 := atoi(b[7:11])
	hh, ok3 := atoi2(b[12:14])
	mm, ok4 := atoi2(b[15:17])
	ss, ok5 := atoi2(b[18:20])
	oh, ok6 := atoi2(b[22:24])
	om, ok7 := atoi2(b[24:26])
	if !ok1 || m == 0 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 ||
		d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || oh > 23 || om > 59 {
		return time.Time{}, false
	}
	off := time.Duration(oh*60+om) * time.Minute
	switch b[21] {
	case '+':
	case '-':
		off = -off
	default:
		return time.Time{}, false
	}
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC).Add(-off), true
}
