package logparse

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// SSHDConfig configures the sshd parser.
type SSHDConfig struct {
	// TimeZone is the zone of timestamps that carry no offset (RFC 3164
	// and offset-less ISO 8601): an IANA name, "UTC" or "Local" (the
	// default, the machine's zone).
	TimeZone string `yaml:"time_zone"`
	// Year fixes the year of RFC 3164 timestamps; 0 infers it (see
	// docs/logs.md).
	Year int `yaml:"year"`
	// Programs are the syslog program names whose lines are read; lines
	// of other programs are counted and skipped.
	Programs []string `yaml:"programs"`
	// Service is the events' Service.
	Service string `yaml:"service"`
	// Now is the reference clock for year inference and for RFC 5424
	// lines without a timestamp; nil is time.Now.
	Now func() time.Time `yaml:"-"`
}

// DefaultSSHDConfig returns the sshd parser's defaults.
func DefaultSSHDConfig() SSHDConfig {
	// OpenSSH 9.8 split the per-connection work into sshd-session and
	// sshd-auth, which log under those names.
	return SSHDConfig{TimeZone: "Local", Programs: []string{"sshd", "sshd-session", "sshd-auth"}, Service: "ssh"}
}

// Validate reports every problem in c.
func (c SSHDConfig) Validate() error {
	var errs []error
	if _, err := loadLocation(c.TimeZone); err != nil {
		errs = append(errs, err)
	}
	if c.Year < 0 || c.Year > 9999 {
		errs = append(errs, fmt.Errorf("year %d: must be 0 (infer) or a year", c.Year))
	}
	if len(c.Programs) == 0 {
		errs = append(errs, errors.New("programs: at least one program name is needed"))
	}
	if c.Service == "" {
		errs = append(errs, errors.New("service: must not be empty"))
	}
	return errors.Join(errs...)
}

// SSHD parses OpenSSH server messages in syslog lines (RFC 3164, ISO 8601
// prefix, RFC 5424) and journald JSON entries (`journalctl -o json`); it
// tells them apart by their first byte, so one source may mix them.
//
// Messages without an address ("Disconnecting: Too many authentication
// failures", "kex_exchange_identification: ...") take it from an earlier
// line of the same connection, found by host and process ID, or are held
// until a later line gives it, as fail2ban's sshd filter does. The table of
// connections is bounded.
type SSHD struct {
	counter
	service string
	progs   [][]byte
	sys     syslogReader
	users   interner
	hosts   interner
	conns   connTable
	hdr     header
	journal journalFields
}

var _ Parser = (*SSHD)(nil)

// NewSSHD returns an sshd parser for the source named source.
func NewSSHD(c SSHDConfig, source string) (*SSHD, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	loc, _ := loadLocation(c.TimeZone)
	now := c.Now
	if now == nil {
		now = time.Now
	}
	p := &SSHD{counter: counter{source: source}, service: c.Service}
	p.sys = syslogReader{loc: loc, now: now, years: yearGuess{fixed: c.Year, now: now}}
	for _, name := range c.Programs {
		p.progs = append(p.progs, []byte(name))
	}
	return p, nil
}

// Stats returns the counts of lines parsed so far.
func (p *SSHD) Stats() Stats { return p.stats }

// Parse implements [Parser].
func (p *SSHD) Parse(line []byte, seq uint64, ev *proxywatch.Event) (int, error) {
	p.stats.Lines++
	line = trimRight(line)
	h := &p.hdr
	if len(line) > 0 && line[0] == '{' {
		if r := p.journal.parse(line, h); r != ReasonNone {
			err := errJSON
			if r == ReasonBadTime {
				err = errTime
			}
			return p.fail(r, seq, line, err)
		}
	} else if r := p.sys.parse(line, h); r != ReasonNone {
		err := errSyntax
		if r == ReasonBadTime {
			err = errTime
		}
		return p.fail(r, seq, line, err)
	}
	if !p.ours(h.prog) {
		return p.skip(ReasonOtherProgram)
	}
	msg, n := unrepeat(h.msg)
	var m match
	r := classify(stripPrefixes(msg), &m)
	return p.resolve(h, &m, r, n, seq, ev)
}

// ours reports whether prog is one of the configured programs.
func (p *SSHD) ours(prog []byte) bool {
	for _, q := range p.progs {
		if bytes.Equal(prog, q) {
			return true
		}
	}
	return false
}

// resolve completes m with the connection table and fills ev.
func (p *SSHD) resolve(h *header, m *match, r Reason, n int, seq uint64, ev *proxywatch.Event) (int, error) {
	var c *conn
	if h.hasPID {
		c = p.conns.get(p.connKey(h), h.time)
	}
	if m.typ == proxywatch.EventUnknown {
		// No event of its own; the line may give a connection's address
		// and so release an event held for it.
		if c != nil && m.addr.IsValid() {
			if c.pending != proxywatch.EventUnknown {
				p.fill(ev, h, c.pending, c.user, c.method, m.addr, m.port, seq)
				c.clearPending()
				c.learn(m.addr, m.port)
				return p.hit(1)
			}
			c.learn(m.addr, m.port)
		}
		return p.skip(r)
	}
	if m.host {
		return p.skip(ReasonNoAddress)
	}
	user := p.users.get(m.user)
	if !m.addr.IsValid() {
		switch {
		case c != nil && c.addr.IsValid():
			m.addr, m.port = c.addr, c.port
		case c != nil:
			c.hold(m.typ, user, m.method)
			return p.skip(ReasonPending)
		default:
			return p.skip(ReasonNoAddress)
		}
	} else if c != nil {
		if c.pending != proxywatch.EventUnknown {
			if rank(c.pending) > rank(m.typ) {
				m.typ, m.method = c.pending, c.method
				if len(m.user) == 0 {
					user = c.user
				}
			}
			c.clearPending()
		}
		if m.port == 0 && c.addr == m.addr {
			m.port = c.port
		}
		c.learn(m.addr, m.port)
	}
	p.fill(ev, h, m.typ, user, m.method, m.addr, m.port, seq)
	return p.hit(n)
}

func (p *SSHD) fill(ev *proxywatch.Event, h *header, t proxywatch.EventType, user, method string, addr netip.Addr, port uint16, seq uint64) {
	*ev = proxywatch.Event{
		Time: h.time, Type: t, Service: p.service, Addr: addr, Port: port, User: user,
		Method: method, Host: p.hosts.get(h.host), Source: p.source, Seq: seq,
	}
}

// rank orders event types for merging a held event into a later line:
// a failure outranks a bare pre-authentication drop.
func rank(t proxywatch.EventType) int {
	switch t {
	case proxywatch.EventLoginFailure, proxywatch.EventInvalidUser:
		return 2
	case proxywatch.EventPreauth:
		return 1
	}
	return 0
}

func (p *SSHD) connKey(h *header) uint64 {
	k := uint64(14695981039346656037)
	for _, c := range h.host {
		k = (k ^ uint64(c)) * 1099511628211
	}
	k = (k ^ uint64(h.pid)) * 1099511628211
	k ^= k >> 29
	if k == 0 { // 0 marks an empty slot
		k = 1
	}
	return k
}

// unrepeat unwraps rsyslog's "message repeated N times: [ msg]" and
// returns the message and N (1 for any other line).
func unrepeat(msg []byte) ([]byte, int) {
	rest, ok := bytes.CutPrefix(msg, []byte("message repeated "))
	if !ok {
		return msg, 1
	}
	num, rest := cutSpace(rest)
	k, ok := parseUint(num)
	rest, ok2 := bytes.CutPrefix(rest, []byte("times: ["))
	if !ok || !ok2 || k == 0 || k > 1<<20 || len(rest) == 0 || rest[len(rest)-1] != ']' {
		return msg, 1
	}
	return bytes.TrimSpace(rest[:len(rest)-1]), int(k)
}

// connSlots is the size of the connection table. Each slot is one
// connection (host, pid) of the last connTTL; a busy server under attack
// handles a few hundred at once (MaxStartups defaults to 100).
const connSlots = 4096

// connTTL is how long a connection's address is remembered. sshd's
// LoginGraceTime defaults to 2 minutes; a longer memory only risks a
// reused pid.
const connTTL = 10 * time.Minute

// A conn is what is known of one connection: its address and an event
// held until the address is known.
type conn struct {
	key     uint64
	seen    int64 // unix seconds, event time
	addr    netip.Addr
	port    uint16
	pending proxywatch.EventType
	user    string
	method  string
}

func (c *conn) learn(a netip.Addr, port uint16) {
	if c.addr != a {
		c.port = 0
	}
	c.addr = a
	if port != 0 {
		c.port = port
	}
}

func (c *conn) hold(t proxywatch.EventType, user, method string) {
	c.pending, c.user, c.method = t, user, method
}

func (c *conn) clearPending() { c.pending, c.user, c.method = proxywatch.EventUnknown, "", "" }

// A connTable is a direct-mapped table of connections; a collision or an
// entry older than connTTL starts a fresh one.
type connTable struct {
	slots [connSlots]conn
}

func (t *connTable) get(key uint64, now time.Time) *conn {
	c := &t.slots[key%connSlots]
	sec := now.Unix()
	if c.key != key || sec-c.seen > int64(connTTL/time.Second) || c.seen-sec > int64(connTTL/time.Second) {
		*c = conn{key: key}
	}
	c.seen = sec
	return c
}
