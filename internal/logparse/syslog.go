package logparse

import (
	"bytes"
	"time"
)

// A header is the syslog header of one line.
type header struct {
	time   time.Time
	host   []byte
	prog   []byte
	pid    uint32
	hasPID bool
	msg    []byte
}

// A syslogReader parses syslog headers: RFC 3164 ("Mar  2 10:00:01 host
// prog[pid]: msg", with an optional <PRI>), the ISO 8601 prefix of current
// rsyslog ("2025-03-02T10:00:01.123456+01:00 host prog[pid]: msg") and
// RFC 5424 ("<38>1 2025-03-02T10:00:01Z host prog pid msgid [sd] msg").
// It infers the year of RFC 3164 timestamps and caches the last
// timestamp, since consecutive lines mostly share their second.
type syslogReader struct {
	loc   *time.Location
	years yearGuess
	now   func() time.Time

	lastTS   [40]byte
	lastLen  int
	lastTime time.Time
}

// parse fills h from line. It returns ReasonSyntax or ReasonBadTime for a
// line it cannot read.
func (s *syslogReader) parse(line []byte, h *header) Reason {
	*h = header{}
	b := line
	if len(b) > 0 && b[0] == '<' {
		end := bytes.IndexByte(b[:min(len(b), 6)], '>')
		if end < 2 {
			return ReasonSyntax
		}
		if _, ok := parseUint(b[1:end]); !ok {
			return ReasonSyntax
		}
		b = b[end+1:]
		if len(b) >= 2 && b[0] >= '1' && b[0] <= '9' && b[1] == ' ' {
			return s.parse5424(b[2:], h)
		}
	}
	var rest []byte
	var r Reason
	switch {
	case len(b) >= 5 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2]) && isDigit(b[3]) && b[4] == '-':
		rest, r = s.isoTime(b, h)
	default:
		rest, r = s.bsdTime(b, h)
	}
	if r != ReasonNone {
		return r
	}
	return parseTag(rest, h)
}

// parseTag reads "host prog[pid]: msg", "prog[pid]: msg", "host prog: msg"
// or "[prog]: msg" (with or without the colon).
func parseTag(b []byte, h *header) Reason {
	tok, rest := cutSpace(b)
	if len(tok) == 0 {
		return ReasonSyntax
	}
	if !isTag(tok) {
		h.host = tok
		tok, rest = cutSpace(rest)
		if !isTag(tok) {
			return ReasonSyntax
		}
	}
	tok = bytes.TrimSuffix(tok, []byte(":"))
	if len(tok) > 1 && tok[0] == '[' && tok[len(tok)-1] == ']' {
		h.prog = tok[1 : len(tok)-1]
	} else if i := bytes.IndexByte(tok, '['); i > 0 && tok[len(tok)-1] == ']' {
		h.prog = tok[:i]
		if pid, ok := parseUint(tok[i+1 : len(tok)-1]); ok && pid <= 1<<32-1 {
			h.pid, h.hasPID = uint32(pid), true
		}
	} else {
		h.prog = tok
	}
	h.msg = trimRight(rest)
	return ReasonNone
}

// isTag reports whether tok is a syslog tag rather than a host name.
func isTag(tok []byte) bool {
	n := len(tok)
	return n > 1 && (tok[n-1] == ':' || tok[0] == '[' || tok[n-1] == ']' && bytes.IndexByte(tok, '[') > 0)
}

// parse5424 reads the rest of an RFC 5424 line after "<PRI>1 ".
func (s *syslogReader) parse5424(b []byte, h *header) Reason {
	ts, rest := cutSpace(b)
	if len(ts) == 1 && ts[0] == '-' {
		h.time = s.now().UTC()
	} else if r := s.cachedISO(ts, h); r != ReasonNone {
		return r
	}
	var host, app, procid []byte
	host, rest = cutSpace(rest)
	app, rest = cutSpace(rest)
	procid, rest = cutSpace(rest)
	_, rest = cutSpace(rest) // MSGID
	if len(host) == 0 || len(app) == 0 || len(procid) == 0 || len(rest) == 0 {
		return ReasonSyntax
	}
	if !isNil(host) {
		h.host = host
	}
	if !isNil(app) {
		h.prog = app
	}
	if pid, ok := parseUint(procid); ok && pid <= 1<<32-1 {
		h.pid, h.hasPID = uint32(pid), true
	}
	// Structured data: "-" or one or more [id param="value" ...] elements.
	if rest[0] == '-' {
		rest = rest[1:]
	} else {
		for len(rest) > 0 && rest[0] == '[' {
			end := sdEnd(rest)
			if end < 0 {
				return ReasonSyntax
			}
			rest = rest[end+1:]
		}
	}
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf"))
	h.msg = trimRight(rest)
	return ReasonNone
}

// sdEnd returns the index of the ']' closing the structured-data element
// at the start of b, or -1.
func sdEnd(b []byte) int {
	quoted := false
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ']':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func isNil(b []byte) bool { return len(b) == 1 && b[0] == '-' }

// bsdTime reads an RFC 3164 timestamp, "Mar  2 10:00:01" (also "Mar 2"
// and "Mar 02", with optional fractional seconds), and returns the rest
// of the line after the following space.
func (s *syslogReader) bsdTime(b []byte, h *header) ([]byte, Reason) {
	// Find the end of the timestamp: month, day, then the clock.
	if len(b) < 14 {
		return nil, ReasonSyntax
	}
	i := 3
	for i < len(b) && b[i] == ' ' {
		i++
	}
	if i == 3 || i > 5 {
		return nil, ReasonSyntax
	}
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i+9 > len(b) || b[i] != ' ' {
		return nil, ReasonSyntax
	}
	i += 9 // " hh:mm:ss"
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i >= len(b) || b[i] != ' ' {
		return nil, ReasonSyntax
	}
	ts := b[:i]
	if s.cached(ts, h) {
		return b[i+1:], ReasonNone
	}
	m := month(ts[:3])
	if m == 0 {
		return nil, ReasonSyntax
	}
	j := 3
	for ts[j] == ' ' {
		j++
	}
	k := j
	for isDigit(ts[k]) {
		k++
	}
	day, ok := atoi(ts[j:k])
	clock := ts[k+1:]
	hh, ok1 := atoi2(clock[0:2])
	mm, ok2 := atoi2(clock[3:5])
	ss, ok3 := atoi2(clock[6:8])
	if !ok || !ok1 || !ok2 || !ok3 || clock[2] != ':' || clock[5] != ':' ||
		day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return nil, ReasonBadTime
	}
	ns := fraction(clock[8:])
	h.time = time.Date(s.years.year(m), m, day, hh, mm, ss, ns, s.loc).UTC()
	s.store(ts, h.time)
	return b[i+1:], ReasonNone
}

// isoTime reads an ISO 8601 timestamp prefix and returns the rest of the
// line after the following space.
func (s *syslogReader) isoTime(b []byte, h *header) ([]byte, Reason) {
	ts, rest := cutSpace(b)
	if r := s.cachedISO(ts, h); r != ReasonNone {
		return nil, r
	}
	return rest, ReasonNone
}

// cachedISO sets h.time from the ISO 8601 timestamp ts.
func (s *syslogReader) cachedISO(ts []byte, h *header) Reason {
	if s.cached(ts, h) {
		return ReasonNone
	}
	t, ok := parseISO(ts, s.loc)
	if !ok {
		return ReasonBadTime
	}
	h.time = t
	s.store(ts, t)
	return ReasonNone
}

func (s *syslogReader) cached(ts []byte, h *header) bool {
	if s.lastLen == len(ts) && s.lastLen > 0 && bytes.Equal(s.lastTS[:s.lastLen], ts) {
		h.time = s.lastTime
		return true
	}
	return false
}

func (s *syslogReader) store(ts []byte, t time.Time) {
	if len(ts) <= len(s.lastTS) {
		s.lastLen = copy(s.lastTS[:], ts)
		s.lastTime = t
	}
}

// cutSpace returns the bytes of b before the first space and the rest
// after it (with repeated spaces skipped).
func cutSpace(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	rest = b[i+1:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return b[:i], rest
}

// trimRight drops trailing spaces, tabs and carriage returns.
func trimRight(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
