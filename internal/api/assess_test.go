package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
)

// assessCall is what an Assessor was asked.
type assessCall struct {
	IP      netip.Addr
	User    string
	Outcome string
}

// fakeAssessor answers from a function of its arguments and records the
// last call.
type fakeAssessor struct {
	last assessCall
	fn   func(c assessCall) (Assessment, error)
}

func (f *fakeAssessor) Assess(ip netip.Addr, user, outcome string) (Assessment, error) {
	f.last = assessCall{ip, user, outcome}
	return f.fn(f.last)
}

// scoreByOutcome is an Assessor's answer that depends on its arguments,
// so that a test sees they arrived.
func scoreByOutcome(c assessCall) (Assessment, error) {
	switch c.Outcome {
	case "failure":
		return Assessment{Score: 90, Action: "deny", Reasons: []string{"failures>=threshold", "user:" + c.User}}, nil
	case "success":
		return Assessment{Score: 10, Action: "allow", Reasons: []string{"known-source"}}, nil
	}
	return Assessment{Score: 50, Action: "challenge", Reasons: []string{"campaign"}}, nil
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name     string
		body     any
		fn       func(assessCall) (Assessment, error)
		want     AssessResponse
		wantCall assessCall
	}{
		{
			name:     "default outcome",
			body:     AssessRequest{IP: "203.0.113.7", User: "alice"},
			fn:       scoreByOutcome,
			want:     AssessResponse{IP: netip.MustParseAddr("203.0.113.7"), User: "alice", Assessment: Assessment{Score: 50, Action: "challenge", Reasons: []string{"campaign"}}},
			wantCall: assessCall{netip.MustParseAddr("203.0.113.7"), "alice", "unknown"},
		},
		{
			name:     "failure",
			body:     AssessRequest{IP: "2001:db8::7", User: "bob", Outcome: "failure"},
			fn:       scoreByOutcome,
			want:     AssessResponse{IP: netip.MustParseAddr("2001:db8::7"), User: "bob", Assessment: Assessment{Score: 90, Action: "deny", Reasons: []string{"failures>=threshold", "user:bob"}}},
			wantCall: assessCall{netip.MustParseAddr("2001:db8::7"), "bob", "failure"},
		},
		{
			name:     "mapped address is unmapped, empty user allowed",
			body:     AssessRequest{IP: "::ffff:192.0.2.1", Outcome: "success"},
			fn:       scoreByOutcome,
			want:     AssessResponse{IP: netip.MustParseAddr("192.0.2.1"), Assessment: Assessment{Score: 10, Action: "allow", Reasons: []string{"known-source"}}},
			wantCall: assessCall{netip.MustParseAddr("192.0.2.1"), "", "success"},
		},
		{
			name:     "score clamped and nil reasons become empty",
			body:     AssessRequest{IP: "198.51.100.7", User: "carol"},
			fn:       func(assessCall) (Assessment, error) { return Assessment{Score: 170, Action: "deny"}, nil },
			want:     AssessResponse{IP: netip.MustParseAddr("198.51.100.7"), User: "carol", Assessment: Assessment{Score: 100, Action: "deny", Reasons: []string{}}},
			wantCall: assessCall{netip.MustParseAddr("198.51.100.7"), "carol", "unknown"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fa := &fakeAssessor{fn: tc.fn}
			f := newFixture(t, func(_ *Config, d *Deps) { d.Assess = fa })
			w := f.do("POST", "/v1/assess", "", tc.body)
			if w.Code != http.StatusOK {
				t.Fatalf("POST /v1/assess = %d %s, want 200", w.Code, w.Body)
			}
			if diff := cmp.Diff(tc.want, decode[AssessResponse](t, w), cmpSubject); diff != "" {
				t.Errorf("POST /v1/assess (-want +got):\n%s", diff)
			}
			if fa.last != tc.wantCall {
				t.Errorf("Assess(%v) called, want %v", fa.last, tc.wantCall)
			}
			if !strings.Contains(w.Body.String(), `"reasons":[`) {
				t.Errorf("body %s: reasons is not an array", w.Body)
			}
		})
	}
}

func TestAssessErrors(t *testing.T) {
	secret := errors.New("/var/lib/proxywatch/state: disk on fire")
	tests := []struct {
		name   string
		body   any
		err    error // the Assessor's
		status int
		code   string
		msg    string // part of the message
	}{
		{"no ip", AssessRequest{User: "alice"}, nil, 400, CodeInvalid, "ip: required"},
		{"bad ip", AssessRequest{IP: "203.0.113.300", User: "alice"}, nil, 400, CodeInvalid, "not an IP address"},
		{"zoned ip", AssessRequest{IP: "fe80::1%eth0", User: "alice"}, nil, 400, CodeInvalid, "ip: "},
		{"bad outcome", AssessRequest{IP: "192.0.2.1", Outcome: "maybe"}, nil, 400, CodeInvalid, "outcome"},
		{"long user", AssessRequest{IP: "192.0.2.1", User: strings.Repeat("u", maxUserLen+1)}, nil, 400, CodeInvalid, "user"},
		{"bad JSON", `{"ip":`, nil, 400, CodeInvalid, "JSON"},
		{"empty body", ``, nil, 400, CodeInvalid, "empty"},
		{"unknown field", `{"ip":"192.0.2.1","password":"hunter2"}`, nil, 400, CodeInvalid, "unknown field"},
		{"wrong type", `{"ip":7}`, nil, 400, CodeInvalid, "wrong type"},
		{"body over 64 KiB", `{"ip":"192.0.2.1","user":"` + strings.Repeat("u", maxAssessBody) + `"}`, nil, 413, CodeTooLarge, ""},
		{"assessor invalid", AssessRequest{IP: "192.0.2.1"}, fmt.Errorf("user %q: empty: %w", "", proxywatch.ErrInvalid), 400, CodeInvalid, `user "": empty`},
		{"assessor invalid with safe message", AssessRequest{IP: "192.0.2.1"}, &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: "no such service", Err: secret}, 400, CodeInvalid, "no such service"},
		{"assessor unavailable", AssessRequest{IP: "192.0.2.1"}, fmt.Errorf("watch: %w: %w", proxywatch.ErrUnavailable, secret), 503, CodeUnavailable, "temporarily unavailable"},
		{"assessor fails", AssessRequest{IP: "192.0.2.1"}, secret, 500, CodeInternal, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			fa := &fakeAssessor{fn: func(assessCall) (Assessment, error) { called = true; return Assessment{}, tc.err }}
			f := newFixture(t, func(_ *Config, d *Deps) { d.Assess = fa })
			e := wantError(t, f.do("POST", "/v1/assess", "", tc.body), tc.status, tc.code)
			if !strings.Contains(e.Message, tc.msg) || strings.Contains(e.Message, "disk on fire") {
				t.Errorf("message = %q, want it to contain %q and no internal cause", e.Message, tc.msg)
			}
			if called != (tc.err != nil) {
				t.Errorf("Assessor called = %v, want %v", called, tc.err != nil)
			}
		})
	}
}

// TestAssessBodyLimit checks that the assessment's own 64 KiB bound
// holds even when max_body_bytes allows more, and that a smaller
// max_body_bytes wins.
func TestAssessBodyLimit(t *testing.T) {
	ok := func(assessCall) (Assessment, error) { return Assessment{Action: "allow"}, nil }
	body := func(n int) string { return `{"ip":"192.0.2.1","user":"` + strings.Repeat("u", n) + `"}` }
	tests := []struct {
		name    string
		maxBody int64
		body    string
		status  int
	}{
		{"small body", 1 << 20, body(10), 200},
		{"just under 64 KiB is read whole", 1 << 20, `{"ip":"192.0.2.1"}` + strings.Repeat(" ", maxAssessBody-30), 200},
		{"over 64 KiB", 1 << 20, body(maxAssessBody), 413},
		{"over max_body_bytes", 100, body(200), 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config, d *Deps) { c.MaxBodyBytes = tc.maxBody; d.Assess = &fakeAssessor{fn: ok} })
			w := f.do("POST", "/v1/assess", "", tc.body)
			if w.Code != tc.status {
				t.Errorf("POST /v1/assess with %d bytes = %d %s, want %d", len(tc.body), w.Code, w.Body, tc.status)
			}
		})
	}
}
