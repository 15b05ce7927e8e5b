package logparse

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
)

func TestSSHDMessages(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 1, 0, time.UTC)
	tests := []struct {
		name string
		line string
		n    int
		want proxywatch.Event
	}{
		{
			name: "failed password",
			line: "Mar  2 10:00:01 bastion sshd[1]: Failed password for root from 203.0.113.7 port 52144 ssh2",
			n:    1,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventLoginFailure, Addr: netip.MustParseAddr("203.0.113.7"), Port: 52144, User: "root", Method: "password"},
		},
		{
			name: "injected address in the user name",
			line: "Mar  2 10:00:01 bastion sshd[1]: Failed password for invalid user a from 192.0.2.1 port 1 ssh2 from 203.0.113.8 port 2 ssh2",
			n:    1,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventInvalidUser, Addr: netip.MustParseAddr("203.0.113.8"), Port: 2, User: "a from 192.0.2.1 port 1 ssh2", Method: "password"},
		},
		{
			name: "address in the auth info",
			line: "Mar  2 10:00:01 bastion sshd[1]: Failed password for invalid user a from 203.0.113.9 port 3 ssh2: from 192.0.2.1 port 1 ssh2",
			n:    1,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventInvalidUser, Addr: netip.MustParseAddr("203.0.113.9"), Port: 3, User: "a", Method: "password"},
		},
		{
			name: "mapped address",
			line: "Mar  2 10:00:01 bastion sshd[1]: ROOT LOGIN REFUSED FROM ::ffff:203.0.113.10",
			n:    1,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventLoginFailure, Addr: netip.MustParseAddr("203.0.113.10"), User: "root"},
		},
		{
			name: "repeated message",
			line: "Mar  2 10:00:01 bastion sshd[1]: message repeated 5 times: [ Invalid user x from 2001:db8::1 port 9]",
			n:    5,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventInvalidUser, Addr: netip.MustParseAddr("2001:db8::1"), Port: 9, User: "x"},
		},
		{
			name: "user name with spaces before the address",
			line: "Mar  2 10:00:01 bastion sshd[1]: Connection closed by authenticating user a b 203.0.113.11 port 4 [preauth]",
			n:    1,
			want: proxywatch.Event{Time: at, Type: proxywatch.EventPreauth, Addr: netip.MustParseAddr("203.0.113.11"), Port: 4, User: "a b"},
		},
		{
			name: "other program",
			line: "Mar  2 10:00:01 bastion sudo[1]: Failed password for root from 203.0.113.12 port 5 ssh2",
		},
		{
			name: "session end",
			line: "Mar  2 10:00:01 bastion sshd[1]: Disconnected from user alice 203.0.113.13 port 6",
		},
		{
			name: "host name client",
			line: "Mar  2 10:00:01 bastion sshd[1]: User root from host.example.org not allowed because not listed in AllowUsers",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testSSHD(t)
			ev, n, err := parseOne(p, tc.line, 7)
			if err != nil {
				t.Fatalf("Parse(%q) error %v", tc.line, err)
			}
			if n != tc.n {
				t.Fatalf("Parse(%q) = %d, want %d", tc.line, n, tc.n)
			}
			if n == 0 {
				return
			}
			tc.want.Service, tc.want.Host, tc.want.Source, tc.want.Seq = "ssh", "bastion", "test", 7
			if diff := cmp.Diff(tc.want, ev, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

// TestSSHDConnectionTable checks that a line without an address takes the
// one an earlier line of its connection gave, or waits for a later one.
func TestSSHDConnectionTable(t *testing.T) {
	p := testSSHD(t)
	steps := []struct {
		line string
		typ  proxywatch.EventType // EventUnknown: no event
		addr string
		user string
	}{
		{"Mar  2 10:00:00 h sshd[9]: User alice not allowed because account is locked", 0, "", ""},
		{"Mar  2 10:00:01 h sshd[8]: Connection closed by 203.0.113.1 port 1", 0, "", ""},
		{"Mar  2 10:00:02 h sshd[9]: Connection closed by 203.0.113.2 port 2", proxywatch.EventLoginFailure, "203.0.113.2", "alice"},
		{"Mar  2 10:00:03 h sshd[9]: Disconnecting: Too many authentication failures [preauth]", proxywatch.EventLoginFailure, "203.0.113.2", ""},
		{"Mar  2 10:00:04 other sshd[9]: Disconnecting: Too many authentication failures [preauth]", 0, "", ""},
		{"Mar  2 10:20:05 h sshd[9]: Disconnecting: Too many authentication failures [preauth]", 0, "", ""},
	}
	for i, s := range steps {
		ev, n, err := parseOne(p, s.line, uint64(i+1))
		if err != nil {
			t.Fatalf("Parse(%q) error %v", s.line, err)
		}
		if (n > 0) != (s.typ != proxywatch.EventUnknown) || ev.Type != s.typ {
			t.Fatalf("Parse(%q) = %d, %v; want type %v", s.line, n, ev.Type, s.typ)
		}
		if n > 0 && (ev.Addr.String() != s.addr || ev.User != s.user) {
			t.Errorf("Parse(%q) = %v %q, want %s %q", s.line, ev.Addr, ev.User, s.addr, s.user)
		}
	}
	if got := p.Stats().ByReason[ReasonPending]; got != 3 {
		t.Errorf("Stats().ByReason[pending] = %d, want 3", got)
	}
}

func TestYearGuess(t *testing.T) {
	jan := func() time.Time { return time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		now    func() time.Time
		months []time.Month
		want   []int
	}{
		{"december log read in january", jan, []time.Month{12, 12, 1}, []int{2026, 2026, 2027}},
		{"this year", jan, []time.Month{1, 1}, []int{2027, 2027}},
		{"old straggler", refNow, []time.Month{1, 12, 1}, []int{2026, 2025, 2026}},
		{"rollover", refNow, []time.Month{8, 9, 12, 1, 2}, []int{2026, 2026, 2025, 2026, 2026}},
		{"never months ahead", refNow, []time.Month{9, 11}, []int{2026, 2025}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := yearGuess{now: tc.now}
			var got []int
			for _, m := range tc.months {
				got = append(got, y.year(m))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("year(%v) (-want +got):\n%s", tc.months, diff)
			}
		})
	}
}

func TestSSHDTimeZone(t *testing.T) {
	c := DefaultSSHDConfig()
	c.TimeZone = "Europe/Berlin"
	c.Year = 2026
	p, err := NewSSHD(c, "test")
	if err != nil {
		t.Skipf("NewSSHD(Europe/Berlin): %v", err)
	}
	ev, _, _ := parseOne(p, "Jul  1 12:00:00 h sshd[1]: Invalid user x from 203.0.113.1", 1)
	if want := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("Parse() time %v, want %v", ev.Time, want)
	}
	ev, _, _ = parseOne(p, "2026-07-01T12:00:00+00:00 h sshd[1]: Invalid user x from 203.0.113.1", 2)
	if want := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("Parse() time %v, want %v (the offset wins)", ev.Time, want)
	}
}

func TestSSHDConfigValidate(t *testing.T) {
	bad := SSHDConfig{TimeZone: "Mars/Olympus", Year: -1, Service: ""}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate() = nil for a bad config")
	}
	for _, want := range []string{"time zone", "year", "programs", "service"} {
		if !contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
	if err := DefaultSSHDConfig().Validate(); err != nil {
		t.Errorf("DefaultSSHDConfig().Validate() = %v", err)
	}
}

func TestParseError(t *testing.T) {
	p := testSSHD(t)
	_, n, err := parseOne(p, "Xyz  2 10:00:01 h sshd[1]: Invalid user x from 203.0.113.1", 42)
	var pe *ParseError
	if n != 0 || !errors.As(err, &pe) || pe.Line != 42 || pe.Reason != ReasonSyntax || pe.Source != "test" {
		t.Fatalf("Parse() = %d, %#v; want a syntax *ParseError at line 42", n, err)
	}
	if !errors.Is(err, errSyntax) {
		t.Errorf("errors.Is(%v, errSyntax) = false", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
