package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
)

// fakeKeeper is an in-memory DecisionKeeper. It refuses subjects inside
// allow, as the daemon's does, and answers err, when set, to every call.
type fakeKeeper struct {
	mu        sync.Mutex
	decisions []proxywatch.Decision
	alerts    []proxywatch.Alert // newest first
	allow     netip.Prefix
	err       error
	next      int

	// The arguments of the last calls.
	listNow    time.Time
	listAll    bool
	alertSince time.Time
	alertLimit int
}

func (k *fakeKeeper) Decisions(_ context.Context, now time.Time, all bool) ([]proxywatch.Decision, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.listNow, k.listAll = now, all
	if k.err != nil {
		return nil, k.err
	}
	var out []proxywatch.Decision
	for _, d := range k.decisions {
		if all || d.Expires.After(now) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (k *fakeKeeper) AddDecision(_ context.Context, subject proxywatch.Subject, action proxywatch.Action, ttl time.Duration, reason string, now time.Time) (proxywatch.Decision, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return proxywatch.Decision{}, k.err
	}
	if k.allow.IsValid() && k.allow.Overlaps(subject.Prefix) {
		return proxywatch.Decision{}, fmt.Errorf("decision on %s: overlaps the allowlist (%s): %w", subject, k.allow, proxywatch.ErrConflict)
	}
	k.next++
	d := proxywatch.Decision{ID: fmt.Sprintf("m-%d", k.next), Subject: subject, Action: action, Origin: "manual",
		Reason: reason, Created: now, Expires: now.Add(ttl)}
	k.decisions = append(k.decisions, d)
	return d, nil
}

func (k *fakeKeeper) DeleteDecision(_ context.Context, id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	for i, d := range k.decisions {
		if d.ID == id {
			k.decisions = append(k.decisions[:i], k.decisions[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("decision %q: %w", id, proxywatch.ErrNotFound)
}

func (k *fakeKeeper) Alerts(_ context.Context, since time.Time, limit int) ([]proxywatch.Alert, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.alertSince, k.alertLimit = since, limit
	if k.err != nil {
		return nil, k.err
	}
	var out []proxywatch.Alert
	for _, a := range k.alerts {
		if !a.Time.Before(since) && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

var cmpSubject = cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})

func TestDecisionLifecycle(t *testing.T) {
	k := &fakeKeeper{allow: netip.MustParsePrefix("192.0.2.0/28")}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Decisions = k })
	now := f.srv.d.Now()

	if got := decode[DecisionList](t, f.do("GET", "/v1/decisions", "", nil)); got.Decisions == nil || len(got.Decisions) != 0 {
		t.Fatalf("GET /v1/decisions on none = %+v, want an empty list", got)
	}
	w := f.do("POST", "/v1/decisions", writeToken, DecisionInput{Subject: "203.0.113.7", TTL: "4h", Reason: "login spray"})
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions = %d %s, want 201", w.Code, w.Body)
	}
	added := decode[proxywatch.Decision](t, w)
	want := proxywatch.Decision{ID: "m-1", Subject: proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.7")), Action: proxywatch.ActionBan,
		Origin: "manual", Reason: "login spray", Created: now, Expires: now.Add(4 * time.Hour)}
	if diff := cmp.Diff(want, added, cmpSubject); diff != "" {
		t.Errorf("POST /v1/decisions (-want +got):\n%s", diff)
	}
	w = f.do("POST", "/v1/decisions", writeToken, DecisionInput{Subject: "2001:db8:1::/48", Action: "challenge"})
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions challenge = %d %s, want 201", w.Code, w.Body)
	}
	ch := decode[proxywatch.Decision](t, w)
	if ch.Action != proxywatch.ActionChallenge || !ch.Expires.Equal(now.Add(DefaultDecisionTTL)) || ch.Subject.String() != "2001:db8:1::/48" {
		t.Errorf("POST challenge without ttl = %+v, want a challenge on 2001:db8:1::/48 for %s", ch, DefaultDecisionTTL)
	}
	// An expired one, visible only with ?all=true.
	k.decisions = append(k.decisions, proxywatch.Decision{ID: "old", Subject: proxywatch.AddrSubject(netip.MustParseAddr("198.51.100.9")),
		Action: proxywatch.ActionBan, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)})

	list := decode[DecisionList](t, f.do("GET", "/v1/decisions", "", nil))
	if len(list.Decisions) != 2 || list.Truncated || k.listAll || !k.listNow.Equal(now) {
		t.Errorf("GET /v1/decisions = %d decisions (truncated %v), asked all=%v at %v, want 2 active at %v", len(list.Decisions), list.Truncated, k.listAll, k.listNow, now)
	}
	list = decode[DecisionList](t, f.do("GET", "/v1/decisions?all=true", "", nil))
	if len(list.Decisions) != 3 || !k.listAll {
		t.Errorf("GET /v1/decisions?all=true = %d decisions, want 3", len(list.Decisions))
	}
	list = decode[DecisionList](t, f.do("GET", "/v1/decisions?all=1&limit=2", "", nil))
	if len(list.Decisions) != 2 || !list.Truncated {
		t.Errorf("GET /v1/decisions?all=1&limit=2 = %d decisions (truncated %v), want 2, truncated", len(list.Decisions), list.Truncated)
	}

	w = f.do("DELETE", "/v1/decisions/m-1", writeToken, nil)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("DELETE /v1/decisions/m-1 = %d %q, want 204 without a body", w.Code, w.Body)
	}
	e := wantError(t, f.do("DELETE", "/v1/decisions/m-1", writeToken, nil), http.StatusNotFound, CodeNotFound)
	if !strings.Contains(e.Message, "m-1") {
		t.Errorf("DELETE twice: message %q, want it to name the id", e.Message)
	}
	list = decode[DecisionList](t, f.do("GET", "/v1/decisions", "", nil))
	if len(list.Decisions) != 1 || list.Decisions[0].ID != "m-2" {
		t.Errorf("GET /v1/decisions after delete = %+v, want only m-2", list.Decisions)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "decision added") || !strings.Contains(logs, "decision deleted") || !strings.Contains(logs, "token=ops") {
		t.Errorf("log = %s, want the add and delete with the token's name", logs)
	}
}

func TestDecisionErrors(t *testing.T) {
	secret := errors.New("open /var/lib/proxywatch/pw.db: disk on fire")
	tests := []struct {
		name   string
		method string
		target string
		body   any
		err    error // the keeper's
		status int
		code   string
		msg    string
	}{
		{"no subject", "POST", "/v1/decisions", `{}`, nil, 400, CodeInvalid, "subject"},
		{"bad subject", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.300"}, nil, 400, CodeInvalid, "not an address or prefix"},
		{"domain subject", "POST", "/v1/decisions", DecisionInput{Subject: "evil.example"}, nil, 400, CodeInvalid, "not an address or prefix"},
		{"asn subject", "POST", "/v1/decisions", DecisionInput{Subject: "AS64496"}, nil, 400, CodeInvalid, "not an address or prefix"},
		{"bad action", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7", Action: "nuke"}, nil, 400, CodeInvalid, "action"},
		{"bad ttl", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7", TTL: "four hours"}, nil, 400, CodeInvalid, "ttl"},
		{"negative ttl", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7", TTL: "-1h"}, nil, 400, CodeInvalid, "ttl"},
		{"ttl too long", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7", TTL: "8761h"}, nil, 400, CodeInvalid, "ttl"},
		{"long reason", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7", Reason: strings.Repeat("r", maxReasonLen+1)}, nil, 400, CodeInvalid, "reason"},
		{"bad JSON", "POST", "/v1/decisions", `{"subject":`, nil, 400, CodeInvalid, "JSON"},
		{"unknown field", "POST", "/v1/decisions", `{"subject":"203.0.113.7","expires":"2026-01-01T00:00:00Z"}`, nil, 400, CodeInvalid, "unknown field"},
		{"body too large", "POST", "/v1/decisions", `{"subject":"203.0.113.7","reason":"` + strings.Repeat("r", 1<<20) + `"}`, nil, 413, CodeTooLarge, ""},
		{"allowlisted", "POST", "/v1/decisions", DecisionInput{Subject: "192.0.2.0/24"}, nil, 409, CodeConflict, "overlaps the allowlist"},
		{"keeper invalid", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7"}, fmt.Errorf("ttl: %w", proxywatch.ErrInvalid), 400, CodeInvalid, "203.0.113.7/32"},
		{"keeper conflict with safe message", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7"}, &proxywatch.Error{Kind: proxywatch.ErrConflict, Message: "already decided", Err: secret}, 409, CodeConflict, "already decided"},
		{"add unavailable", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7"}, fmt.Errorf("store: %w: %w", proxywatch.ErrUnavailable, secret), 503, CodeUnavailable, "unavailable"},
		{"add fails", "POST", "/v1/decisions", DecisionInput{Subject: "203.0.113.7"}, secret, 500, CodeInternal, "internal"},
		{"list bad all", "GET", "/v1/decisions?all=maybe", nil, nil, 400, CodeInvalid, "all"},
		{"list bad limit", "GET", "/v1/decisions?limit=0", nil, nil, 400, CodeInvalid, "limit"},
		{"list limit over max_list", "GET", "/v1/decisions?limit=10001", nil, nil, 400, CodeInvalid, "limit"},
		{"list unavailable", "GET", "/v1/decisions", nil, fmt.Errorf("no decisions kept: %w", proxywatch.ErrUnavailable), 503, CodeUnavailable, "unavailable"},
		{"delete bad id", "DELETE", "/v1/decisions/%01x", nil, nil, 400, CodeInvalid, "decision id"},
		{"delete long id", "DELETE", "/v1/decisions/" + strings.Repeat("x", maxDecisionIDLen+1), nil, nil, 400, CodeInvalid, "decision id"},
		{"delete missing", "DELETE", "/v1/decisions/m-404", nil, nil, 404, CodeNotFound, `no decision "m-404"`},
		{"delete unavailable", "DELETE", "/v1/decisions/m-1", nil, fmt.Errorf("%w: %w", proxywatch.ErrUnavailable, secret), 503, CodeUnavailable, "unavailable"},
		{"alerts bad since", "GET", "/v1/alerts?since=yesterday", nil, nil, 400, CodeInvalid, "since"},
		{"alerts bad limit", "GET", "/v1/alerts?limit=-1", nil, nil, 400, CodeInvalid, "limit"},
		{"alerts limit over max", "GET", "/v1/alerts?limit=10001", nil, nil, 400, CodeInvalid, "10000"},
		{"alerts unavailable", "GET", "/v1/alerts", nil, fmt.Errorf("%w: %w", proxywatch.ErrUnavailable, secret), 503, CodeUnavailable, "unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := &fakeKeeper{allow: netip.MustParsePrefix("192.0.2.0/28"), err: tc.err}
			f := newFixture(t, func(_ *Config, d *Deps) { d.Decisions = k })
			e := wantError(t, f.do(tc.method, tc.target, writeToken, tc.body), tc.status, tc.code)
			if !strings.Contains(e.Message, tc.msg) || strings.Contains(e.Message, "disk on fire") {
				t.Errorf("message = %q, want it to contain %q and no internal cause", e.Message, tc.msg)
			}
			if len(k.decisions) != 0 {
				t.Errorf("keeper holds %v after a refused request, want none", k.decisions)
			}
		})
	}
}

func TestAlerts(t *testing.T) {
	base := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	alert := func(id string, ago time.Duration) proxywatch.Alert {
		return proxywatch.Alert{ID: id, Detector: "ssh_bruteforce", Severity: proxywatch.SeverityHigh, Time: base.Add(-ago),
			Start: base.Add(-ago - time.Minute), End: base.Add(-ago), Service: "ssh",
			Subjects: []proxywatch.Subject{proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.7"))},
			Reasons:  []string{"failures>=threshold"}, Counts: map[string]int64{"failures": 20}}
	}
	k := &fakeKeeper{alerts: []proxywatch.Alert{alert("a-3", time.Hour), alert("a-2", 23*time.Hour), alert("a-1", 48*time.Hour)}}
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Decisions = k
		d.Now = func() time.Time { return base }
	})
	tests := []struct {
		name      string
		target    string
		wantIDs   []string
		wantSince time.Time
		wantLimit int
	}{
		{"defaults: a day, 100", "/v1/alerts", []string{"a-3", "a-2"}, base.Add(-24 * time.Hour), 100},
		{"since", "/v1/alerts?since=2026-08-30T00:00:00Z", []string{"a-3", "a-2", "a-1"}, time.Date(2026, 8, 30, 0, 0, 0, 0, time.UTC), 100},
		{"since with offset and nanoseconds", "/v1/alerts?since=2026-09-01T12:30:00.5%2B02:00", []string{"a-3"}, time.Date(2026, 9, 1, 10, 30, 0, 5e8, time.UTC), 100},
		{"limit", "/v1/alerts?limit=1", []string{"a-3"}, base.Add(-24 * time.Hour), 1},
		{"none", "/v1/alerts?since=2026-09-02T00:00:00Z", []string{}, time.Date(2026, 9, 2, 0, 0, 0, 0, time.UTC), 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", tc.target, "", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", tc.target, w.Code, w.Body)
			}
			got := decode[AlertList](t, w)
			ids := []string{}
			for _, a := range got.Alerts {
				ids = append(ids, a.ID)
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("GET %s ids (-want +got):\n%s", tc.target, diff)
			}
			if !k.alertSince.Equal(tc.wantSince) || k.alertLimit != tc.wantLimit {
				t.Errorf("GET %s asked Alerts(since %v, limit %d), want %v, %d", tc.target, k.alertSince, k.alertLimit, tc.wantSince, tc.wantLimit)
			}
			if strings.Contains(w.Body.String(), `"alerts":null`) {
				t.Errorf("GET %s = %s: alerts is null", tc.target, w.Body)
			}
		})
	}
	// The alert keeps the schema.md JSON.
	got := decode[AlertList](t, f.do("GET", "/v1/alerts?limit=1", "", nil))
	if diff := cmp.Diff(k.alerts[:1], got.Alerts, cmpSubject); diff != "" {
		t.Errorf("GET /v1/alerts round trip (-want +got):\n%s", diff)
	}
}
