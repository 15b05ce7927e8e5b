package logparse

import (
	"bytes"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// A match is what one sshd message says.
type match struct {
	typ    proxywatch.EventType // EventUnknown: no event of its own
	user   []byte
	method string
	addr   netip.Addr // zero when the message names none
	port   uint16
	host   bool // the client is named by a host name, not an address
}

// Search patterns, as package variables so that searching allocates nothing.
var (
	sFrom    = []byte(" from ")
	sPort    = []byte(" port ")
	sFor     = []byte(" for ")
	sColonSp = []byte(": ")
	bRoot    = []byte("root")
)

// classify reads one sshd message into m. It returns ReasonNone for a
// message it recognises as an event or as giving a connection's address,
// ReasonNoEvent for one it recognises as no login event, and
// ReasonUnknown otherwise. See docs/logs.md for the table of messages.
func classify(msg []byte, m *match) Reason {
	if rest, ok := cutPrefix(msg, "error: "); ok {
		msg = rest
	} else if rest, ok := cutPrefix(msg, "fatal: "); ok {
		msg = rest
	}
	if len(msg) == 0 {
		return ReasonUnknown
	}
	switch msg[0] {
	case 'F':
		if rest, ok := cutPrefix(msg, "Failed "); ok {
			return authAttempt(rest, m, proxywatch.EventLoginFailure)
		}
	case 'A':
		if rest, ok := cutPrefix(msg, "Accepted "); ok {
			return authAttempt(rest, m, proxywatch.EventLoginSuccess)
		}
		if hasPrefix(msg, "Address ") || hasPrefix(msg, "Accepted key") {
			return ReasonNoEvent
		}
	case 'I':
		rest, ok := cutPrefix(msg, "Invalid user ")
		if !ok {
			rest, ok = cutPrefix(msg, "Illegal user ")
		}
		if ok {
			m.typ = proxywatch.EventInvalidUser
			return userFrom(rest, m)
		}
	case 'p':
		if hasPrefix(msg, "pam_") {
			return pamUnix(msg, m)
		}
	case 'P':
		if rest, ok := cutPrefix(msg, "PAM: "); ok {
			return pamError(rest, m)
		}
		if hasPrefix(msg, "PAM ") || hasPrefix(msg, "Postponed ") {
			return ReasonNoEvent
		}
	case 'C':
		if rest, ok := cutPrefix(msg, "Connection closed by "); ok {
			return closed(rest, m)
		}
		if rest, ok := cutPrefix(msg, "Connection reset by "); ok {
			return closed(rest, m)
		}
		if rest, ok := cutPrefix(msg, "Connection from "); ok {
			// The start of a connection (LogLevel VERBOSE): remember it.
			tok, rest := cutSpace(rest)
			m.addr, _ = parseAddr(tok)
			if p, ok := cutPrefix(rest, "port "); ok {
				num, _ := cutSpace(p)
				m.port, _ = parsePort(num)
			}
			return ReasonNoEvent
		}
	case 'D':
		if rest, ok := cutPrefix(msg, "Disconnected from "); ok {
			return closed(rest, m)
		}
		if rest, ok := cutPrefix(msg, "Disconnecting: Too many authentication failures"); ok {
			m.typ = proxywatch.EventLoginFailure
			if u, ok := cutPrefix(rest, " for "); ok {
				u, _ = cutSuffix(u, " [preauth]")
				m.user = u
			}
			return ReasonNone
		}
		if rest, ok := cutPrefix(msg, "Disconnecting "); ok {
			return disconnecting(rest, m)
		}
		if rest, ok := cutPrefix(msg, "Did not receive identification string from "); ok {
			return preauthAt(rest, m)
		}
	case 'R':
		if rest, ok := cutPrefix(msg, "Received disconnect from "); ok {
			return receivedDisconnect(rest, m)
		}
		if rest, ok := cutPrefix(msg, "ROOT LOGIN REFUSED FROM "); ok {
			m.typ = proxywatch.EventLoginFailure
			m.user = bRoot
			return atTail(rest, m)
		}
		if hasPrefix(msg, "Read from socket failed: ") {
			return preauthNoAddr(msg, m)
		}
		if hasPrefix(msg, "Received signal") {
			return ReasonNoEvent
		}
	case 'U':
		if rest, ok := cutPrefix(msg, "User "); ok {
			return notAllowed(rest, m)
		}
		if rest, ok := cutPrefix(msg, "Unable to negotiate with "); ok {
			return beforeColon(rest, m, proxywatch.EventPreauth)
		}
		if hasPrefix(msg, "Unable to negotiate a key exchange method") {
			return preauthNoAddr(msg, m)
		}
	case 'B':
		if rest, ok := cutPrefix(msg, "Bad protocol version identification "); ok {
			if i := bytes.LastIndex(rest, sFrom); i >= 0 {
				return preauthAt(rest[i+len(sFrom):], m)
			}
		}
	case 'b':
		if rest, ok := cutPrefix(msg, "banner exchange: Connection from "); ok {
			return beforeColon(rest, m, proxywatch.EventPreauth)
		}
	case 's':
		if rest, ok := cutPrefix(msg, "ssh_dispatch_run_fatal: Connection from "); ok {
			return beforeColon(rest, m, proxywatch.EventPreauth)
		}
	case 'T':
		if rest, ok := cutPrefix(msg, "Timeout before authentication for "); ok {
			rest, _ = cutPrefix(rest, "connection from ")
			if i := bytes.Index(rest, []byte(" to ")); i >= 0 {
				rest = rest[:i]
			}
			return preauthAt(rest, m)
		}
	case 'M':
		if rest, ok := cutPrefix(msg, "Magic value check failed"); ok {
			if i := bytes.LastIndex(rest, sFrom); i >= 0 {
				return preauthAt(rest[i+len(sFrom):], m)
			}
		}
	case 'm':
		if rest, ok := cutPrefix(msg, "maximum authentication attempts exceeded for "); ok {
			m.typ = proxywatch.EventLoginFailure
			if r, ok := cutPrefix(rest, "invalid user "); ok {
				m.typ, rest = proxywatch.EventInvalidUser, r
			}
			return userFrom(rest, m)
		}
	case 'r':
		if rest, ok := cutPrefix(msg, "refused connect from "); ok {
			return refused(rest, m)
		}
		if hasPrefix(msg, "reverse mapping checking") {
			return ReasonNoEvent
		}
	case 'k':
		if hasPrefix(msg, "kex_exchange_identification: ") {
			// The client went away before or during the banner: a scan.
			m.typ = proxywatch.EventPreauth
			return ReasonNone
		}
	case 'n':
		if hasPrefix(msg, "no matching ") {
			return preauthNoAddr(msg, m)
		}
	case 'W':
		if hasPrefix(msg, "Write failed: ") {
			return preauthNoAddr(msg, m)
		}
	case 'S':
		if rest, ok := cutPrefix(msg, "SSH: Server;Ltype: "); ok {
			return remote(rest, m)
		}
		if hasPrefix(msg, "Server listening") || hasPrefix(msg, "Starting session") {
			return ReasonNoEvent
		}
	}
	if hasPrefix(msg, "input_userauth_request: ") || hasPrefix(msg, "Close session") ||
		hasPrefix(msg, "Transferred: ") || hasPrefix(msg, "Exiting on signal") {
		return ReasonNoEvent
	}
	return ReasonUnknown
}

// stripPrefixes drops the Solaris "[ID 800047 auth.info] " and kernel
// "kernel:[ 970.699396]: " prefixes some systems put before the message.
func stripPrefixes(msg []byte) []byte {
	if hasPrefix(msg, "[ID ") {
		if i := bytes.Index(msg, []byte("] ")); i > 0 {
			msg = msg[i+2:]
		}
	}
	if rest, ok := cutPrefix(msg, "kernel:"); ok {
		if i := bytes.IndexByte(rest, ']'); i >= 0 {
			rest = rest[i+1:]
			rest, _ = cutPrefix(rest, ":")
			msg = bytes.TrimLeft(rest, " ")
		}
	}
	return msg
}

// authAttempt reads "<method> for [invalid user ]<user> from <addr> ..."
// after "Failed " or "Accepted ".
func authAttempt(b []byte, m *match, t proxywatch.EventType) Reason {
	tok, rest := cutSpace(b)
	rest, ok := cutPrefix(rest, "for ")
	if !ok {
		return ReasonUnknown
	}
	m.typ, m.method = t, method(tok)
	if t == proxywatch.EventLoginFailure {
		if r, ok := cutPrefix(rest, "invalid user "); ok {
			m.typ, rest = proxywatch.EventInvalidUser, r
		} else if r, ok := cutPrefix(rest, "<invalid username>"); ok { // Solaris
			m.typ, rest = proxywatch.EventInvalidUser, r
		}
	}
	return userFrom(rest, m)
}

// method returns the canonical name of an sshd authentication method.
func method(tok []byte) string {
	switch string(tok) {
	case "password":
		return "password"
	case "publickey":
		return "publickey"
	case "keyboard-interactive", "keyboard-interactive/pam":
		return "keyboard-interactive"
	case "hostbased":
		return "hostbased"
	case "none":
		return "none"
	case "gssapi-with-mic":
		return "gssapi-with-mic"
	}
	return "other"
}

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

// notAllowed reads "U from ADDR not allowed because ..." or "U not
// allowed because ..." (after "User ").
func notAllowed(b []byte, m *match) Reason {
	if !bytes.Contains(b, []byte(" not allowed because ")) {
		return ReasonNoEvent
	}
	m.typ = proxywatch.EventLoginFailure
	if userFrom(b, m) == ReasonNone {
		return ReasonNone
	}
	m.typ = proxywatch.EventLoginFailure
	m.user = b[:bytes.Index(b, []byte(" not allowed because "))]
	return ReasonNone
}

// pamUnix reads "pam_unix(sshd:auth): authentication failure; logname=
// uid=0 euid=0 tty=ssh ruser= rhost=ADDR  user=U" (any PAM module).
func pamUnix(msg []byte, m *match) Reason {
	i := bytes.Index(msg, []byte("(sshd:auth): authentication failure;"))
	if i < 0 {
		return ReasonNoEvent
	}
	rest := msg[i:]
	m.typ = proxywatch.EventLoginFailure
	if v, ok := pamField(rest, " user="); ok && len(v) > 0 {
		m.user = v
	} else if v, ok := pamField(rest, " ruser="); ok {
		m.user = v
	}
	rhost, ok := pamField(rest, " rhost=")
	if !ok || len(rhost) == 0 {
		return ReasonNone // the connection table may know the address
	}
	if a, ok := parseAddr(rhost); ok {
		m.addr = a
	} else {
		m.host = true
	}
	return ReasonNone
}

// pamField returns the value of key (" name=") in b, up to a space.
func pamField(b []byte, key string) ([]byte, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return nil, false
	}
	v, _ := cutSpace(b[i+len(key):])
	return v, true
}

// pamError reads "Authentication failure for [illegal user ]U from HOST[
// via ADDR]" and the like, after "PAM: ".
func pamError(b []byte, m *match) Reason {
	i := bytes.Index(b, sFor)
	if i < 0 {
		return ReasonNoEvent
	}
	what := b[:i]
	rest := b[i+len(sFor):]
	m.typ = proxywatch.EventLoginFailure
	switch {
	case containsFold(what, "user not known"):
		m.typ = proxywatch.EventInvalidUser
	case containsFold(what, "authentication failure"), containsFold(what, "authentication error"):
	default:
		m.typ = proxywatch.EventUnknown
		return ReasonNoEvent
	}
	if r, ok := cutPrefix(rest, "illegal user "); ok {
		m.typ, rest = proxywatch.EventInvalidUser, r
	}
	return userFrom(rest, m)
}

// refused reads tcp_wrappers' "NAME (ADDR)".
func refused(b []byte, m *match) Reason {
	i := bytes.LastIndexByte(b, '(')
	if i < 0 || b[len(b)-1] != ')' {
		return ReasonUnknown
	}
	a, ok := parseAddr(b[i+1 : len(b)-1])
	if !ok {
		return ReasonUnknown
	}
	m.typ, m.addr = proxywatch.EventPreauth, a
	return ReasonNone
}

// remote reads the address of "SSH: Server;Ltype: ...;Remote: ADDR-PORT;..."
// (a patched sshd's connection log) into the connection table.
func remote(b []byte, m *match) Reason {
	i := bytes.Index(b, []byte(";Remote: "))
	if i < 0 {
		return ReasonNoEvent
	}
	v := b[i+len(";Remote: "):]
	if j := bytes.IndexByte(v, ';'); j >= 0 {
		v = v[:j]
	}
	if j := bytes.LastIndexByte(v, '-'); j >= 0 {
		m.port, _ = parsePort(v[j+1:])
		v = v[:j]
	}
	m.addr, _ = parseAddr(v)
	return ReasonNoEvent
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
