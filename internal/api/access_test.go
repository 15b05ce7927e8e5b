package api

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/proxywatch/proxywatch"
)

// withAll wires a fake for every optional dependency of the assessment,
// decision, alert and host endpoints.
func withAll(closed bool) func(*Config, *Deps) {
	return func(c *Config, d *Deps) {
		c.ReadRequiresToken = closed
		d.Assess = &fakeAssessor{fn: scoreByOutcome}
		d.Decisions = &fakeKeeper{decisions: []proxywatch.Decision{{ID: "m-1", Subject: proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.7")), Action: proxywatch.ActionBan}}}
		d.Hosts = fakeHosts{{Host: netip.MustParseAddr("192.0.2.10"), Roles: []proxywatch.Role{proxywatch.RoleRelay}, Confidence: 80}}
	}
}

func TestAccessNewEndpoints(t *testing.T) {
	type req struct {
		method, target string
		body           any
		ok             int // the status with enough access
	}
	reads := []req{
		{"POST", "/v1/assess", AssessRequest{IP: "203.0.113.7", User: "alice"}, 200},
		{"GET", "/v1/decisions", nil, 200},
		{"GET", "/v1/alerts", nil, 200},
		{"GET", "/v1/hosts", nil, 200},
	}
	writes := []req{
		{"POST", "/v1/decisions", DecisionInput{Subject: "198.51.100.0/24", TTL: "1h"}, 201},
		{"DELETE", "/v1/decisions/m-1", nil, 204},
	}
	tests := []struct {
		name   string
		closed bool
		token  string
		reqs   []req
		status int // 0: the request's ok status
		code   string
	}{
		{"open read without token", false, "", reads, 0, ""},
		{"open read with read token", false, readToken, reads, 0, ""},
		{"open read with wrong token", false, "x" + readToken, reads, 401, CodeUnauthorized},
		{"closed read without token", true, "", reads, 401, CodeUnauthorized},
		{"closed read with read token", true, readToken, reads, 0, ""},
		{"closed read with write token", true, writeToken, reads, 0, ""},
		{"write without token", false, "", writes, 401, CodeUnauthorized},
		{"write with wrong token", false, writeToken + "x", writes, 401, CodeUnauthorized},
		{"write with read token", false, readToken, writes, 403, CodeForbidden},
		{"write with write token", false, writeToken, writes, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rq := range tc.reqs {
				f := newFixture(t, withAll(tc.closed))
				w := f.do(rq.method, rq.target, tc.token, rq.body)
				if tc.code != "" {
					wantError(t, w, tc.status, tc.code)
					continue
				}
				if w.Code != rq.ok {
					t.Errorf("%s %s = %d %s, want %d", rq.method, rq.target, w.Code, w.Body, rq.ok)
				}
			}
		})
	}
}

// TestMissingDeps checks that every endpoint whose dependency is nil
// answers 404 not_found, as the store's, feeds' and exports' do, and
// that access is checked first.
func TestMissingDeps(t *testing.T) {
	tests := []struct {
		name           string
		method, target string
		body           any
		write          bool
	}{
		{"assess", "POST", "/v1/assess", AssessRequest{IP: "203.0.113.7"}, false},
		{"list decisions", "GET", "/v1/decisions", nil, false},
		{"add decision", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7"}, true},
		{"delete decision", "DELETE", "/v1/decisions/m-1", nil, true},
		{"alerts", "GET", "/v1/alerts", nil, false},
		{"hosts", "GET", "/v1/hosts", nil, false},
	}
	f := newFixture(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do(tc.method, tc.target, writeToken, tc.body), http.StatusNotFound, CodeNotFound)
			if tc.write {
				wantError(t, f.do(tc.method, tc.target, readToken, tc.body), http.StatusForbidden, CodeForbidden)
			}
		})
	}
}
