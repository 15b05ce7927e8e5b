package authlog

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	src  = netip.MustParseAddr("203.0.113.7")
	src6 = netip.MustParseAddr("2001:db8::7")
)

func TestSSHDMessages(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"invalid user", InvalidUser("admin", src, 52144), "Invalid user admin from 203.0.113.7 port 52144"},
		{"pam unknown", PAMUserUnknown(), "pam_unix(sshd:auth): check pass; user unknown"},
		{"pam failure", PAMAuthFailure(src, "root"),
			"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root"},
		{"pam failure unknown user", PAMAuthFailure(src, ""),
			"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7"},
		{"pam more", PAMMoreFailures(5, src, "root"),
			"PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root"},
		{"failed", FailedPassword("root", false, src, 52144), "Failed password for root from 203.0.113.7 port 52144 ssh2"},
		{"failed invalid", FailedPassword("oracle", true, src6, 1022), "Failed password for invalid user oracle from 2001:db8::7 port 1022 ssh2"},
		{"accepted key", Accepted("publickey", "anna", src, 40000, "ED25519 SHA256:abc"),
			"Accepted publickey for anna from 203.0.113.7 port 40000 ssh2: ED25519 SHA256:abc"},
		{"accepted password", Accepted("password", "anna", src, 40000, ""), "Accepted password for anna from 203.0.113.7 port 40000 ssh2"},
		{"closed preauth", ClosedPreauth("root", false, src, 5), "Connection closed by authenticating user root 203.0.113.7 port 5 [preauth]"},
		{"closed invalid", ClosedPreauth("test", true, src, 5), "Connection closed by invalid user test 203.0.113.7 port 5 [preauth]"},
		{"received disconnect", ReceivedDisconnectPreauth(src, 5), "Received disconnect from 203.0.113.7 port 5:11: Bye Bye [preauth]"},
		{"disconnected", DisconnectedPreauth("test", true, src, 5), "Disconnected from invalid user test 203.0.113.7 port 5 [preauth]"},
		{"max auth", MaxAuthExceeded("root", false, src, 5), "error: maximum authentication attempts exceeded for root from 203.0.113.7 port 5 ssh2 [preauth]"},
		{"max auth invalid", MaxAuthExceeded("x", true, src, 5), "error: maximum authentication attempts exceeded for invalid user x from 203.0.113.7 port 5 ssh2 [preauth]"},
		{"too many", TooManyFailures("root", false, src, 5), "Disconnecting authenticating user root 203.0.113.7 port 5: Too many authentication failures [preauth]"},
		{"session opened", SessionOpened("anna", 1001), "pam_unix(sshd:session): session opened for user anna(uid=1001) by (uid=0)"},
		{"user disconnect", ReceivedDisconnect(src, 5), "Received disconnect from 203.0.113.7 port 5:11: disconnected by user"},
		{"disconnected user", Disconnected("anna", src, 5), "Disconnected from user anna 203.0.113.7 port 5"},
		{"logind", NewSession(12, "anna"), "New session 12 of user anna."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got  %q\nwant %q", tc.got, tc.want)
			}
		})
	}
}

func TestSyslog(t *testing.T) {
	var b bytes.Buffer
	s := NewSyslog(&b, "bastion", time.UTC)
	ts := time.Date(2026, 3, 2, 9, 5, 7, 0, time.UTC).UnixMicro()
	_ = s.Write(ts, "sshd", 1234, "Invalid user admin from 203.0.113.7 port 52144")
	_ = s.Write(ts+10*86400e6, "systemd-logind", 412, "New session 1 of user anna.")
	_ = s.Flush()
	want := "Mar  2 09:05:07 bastion sshd[1234]: Invalid user admin from 203.0.113.7 port 52144\n" +
		"Mar 12 09:05:07 bastion systemd-logind[412]: New session 1 of user anna.\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("syslog lines (-want +got):\n%s", diff)
	}
	if s.Lines() != 2 {
		t.Errorf("Lines() = %d, want 2", s.Lines())
	}
}

func TestAccess(t *testing.T) {
	var b bytes.Buffer
	a := NewAccess(&b, time.UTC)
	_ = a.Write(&AccessEntry{Time: time.Date(2026, 3, 2, 10, 0, 1, 0, time.UTC).UnixMicro(), Addr: src, Method: "POST",
		Path: "/login", Status: 302, Size: 0, Referer: "https://shop.example/login", UserAgent: "Mozilla/5.0"})
	_ = a.Write(&AccessEntry{Time: 0, Addr: src6, Method: "GET", Path: "/", Status: 200, Size: 18000, UserAgent: "curl/8.5.0"})
	_ = a.Flush()
	want := `203.0.113.7 - - [02/Mar/2026:10:00:01 +0000] "POST /login HTTP/1.1" 302 0 "https://shop.example/login" "Mozilla/5.0"` + "\n" +
		`2001:db8::7 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 18000 "-" "curl/8.5.0"` + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("access lines (-want +got):\n%s", diff)
	}
}

func TestWebEvents(t *testing.T) {
	var b bytes.Buffer
	j := NewJSONLines(&b)
	ev := WebEvent{Time: time.Date(2026, 3, 2, 10, 0, 1, 500e6, time.UTC), Service: "web", Host: "shop", Event: "login",
		User: "anna.meyer", SrcIP: src, SrcPort: 40000, Outcome: OutcomeFailure, Reason: "bad_password", Method: "form", UserAgent: "A<B>"}
	_ = j.Write(&ev)
	_ = j.Flush()
	want := `{"time":"2026-03-02T10:00:01.5Z","service":"web","host":"shop","event":"login","user":"anna.meyer","src_ip":"203.0.113.7","src_port":40000,"outcome":"failure","reason":"bad_password","method":"form","user_agent":"A<B>"}` + "\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("web event (-want +got):\n%s", diff)
	}
	var back WebEvent
	if err := json.Unmarshal([]byte(strings.TrimSpace(b.String())), &back); err != nil || !cmp.Equal(ev, back, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}
