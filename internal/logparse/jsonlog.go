package logparse

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// JSONConfig configures the parser of generic JSON login events, one
// object per line.
type JSONConfig struct {
	// Service is the events' Service when the service field is absent.
	Service string `yaml:"service"`
	// Fields are the dotted paths ("client.ip") of the event's fields.
	Fields JSONFields `yaml:"fields"`
	// Outcomes maps values of the outcome field to event types
	// ("login-failure", "login-success", "invalid-user", "preauth"). A
	// boolean or number is looked up as written ("true", "0").
	Outcomes map[string]string `yaml:"outcomes"`
	// Reasons maps values of the reason field to event types, overriding
	// the outcome's: {unknown_user: invalid-user}.
	Reasons map[string]string `yaml:"reasons"`
	// TimeFormat is "auto" (RFC 3339 text, or Unix seconds, milliseconds,
	// microseconds or nanoseconds told apart by size), "unix", "unix_ms",
	// "unix_us", "unix_ns", "rfc3339", or a Go time layout.
	TimeFormat string `yaml:"time_format"`
	// TimeZone is the zone of times written without an offset.
	TimeZone string `yaml:"time_zone"`
	// Now stamps events when Fields.Time is empty; nil is time.Now.
	Now func() time.Time `yaml:"-"`
}

// JSONFields holds the dotted paths of an event's fields. An empty path
// leaves the field out; Addr and Outcome are required.
type JSONFields struct {
	Time    string `yaml:"time"`
	Addr    string `yaml:"addr"` // an address, or "addr:port", "[v6]:port"
	Port    string `yaml:"port"`
	User    string `yaml:"user"`
	Outcome string `yaml:"outcome"`
	Reason  string `yaml:"reason"`
	Method  string `yaml:"method"`
	Host    string `yaml:"host"`
	Service string `yaml:"service"`
}

// DefaultJSONConfig returns the JSON parser's defaults, which read the
// simulator's web-login.jsonl and most applications' login events.
func DefaultJSONConfig() JSONConfig {
	return JSONConfig{
		Service: "app",
		Fields: JSONFields{
			Time: "time", Addr: "src_ip", Port: "src_port", User: "user", Outcome: "outcome",
			Reason: "reason", Method: "method", Host: "host", Service: "service",
		},
		Outcomes: map[string]string{
			"success": "login-success", "succeeded": "login-success", "ok": "login-success", "true": "login-success",
			"failure": "login-failure", "failed": "login-failure", "fail": "login-failure", "false": "login-failure",
			"invalid-user": "invalid-user", "invalid_user": "invalid-user",
		},
		Reasons: map[string]string{
			"unknown_user": "invalid-user", "unknown-user": "invalid-user",
			"invalid_user": "invalid-user", "invalid-user": "invalid-user",
		},
		TimeFormat: "auto",
		TimeZone:   "UTC",
	}
}

// Validate reports every problem in c.
func (c JSONConfig) Validate() error {
	var errs []error
	if c.Service == "" {
		errs = append(errs, errors.New("service: must not be empty"))
	}
	if c.Fields.Addr == "" {
		errs = append(errs, errors.New("fields.addr: must name the client address field"))
	}
	if c.Fields.Outcome == "" {
		errs = append(errs, errors.New("fields.outcome: must name the outcome field"))
	}
	for _, m := range []struct {
		name string
		m    map[string]string
	}{{"outcomes", c.Outcomes}, {"reasons", c.Reasons}} {
		for k, v := range m.m {
			var t proxywatch.EventType
			if t.UnmarshalText([]byte(v)); t == proxywatch.EventUnknown {
				errs = append(errs, fmt.Errorf("%s[%q] %q: must be login-failure, login-success, invalid-user or preauth", m.name, k, v))
			}
		}
	}
	if len(c.Outcomes) == 0 {
		errs = append(errs, errors.New("outcomes: at least one value must map to an event type"))
	}
	if c.TimeFormat == "" {
		errs = append(errs, errors.New("time_format: must not be empty (auto is the default)"))
	}
	if _, err := loadLocation(c.TimeZone); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// The order of JSONFields in a JSON parser's scanner.
const (
	fTime = iota
	fAddr
	fPort
	fUser
	fOutcome
	fReason
	fMethod
	fHost
	fService
	numFields
)

// JSON parses generic JSON login events.
type JSON struct {
	counter
	service  string
	outcomes map[string]proxywatch.EventType
	reasons  map[string]proxywatch.EventType
	format   string
	loc      *time.Location
	now      func() time.Time
	sc       jsonScanner
	vals     [numFields]jsonValue
	bufs     [numFields][]byte
	strs     interner
}

var _ Parser = (*JSON)(nil)

// NewJSON returns a JSON event parser for the source named source.
func NewJSON(c JSONConfig, source string) (*JSON, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &JSON{
		counter: counter{source: source}, service: c.Service, format: c.TimeFormat,
		outcomes: types(c.Outcomes), reasons: types(c.Reasons), now: c.Now,
	}
	p.loc, _ = loadLocation(c.TimeZone)
	if p.now == nil {
		p.now = time.Now
	}
	f := c.Fields
	p.sc.paths = []string{f.Time, f.Addr, f.Port, f.User, f.Outcome, f.Reason, f.Method, f.Host, f.Service}
	for i, path := range p.sc.paths {
		if path == "" {
			p.sc.paths[i] = "\x00" // a key no document has
		}
	}
	return p, nil
}

func types(m map[string]string) map[string]proxywatch.EventType {
	out := make(map[string]proxywatch.EventType, len(m))
	for k, v := range m {
		var t proxywatch.EventType
		_ = t.UnmarshalText([]byte(v))
		out[strings.ToLower(k)] = t
	}
	return out
}

// Stats returns the counts of lines parsed so far.
func (p *JSON) Stats() Stats { return p.stats }

// Parse implements [Parser].
func (p *JSON) Parse(line []byte, seq uint64, ev *proxywatch.Event) (int, error) {
	p.stats.Lines++
	if !p.sc.scan(line, p.vals[:]) {
		return p.fail(ReasonSyntax, seq, line, errJSON)
	}
	outcome, ok := p.text(fOutcome)
	if !ok {
		return p.skip(ReasonUnmapped)
	}
	typ := p.lookup(p.outcomes, outcome)
	if reason, ok := p.text(fReason); ok && typ != proxywatch.EventUnknown {
		if t := p.lookup(p.reasons, reason); t != proxywatch.EventUnknown {
			typ = t
		}
	}
	if typ == proxywatch.EventUnknown {
		return p.skip(ReasonUnmapped)
	}
	raw, ok := p.text(fAddr)
	if !ok || len(raw) == 0 {
		return p.skip(ReasonNoAddress)
	}
	addr, port, ok := hostPort(raw)
	if !ok {
		return p.fail(ReasonBadAddress, seq, line, errAddress)
	}
	if b, ok := p.text(fPort); ok {
		if v, ok := parsePort(b); ok {
			port = v
		}
	}
	t, ok := p.time()
	if !ok {
		return p.fail(ReasonBadTime, seq, line, errTime)
	}
	service := p.service
	if b, ok := p.text(fService); ok && len(b) > 0 {
		service = p.strs.get(b)
	}
	user, _ := p.text(fUser)
	method, _ := p.text(fMethod)
	host, _ := p.text(fHost)
	*ev = proxywatch.Event{
		Time: t, Type: typ, Service: service, Addr: addr, Port: port, User: p.strs.get(user),
		Method: p.strs.get(method), Host: p.strs.get(host), Source: p.source, Seq: seq,
	}
	return p.hit(1)
}

// text returns field i as text.
func (p *JSON) text(i int) ([]byte, bool) { return p.vals[i].text(&p.bufs[i]) }

// lookup maps v, lower-cased, through m.
func (p *JSON) lookup(m map[string]proxywatch.EventType, v []byte) proxywatch.EventType {
	if t, ok := m[string(v)]; ok {
		return t
	}
	var low [32]byte
	if len(v) > len(low) {
		return proxywatch.EventUnknown
	}
	for i, c := range v {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	return m[string(low[:len(v)])]
}

// time returns the event's time.
func (p *JSON) time() (time.Time, bool) {
	v := p.vals[fTime]
	if p.sc.paths[fTime] == "\x00" {
		return p.now().UTC(), true
	}
	b, ok := v.text(&p.bufs[fTime])
	if !ok {
		return time.Time{}, false
	}
	switch p.format {
	case "auto":
		if v.kind == jsonString {
			if t, ok := parseISO(b, p.loc); ok {
				return t, true
			}
		}
		return unixTime(b, "")
	case "unix", "unix_ms", "unix_us", "unix_ns":
		return unixTime(b, p.format)
	case "rfc3339":
		return parseISO(b, p.loc)
	}
	t, err := time.ParseInLocation(p.format, string(b), p.loc)
	return t.UTC(), err == nil
}

// unixTime reads a Unix time, "1663683561" or "1663683561.702855", in the
// unit given, or ("") in a unit guessed from its size.
func unixTime(b []byte, unit string) (time.Time, bool) {
	intPart, frac := b, []byte(nil)
	for i, c := range b {
		if c == '.' {
			intPart, frac = b[:i], b[i:]
			break
		}
	}
	n, ok := parseUint(intPart)
	if !ok || len(frac) == 1 {
		return time.Time{}, false
	}
	for _, c := range frac[min(len(frac), 1):] {
		if !isDigit(c) {
			return time.Time{}, false
		}
	}
	if unit == "" {
		switch {
		case n < 1e11:
			unit = "unix"
		case n < 1e14:
			unit = "unix_ms"
		case n < 1e17:
			unit = "unix_us"
		default:
			unit = "unix_ns"
		}
	}
	switch unit {
	case "unix":
		if n > 1<<40 {
			return time.Time{}, false
		}
		return time.Unix(int64(n), int64(fraction(frac))).UTC(), true
	case "unix_ms":
		return time.UnixMilli(int64(n)).UTC(), n < 1<<60
	case "unix_us":
		return time.UnixMicro(int64(n)).UTC(), n < 1<<62
	}
	return time.Unix(0, int64(n)).UTC(), n < 1<<63
}

// hostPort parses "addr", "v4:port" or "[v6]:port".
func hostPort(b []byte) (netip.Addr, uint16, bool) {
	if a, ok := parseAddr(b); ok {
		return a, 0, true
	}
	if len(b) > 0 && b[0] == '[' {
		for i, c := range b {
			if c == ']' {
				a, ok := parseAddr(b[1:i])
				if !ok {
					return a, 0, false
				}
				rest := b[i+1:]
				if len(rest) == 0 {
					return a, 0, true
				}
				if rest[0] != ':' {
					return netip.Addr{}, 0, false
				}
				port, ok := parsePort(rest[1:])
				return a, port, ok
			}
		}
		return netip.Addr{}, 0, false
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ':' {
			a, ok := parseAddr(b[:i])
			if !ok || !a.Is4() {
				return netip.Addr{}, 0, false
			}
			port, ok := parsePort(b[i+1:])
			return a, port, ok
		}
	}
	return netip.Addr{}, 0, false
}
