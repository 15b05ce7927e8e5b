package api

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
)

// fakeHosts is a HostReporter over a fixed report.
type fakeHosts []HostReport

func (f fakeHosts) Hosts() []HostReport { return f }

func TestHosts(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	host := func(addr string, conf uint8, roles ...proxywatch.Role) HostReport {
		a := netip.MustParseAddr(addr)
		h := HostReport{Host: a, Roles: roles, Confidence: conf, First: t0, Last: t0.Add(time.Hour)}
		for _, r := range roles {
			h.Findings = append(h.Findings, proxywatch.Finding{ID: "f-" + addr + "-" + string(r), Detector: string(r), Role: r,
				Subject: proxywatch.AddrSubject(a), Inside: true, Confidence: conf, Time: t0.Add(time.Hour), Start: t0, End: t0.Add(time.Hour)})
		}
		return h
	}
	relay := host("192.0.2.10", 80, proxywatch.RoleRelay, proxywatch.RoleBot)
	relay.Peers = []netip.Addr{netip.MustParseAddr("203.0.113.9")}
	relay.Ports = []uint16{1080, 7777}
	bot := host("192.0.2.20", 95, proxywatch.RoleBot)
	exposed := host("2001:db8::20", 60, proxywatch.RoleExposedProxy)
	sameConf := host("192.0.2.5", 60, proxywatch.RoleExposedProxy)
	bare := HostReport{Host: netip.MustParseAddr("192.0.2.99"), Confidence: 10}
	report := fakeHosts{relay, exposed, bare, bot, sameConf}

	tests := []struct {
		name   string
		target string
		want   []HostReport
	}{
		{"all, by falling confidence then address", "/v1/hosts", []HostReport{bot, relay, sameConf, exposed,
			{Host: bare.Host, Confidence: 10, Roles: []proxywatch.Role{}, Findings: []proxywatch.Finding{}}}},
		{"role", "/v1/hosts?role=bot", []HostReport{bot, relay}},
		{"role relay", "/v1/hosts?role=relay", []HostReport{relay}},
		{"min_confidence", "/v1/hosts?min_confidence=60", []HostReport{bot, relay, sameConf, exposed}},
		{"both", "/v1/hosts?role=exposed-proxy&min_confidence=61", []HostReport{}},
		{"min_confidence 0", "/v1/hosts?min_confidence=0&role=bot", []HostReport{bot, relay}},
	}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Hosts = report })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", tc.target, "", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", tc.target, w.Code, w.Body)
			}
			got := decode[HostList](t, w)
			if diff := cmp.Diff(tc.want, got.Hosts, cmpSubject); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.target, diff)
			}
			if strings.Contains(w.Body.String(), "null") {
				t.Errorf("GET %s = %s: has a null", tc.target, w.Body)
			}
		})
	}
	if report[0].Host != relay.Host || report[2].Roles != nil {
		t.Errorf("GET /v1/hosts changed the reporter's slice: %v", report)
	}

	for _, target := range []string{"/v1/hosts?role=king", "/v1/hosts?role=benign-lookalike", "/v1/hosts?min_confidence=101", "/v1/hosts?min_confidence=x"} {
		wantError(t, f.do("GET", target, "", nil), http.StatusBadRequest, CodeInvalid)
	}
}
