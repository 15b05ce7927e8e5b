package authlog

import (
	"net/netip"
	"strconv"
)

// The builders below return sshd message texts (without the syslog
// prefix) in the words of OpenSSH 9.2p1 with pam_unix, as Debian 12 logs
// them.

func hostPort(a netip.Addr, port uint16) string {
	return a.String() + " port " + strconv.Itoa(int(port))
}

// InvalidUser is logged when a client names a user that does not exist.
func InvalidUser(user string, a netip.Addr, port uint16) string {
	return "Invalid user " + user + " from " + hostPort(a, port)
}

// PAMUserUnknown is pam_unix's note that the user does not exist.
func PAMUserUnknown() string { return "pam_unix(sshd:auth): check pass; user unknown" }

// PAMAuthFailure is pam_unix's first failure line of a connection; user is
// empty for an unknown user.
func PAMAuthFailure(a netip.Addr, user string) string {
	s := "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=" + a.String()
	if user != "" {
		s += "  user=" + user
	}
	return s
}

// PAMMoreFailures summarises the further failures of a connection.
func PAMMoreFailures(n int, a netip.Addr, user string) string {
	s := "PAM " + strconv.Itoa(n) + " more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=" + a.String()
	if user != "" {
		s += "  user=" + user
	}
	return s
}

// FailedPassword is logged for each rejected password.
func FailedPassword(user string, invalid bool, a netip.Addr, port uint16) string {
	s := "Failed password for "
	if invalid {
		s += "invalid user "
	}
	return s + user + " from " + hostPort(a, port) + " ssh2"
}

// Accepted is logged for a successful authentication; method is
// "password" or "publickey" (then key is "ED25519 SHA256:...").
func Accepted(method, user string, a netip.Addr, port uint16, key string) string {
	s := "Accepted " + method + " for " + user + " from " + hostPort(a, port) + " ssh2"
	if key != "" {
		s += ": " + key
	}
	return s
}

func kind(invalid bool) string {
	if invalid {
		return "invalid user "
	}
	return "authenticating user "
}

// ClosedPreauth is logged when the client closes before authenticating.
func ClosedPreauth(user string, invalid bool, a netip.Addr, port uint16) string {
	return "Connection closed by " + kind(invalid) + user + " " + hostPort(a, port) + " [preauth]"
}

// ReceivedDisconnectPreauth is logged when the client says goodbye before
// authenticating.
func ReceivedDisconnectPreauth(a netip.Addr, port uint16) string {
	return "Received disconnect from " + hostPort(a, port) + ":11: Bye Bye [preauth]"
}

// DisconnectedPreauth follows ReceivedDisconnectPreauth.
func DisconnectedPreauth(user string, invalid bool, a netip.Addr, port uint16) string {
	return "Disconnected from " + kind(invalid) + user + " " + hostPort(a, port) + " [preauth]"
}

// MaxAuthExceeded is logged when MaxAuthTries is reached.
func MaxAuthExceeded(user string, invalid bool, a netip.Addr, port uint16) string {
	s := "error: maximum authentication attempts exceeded for "
	if invalid {
		s += "invalid user "
	}
	return s + user + " from " + hostPort(a, port) + " ssh2 [preauth]"
}

// TooManyFailures follows MaxAuthExceeded.
func TooManyFailures(user string, invalid bool, a netip.Addr, port uint16) string {
	return "Disconnecting " + kind(invalid) + user + " " + hostPort(a, port) + ": Too many authentication failures [preauth]"
}

// SessionOpened is pam_unix's session line after a login.
func SessionOpened(user string, uid int) string {
	return "pam_unix(sshd:session): session opened for user " + user + "(uid=" + strconv.Itoa(uid) + ") by (uid=0)"
}

// ReceivedDisconnect is logged when a logged-in user disconnects.
func ReceivedDisconnect(a netip.Addr, port uint16) string {
	return "Received disconnect from " + hostPort(a, port) + ":11: disconnected by user"
}

// Disconnected follows ReceivedDisconnect.
func Disconnected(user string, a netip.Addr, port uint16) string {
	return "Disconnected from user " + user + " " + hostPort(a, port)
}

// SessionClosed is pam_unix's line when the session ends.
func SessionClosed(user string) string {
	return "pam_unix(sshd:session): session closed for user " + user
}

// NewSession is systemd-logind's line for a new login session.
func NewSession(n int, user string) string {
	return "New session " + strconv.Itoa(n) + " of user " + user + "."
}

// SessionLoggedOut is systemd-logind's line when the session ends.
func SessionLoggedOut(n int) string {
	return "Session " + strconv.Itoa(n) + " logged out. Waiting for processes to exit."
}

// RemovedSession is systemd-logind's last line for a session.
func RemovedSession(n int) string { return "Removed session " + strconv.Itoa(n) + "." }
