package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

func TestGetVerdict(t *testing.T) {
	f := newFixture(t, nil)
	type hit struct {
		Feed   string
		Line   int
		Kind   string
		Conf   uint8
		Counts bool
	}
	tests := []struct {
		name        string
		addr        string
		query       string
		wantAddr    string
		listed      bool
		allowlisted bool
		kind        string
		conf        uint8
		hits        []hit
	}{
		{
			name: "open proxy inside c2 range", addr: "198.51.100.7", wantAddr: "198.51.100.7",
			listed: true, kind: "c2", conf: 90,
			hits: []hit{{"c2s", 3, "c2", 80, true}, {"proxies", 12, "open-proxy", 90, true}},
		},
		{
			name: "c2 range only", addr: "198.51.100.200", wantAddr: "198.51.100.200",
			listed: true, kind: "c2", conf: 80, hits: []hit{{"c2s", 3, "c2", 80, true}},
		},
		{
			name: "raised minimum leaves the open proxy", addr: "198.51.100.7", query: "?min_confidence=85", wantAddr: "198.51.100.7",
			listed: true, kind: "open-proxy", conf: 90,
			hits: []hit{{"c2s", 3, "c2", 80, false}, {"proxies", 12, "open-proxy", 90, true}},
		},
		{
			name: "mapped address is unmapped", addr: "::ffff:198.51.100.7", wantAddr: "198.51.100.7",
			listed: true, kind: "c2", conf: 90,
			hits: []hit{{"c2s", 3, "c2", 80, true}, {"proxies", 12, "open-proxy", 90, true}},
		},
		{
			name: "below minimum is evidence only", addr: "203.0.113.50", wantAddr: "203.0.113.50",
			listed: false, conf: 30, hits: []hit{{"noisy", 7, "scanner", 30, false}},
		},
		{
			name: "allowlisted keeps evidence", addr: "127.0.0.1", wantAddr: "127.0.0.1",
			allowlisted: true, kind: "open-proxy", conf: 90, hits: []hit{{"proxies", 13, "open-proxy", 90, true}},
		},
		{
			name: "ipv6", addr: "2001:db8::7", wantAddr: "2001:db8::7",
			listed: true, kind: "brute-force", conf: 70, hits: []hit{{"ssh", 1, "brute-force", 70, true}},
		},
		{name: "unlisted", addr: "203.0.113.9", wantAddr: "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do("GET", "/v1/ip/"+tc.addr+tc.query, "", nil)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s, want 200", tc.addr, w.Code, w.Body)
			}
			v := decode[Verdict](t, w)
			if v.Addr.String() != tc.wantAddr || v.Listed != tc.listed || v.Allowlisted != tc.allowlisted || v.Kind != tc.kind || v.Confidence != tc.conf {
				t.Errorf("GET %s = addr %s listed %v allowlisted %v kind %q conf %d, want %s %v %v %q %d",
					tc.addr, v.Addr, v.Listed, v.Allowlisted, v.Kind, v.Confidence, tc.wantAddr, tc.listed, tc.allowlisted, tc.kind, tc.conf)
			}
			var got []hit
			for _, e := range v.Evidence {
				got = append(got, hit{e.Source.Feed, e.Source.Line, e.Kind.String(), e.Confidence, e.Counts})
				if e.Via != "prefix" || e.Port != 1080 || e.Proto != "socks5" || e.Source.Section != "test" {
					t.Errorf("evidence %+v: want via prefix, port 1080, proto socks5, section test", e)
				}
			}
			if diff := cmp.Diff(tc.hits, got); diff != "" {
				t.Errorf("GET %s evidence (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
}

func TestGetVerdictInvalid(t *testing.T) {
	f := newFixture(t, nil)
	for _, target := range []string{
		"/v1/ip/not-an-address",
		"/v1/ip/fe80::1%25eth0",
		"/v1/ip/198.51.100.7?min_confidence=0",
		"/v1/ip/198.51.100.7?min_confidence=101",
		"/v1/ip/198.51.100.0%2F24",
	} {
		t.Run(target, func(t *testing.T) {
			wantError(t, f.do("GET", target, "", nil), http.StatusBadRequest, CodeInvalid)
		})
	}
}

type fakeEnricher map[netip.Addr]enrich.Info

func (e fakeEnricher) Lookup(a netip.Addr) enrich.Info { return e[a] }

func TestVerdictEnrichment(t *testing.T) {
	info := enrich.Info{ASN: 64496, Org: "Example Net", Country: "SE"}
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Enrich = fakeEnricher{netip.MustParseAddr("198.51.100.7"): info}
	})
	v := decode[Verdict](t, f.do("GET", "/v1/ip/198.51.100.7", "", nil))
	if v.Enrichment == nil || *v.Enrichment != info {
		t.Errorf("GET 198.51.100.7 enrichment = %+v, want %+v", v.Enrichment, info)
	}
	v = decode[Verdict](t, f.do("GET", "/v1/ip/203.0.113.9", "", nil))
	if v.Enrichment != nil {
		t.Errorf("GET 203.0.113.9 enrichment = %+v, want none", v.Enrichment)
	}
}

func TestPostBatch(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxBatch = 3 })
	w := f.do("POST", "/v1/ip", "", BatchRequest{Addrs: []string{"203.0.113.9", "198.51.100.7", "2001:db8::7"}})
	if w.Code != http.StatusOK {
		t.Fatalf("POST /v1/ip = %d %s", w.Code, w.Body)
	}
	resp := decode[BatchResponse](t, w)
	var got []string
	for _, v := range resp.Verdicts {
		got = append(got, fmt.Sprintf("%s=%v", v.Addr, v.Listed))
	}
	want := []string{"203.0.113.9=false", "198.51.100.7=true", "2001:db8::7=true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST /v1/ip verdicts (-want +got):\n%s", diff)
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"too many", BatchRequest{Addrs: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}}, 413, CodeTooLarge, ""},
		{"bad address", BatchRequest{Addrs: []string{"192.0.2.1", "nope"}}, 400, CodeInvalid, `addrs[1]: "nope"`},
		{"unknown field", `{"addresses":["192.0.2.1"]}`, 400, CodeInvalid, `unknown field "addresses"`},
		{"syntax", `{"addrs":[`, 400, CodeInvalid, "malformed"},
		{"empty body", ``, 400, CodeInvalid, "empty"},
		{"two values", `{"addrs":[]} {}`, 400, CodeInvalid, "more than one"},
		{"wrong type", `{"addrs":"192.0.2.1"}`, 400, CodeInvalid, "wrong type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, f.do("POST", "/v1/ip", "", tc.body), tc.status, tc.code)
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.msg)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxBodyBytes = 64 })
	body := `{"addrs":["` + strings.Repeat("1", 100) + `"]}`
	wantError(t, f.do("POST", "/v1/ip", "", body), http.StatusRequestEntityTooLarge, CodeTooLarge)
}

func TestUnmatched(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do("PUT", "/v1/ip/192.0.2.1", "", nil)
	wantError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := w.Header().Get("Allow"); got != "GET" {
		t.Errorf("PUT /v1/ip/x Allow = %q, want GET", got)
	}
	wantError(t, f.do("GET", "/v2/ip/192.0.2.1", "", nil), http.StatusNotFound, CodeNotFound)
	wantError(t, f.do("GET", "/", "", nil), http.StatusNotFound, CodeNotFound)
}

// The daemon's types satisfy the interfaces the API defines.
var (
	_ Lookuper       = (*verdict.Table)(nil)
	_ IndicatorStore = (store.Store)(nil)
	_ Enricher       = (*enrich.Enricher)(nil)
)

// allowTable adds the allowlist query a table may offer.
type allowTable struct {
	*verdict.Table
	allow netip.Prefix
}

func (a allowTable) Allowlisted(addr netip.Addr) bool { return a.allow.Contains(addr) }

func TestAllowlistedWithoutHits(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Table = allowTable{d.Table.(*verdict.Table), netip.MustParsePrefix("10.0.0.0/8")}
	})
	if v := decode[Verdict](t, f.do("GET", "/v1/ip/10.1.2.3", "", nil)); !v.Allowlisted || v.Listed {
		t.Errorf("GET 10.1.2.3 = allowlisted %v listed %v, want allowlisted, not listed", v.Allowlisted, v.Listed)
	}
	if v := decode[Verdict](t, f.do("GET", "/v1/ip/203.0.113.9", "", nil)); v.Allowlisted {
		t.Errorf("GET 203.0.113.9 = allowlisted, want not")
	}
}
