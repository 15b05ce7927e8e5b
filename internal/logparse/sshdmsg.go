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
