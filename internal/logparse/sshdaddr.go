package logparse

import (
	"bytes"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// userFrom reads "<user> from <addr>[ port N][ sshN][: info]" and the
// like. The user name is the client's choice and may itself contain
// " from 10.0.0.1 port 1": candidates are tried from the left, and the
// first whose remainder has the shape sshd gives it wins, as fail2ban
// decides.
func userFrom(b []byte, m *match) Reason {
	hostSeen := false
	for off := 0; ; {
		i := bytes.Index(b[off:], sFrom)
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		tok, tail := cutSpace(b[i+len(sFrom):])
		if tail != nil {
			tail = b[i+len(sFrom)+len(tok):] // keep the separating space
		}
		port, ok := authTail(tail)
		if !ok {
			continue
		}
		addr, ok := parseAddr(tok)
		if !ok {
			hostSeen = true
			continue
		}
		m.user, m.addr, m.port = b[:i], addr, port
		return ReasonNone
	}
	if hostSeen {
		m.host = true
		return ReasonNone
	}
	m.typ = proxywatch.EventUnknown
	return ReasonUnknown
}

// authTail checks what follows the address in an authentication message:
// [" port N"] [" on ADDR port N"] [" sshN"], then the end of the message,
// ": info", " [preauth]", " not allowed because ..." or " via ...".
func authTail(t []byte) (uint16, bool) {
	var port uint16
	if r, ok := cutPrefix(t, " port "); ok {
		num, rest := cutDelim(r)
		p, ok := parsePort(num)
		if !ok {
			return 0, false
		}
		port, t = p, rest
	}
	if r, ok := cutPrefix(t, " on "); ok {
		_, r = cutDelim(r)
		if r2, ok := cutPrefix(r, " port "); ok {
			_, r = cutDelim(r2)
		}
		t = r
	}
	if r, ok := cutPrefix(t, " ssh"); ok {
		i := 0
		for i < len(r) && isDigit(r[i]) {
			i++
		}
		t = r[i:]
	}
	switch {
	case len(t) == 0, t[0] == ':',
		string(t) == " [preauth]",
		hasPrefix(t, " not allowed because "),
		hasPrefix(t, " via "):
		return port, true
	}
	return 0, false
}

// cutDelim splits b before the first space or colon.
func cutDelim(b []byte) (tok, rest []byte) {
	for i, c := range b {
		if c == ' ' || c == ':' {
			return b[:i], b[i:]
		}
	}
	return b, nil
}

// tailAddr parses "[PREFIX ]ADDR[ port N][ [preauth]]" from the right.
func tailAddr(b []byte) (prefix []byte, addr netip.Addr, port uint16, preauth, ok bool) {
	b, preauth = cutSuffix(b, " [preauth]")
	if i := bytes.LastIndex(b, sPort); i >= 0 {
		if p, ok := parsePort(b[i+len(sPort):]); ok {
			port, b = p, b[:i]
		}
	}
	i := bytes.LastIndexByte(b, ' ')
	addr, ok = parseAddr(b[i+1:])
	if i > 0 {
		prefix = b[:i+1]
	}
	return prefix, addr, port, preauth, ok
}

// Who a closing message names: nobody, an invalid user, a user still
// authenticating, an authenticated user, or something else.
const (
	whoNone = iota
	whoInvalid
	whoAuthenticating
	whoUser
	whoOther
)

func who(prefix []byte) (int, []byte) {
	if len(prefix) == 0 {
		return whoNone, nil
	}
	prefix = prefix[:len(prefix)-1] // the space before the address
	if u, ok := cutPrefix(prefix, "invalid user "); ok {
		return whoInvalid, u
	}
	if u, ok := cutPrefix(prefix, "authenticating user "); ok {
		return whoAuthenticating, u
	}
	if u, ok := cutPrefix(prefix, "user "); ok {
		return whoUser, u
	}
	return whoOther, nil
}

// closed reads the rest of "Connection closed by", "Connection reset by"
// and "Disconnected from".
func closed(b []byte, m *match) Reason {
	prefix, addr, port, preauth, ok := tailAddr(b)
	if !ok {
		return ReasonUnknown
	}
	m.addr, m.port = addr, port
	k, user := who(prefix)
	switch k {
	case whoInvalid:
		m.typ, m.user = proxywatch.EventInvalidUser, user
	case whoAuthenticating:
		m.typ, m.user = proxywatch.EventPreauth, user
	case whoNone:
		if !preauth {
			return ReasonNoEvent // closed before the banner, or an old-style session end
		}
		m.typ = proxywatch.EventPreauth
	case whoUser:
		return ReasonNoEvent // an authenticated session ended
	default:
		m.addr = netip.Addr{}
		return ReasonUnknown
	}
	return ReasonNone
}

// disconnecting reads "[invalid |authenticating ]user U ADDR port N: reason".
func disconnecting(b []byte, m *match) Reason {
	r := beforeColon(b, m, proxywatch.EventUnknown)
	if r != ReasonNone || !m.addr.IsValid() {
		return r
	}
	failures := bytes.Contains(b, []byte("Too many authentication failures")) ||
		bytes.Contains(b, []byte("Change of username or service not allowed"))
	switch m.typ {
	case proxywatch.EventPreauth: // authenticating user
		if failures {
			m.typ = proxywatch.EventLoginFailure
		}
	case proxywatch.EventUnknown:
		if failures {
			m.typ = proxywatch.EventLoginFailure
		}
	}
	if m.typ == proxywatch.EventUnknown {
		return ReasonNoEvent
	}
	return ReasonNone
}

// beforeColon reads "[who ]ADDR[ port N]: text": the address part ends at
// the first ": " whose left side parses. t is the event type when no user
// is named; an invalid user makes it EventInvalidUser, an authenticating
// user EventPreauth with the user, an authenticated user no event.
func beforeColon(b []byte, m *match, t proxywatch.EventType) Reason {
	for off := 0; ; {
		i := bytes.Index(b[off:], sColonSp)
		if i < 0 {
			i = len(b) - off // the whole line, for a message without text
			if i <= 0 {
				return ReasonUnknown
			}
		}
		i += off
		prefix, addr, port, _, ok := tailAddr(b[:i])
		if ok {
			m.addr, m.port = addr, port
			k, user := who(prefix)
			switch k {
			case whoNone:
				m.typ = t
			case whoInvalid:
				m.typ, m.user = proxywatch.EventInvalidUser, user
			case whoAuthenticating:
				m.typ, m.user = proxywatch.EventPreauth, user
			case whoUser:
				m.typ = proxywatch.EventUnknown
				return ReasonNoEvent
			default:
				m.addr = netip.Addr{}
				return ReasonUnknown
			}
			return ReasonNone
		}
		if i >= len(b) {
			return ReasonUnknown
		}
		off = i + 1
	}
}

// preauthAt reads "ADDR[ port N]" at the end of a pre-authentication
// message.
func preauthAt(b []byte, m *match) Reason {
	m.typ = proxywatch.EventPreauth
	return atTail(b, m)
}

// atTail reads "ADDR[ port N][ [preauth]]" as the whole of b.
func atTail(b []byte, m *match) Reason {
	prefix, addr, port, _, ok := tailAddr(b)
	if !ok || len(prefix) != 0 {
		m.typ = proxywatch.EventUnknown
		return ReasonUnknown
	}
	m.addr, m.port = addr, port
	return ReasonNone
}

// preauthNoAddr marks a pre-authentication failure whose line names no
// address; the connection table supplies it.
func preauthNoAddr(msg []byte, m *match) Reason {
	if !bytes.HasSuffix(msg, []byte("[preauth]")) && !hasPrefix(msg, "no matching ") &&
		!hasPrefix(msg, "Unable to negotiate") {
		return ReasonNoEvent
	}
	m.typ = proxywatch.EventPreauth
	return ReasonNone
}

// receivedDisconnect reads "ADDR[ port N]:[ ]CODE:[ ]text[ [preauth]]".
func receivedDisconnect(b []byte, m *match) Reason {
	rest, ok := disconnectAddr(b, m)
	if !ok {
		return ReasonUnknown
	}
	rest = bytes.TrimLeft(rest, " ")
	code := 0
	for len(rest) > 0 && isDigit(rest[0]) && code < 1000 {
		code = code*10 + int(rest[0]-'0')
		rest = rest[1:]
	}
	text, preauth := cutSuffix(rest, " [preauth]")
	switch {
	case code == 14 || bytes.Contains(text, []byte("Auth fail")):
		m.typ = proxywatch.EventLoginFailure
	case preauth:
		m.typ = proxywatch.EventPreauth
	default:
		return ReasonNoEvent // a session's normal end; may still release a held event
	}
	return ReasonNone
}

// disconnectAddr reads "ADDR port N:" or "ADDR:" and returns what follows.
func disconnectAddr(b []byte, m *match) ([]byte, bool) {
	if i := bytes.Index(b, sPort); i >= 0 {
		if addr, ok := parseAddr(b[:i]); ok {
			num, r := cutDelim(b[i+len(sPort):])
			port, ok := parsePort(num)
			if !ok || len(r) == 0 || r[0] != ':' {
				return nil, false
			}
			m.addr, m.port = addr, port
			return r[1:], true
		}
	}
	i := bytes.Index(b, sColonSp)
	if i < 0 {
		return nil, false
	}
	addr, ok := parseAddr(b[:i])
	if !ok {
		return nil, false
	}
	m.addr = addr
	return b[i+2:], true
}

// containsFold reports whether b contains the lower-case ASCII s, ignoring
// case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		j := 0
		for j < len(s) && b[i+j]|0x20 == s[j]|0x20 {
			j++
		}
		if j == len(s) {
			return true
		}
	}
	return false
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func cutPrefix(b []byte, s string) ([]byte, bool) {
	if hasPrefix(b, s) {
		return b[len(s):], true
	}
	return b, false
}

func cutSuffix(b []byte, s string) ([]byte, bool) {
	if len(b) >= len(s) && string(b[len(b)-len(s):]) == s {
		return b[:len(b)-len(s)], true
	}
	return b, false
}
