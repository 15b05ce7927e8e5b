package api

import (
	"context"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
)

func TestIndicatorLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	const subj = "203.0.113.0/28"

	if v := decode[Verdict](t, f.do("GET", "/v1/ip/203.0.113.5", "", nil)); v.Listed {
		t.Fatalf("GET 203.0.113.5 before add: listed")
	}
	w := f.do("POST", "/v1/indicators", writeToken, IndicatorInput{Subject: subj, Kind: "residential-proxy", TTL: "24h", Comment: "seen in login spray", Tags: []string{"spray"}})
	if w.Code != http.StatusCreated {
		t.Fatalf("POST /v1/indicators = %d %s, want 201", w.Code, w.Body)
	}
	added := decode[IndicatorList](t, w).Indicators
	now := f.srv.d.Now()
	want := proxywatch.Indicator{
		Subject: proxywatch.PrefixSubject(netip.MustParsePrefix(subj)), Kind: proxywatch.KindResidentialProxy,
		Source: proxywatch.Source{Feed: "local"}, Confidence: 100, Tags: []string{"spray"},
		Comment: "seen in login spray", FirstSeen: now, LastSeen: now, Expires: now.Add(24 * time.Hour),
	}
	if diff := cmp.Diff([]proxywatch.Indicator{want}, added, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("POST /v1/indicators added (-want +got):\n%s", diff)
	}
	// The store followed into the table: the verdict changes.
	v := decode[Verdict](t, f.do("GET", "/v1/ip/203.0.113.5", "", nil))
	if !v.Listed || v.Kind != "residential-proxy" || len(v.Evidence) != 1 || v.Evidence[0].Source.Feed != "local" {
		t.Errorf("GET 203.0.113.5 after add = %+v, want listed residential-proxy from local", v)
	}

	w = f.do("POST", "/v1/indicators", writeToken, AddRequest{Indicators: []IndicatorInput{
		{Subject: "192.0.2.66", Kind: "scanner", Confidence: 60},
		{Subject: "evil.example", Kind: "c2"},
		{Subject: "AS64496", Kind: "anonymizer"},
	}})
	if w.Code != http.StatusCreated || len(decode[IndicatorList](t, w).Indicators) != 3 {
		t.Fatalf("POST /v1/indicators batch = %d %s, want 201 with 3", w.Code, w.Body)
	}

	list := decode[IndicatorList](t, f.do("GET", "/v1/indicators", "", nil))
	if len(list.Indicators) != 4 || list.Truncated {
		t.Errorf("GET /v1/indicators = %d indicators (truncated %v), want 4", len(list.Indicators), list.Truncated)
	}
	list = decode[IndicatorList](t, f.do("GET", "/v1/indicators?limit=2", "", nil))
	if len(list.Indicators) != 2 || !list.Truncated {
		t.Errorf("GET /v1/indicators?limit=2 = %d indicators (truncated %v), want 2, truncated", len(list.Indicators), list.Truncated)
	}

	got := decode[IndicatorList](t, f.do("GET", "/v1/indicators/"+subj, "", nil))
	if len(got.Indicators) != 1 || got.Indicators[0].Subject.String() != subj {
		t.Errorf("GET /v1/indicators/%s = %+v, want the one added", subj, got)
	}
	wantError(t, f.do("GET", "/v1/indicators/"+subj+"?kind=c2", "", nil), http.StatusNotFound, CodeNotFound)

	w = f.do("DELETE", "/v1/indicators/"+subj, writeToken, nil)
	if w.Code != http.StatusOK || len(decode[IndicatorList](t, w).Indicators) != 1 {
		t.Fatalf("DELETE /v1/indicators/%s = %d %s, want 200 with one", subj, w.Code, w.Body)
	}
	if v := decode[Verdict](t, f.do("GET", "/v1/ip/203.0.113.5", "", nil)); v.Listed {
		t.Errorf("GET 203.0.113.5 after delete: listed")
	}
	wantError(t, f.do("DELETE", "/v1/indicators/"+subj, writeToken, nil), http.StatusNotFound, CodeNotFound)
	w = f.do("DELETE", "/v1/indicators/192.0.2.66?kind=scanner&port=0&proto=", writeToken, nil)
	if w.Code != http.StatusOK {
		t.Errorf("DELETE with kind, port and proto = %d %s, want 200", w.Code, w.Body)
	}
}

func TestAddIndicatorInvalid(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"no subject", `{}`, 400, CodeInvalid, "no indicator"},
		{"bad subject", IndicatorInput{Subject: "not a subject"}, 400, CodeInvalid, "subject"},
		{"unknown kind", IndicatorInput{Subject: "192.0.2.1", Kind: "gremlin"}, 400, CodeInvalid, "kind"},
		{"kind unknown", IndicatorInput{Subject: "192.0.2.1", Kind: "unknown"}, 400, CodeInvalid, "kind"},
		{"confidence", IndicatorInput{Subject: "192.0.2.1", Confidence: 101}, 400, CodeInvalid, "confidence"},
		{"ttl and expires", IndicatorInput{Subject: "192.0.2.1", TTL: "1h", Expires: time.Now().Add(time.Hour)}, 400, CodeInvalid, "not both"},
		{"bad ttl", IndicatorInput{Subject: "192.0.2.1", TTL: "-1h"}, 400, CodeInvalid, "ttl"},
		{"expired", IndicatorInput{Subject: "192.0.2.1", Expires: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, 400, CodeInvalid, "past"},
		{"too many tags", IndicatorInput{Subject: "192.0.2.1", Tags: make([]string, 33)}, 400, CodeInvalid, "tags"},
		{"empty tag", IndicatorInput{Subject: "192.0.2.1", Tags: []string{""}}, 400, CodeInvalid, "tags"},
		{"long comment", IndicatorInput{Subject: "192.0.2.1", Comment: strings.Repeat("x", 1025)}, 400, CodeInvalid, "comment"},
		{"proto", IndicatorInput{Subject: "192.0.2.1", Proto: "SOCKS5"}, 400, CodeInvalid, "proto"},
		{"feed not local", IndicatorInput{Subject: "192.0.2.1", Feed: "firehol"}, 403, CodeForbidden, "not writable"},
		{"both forms", `{"subject":"192.0.2.1","indicators":[{"subject":"192.0.2.2"}]}`, 400, CodeInvalid, "not both"},
		{"batch item", AddRequest{Indicators: []IndicatorInput{{Subject: "192.0.2.1"}, {Subject: "x"}}}, 400, CodeInvalid, "indicators[1]: subject"},
		{"batch too large", AddRequest{Indicators: make([]IndicatorInput, 1001)}, 413, CodeTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, f.do("POST", "/v1/indicators", writeToken, tc.body), tc.status, tc.code)
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.msg)
			}
		})
	}
	if n := len(f.store.inds); n != 0 {
		t.Errorf("store holds %d indicators after refused adds, want 0", n)
	}
	wantError(t, f.do("DELETE", "/v1/indicators/192.0.2.1?feed=firehol", writeToken, nil), http.StatusForbidden, CodeForbidden)
	wantError(t, f.do("DELETE", "/v1/indicators/nope", writeToken, nil), http.StatusBadRequest, CodeInvalid)
	wantError(t, f.do("GET", "/v1/indicators?limit=0", "", nil), http.StatusBadRequest, CodeInvalid)
}

// TestWithSQLiteStore runs the write path against the real store.
func TestWithSQLiteStore(t *testing.T) {
	cfg := sqlitestore.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "pw.db")
	st, err := sqlitestore.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := newFixture(t, func(_ *Config, d *Deps) { d.Store = st })
	w := f.do("POST", "/v1/indicators", writeToken, IndicatorInput{Subject: "2001:db8:1::/48", Kind: "c2", Port: 443, Proto: "tcp"})
	if w.Code != http.StatusCreated {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	got := decode[IndicatorList](t, f.do("GET", "/v1/indicators/2001:db8:1::/48", "", nil))
	if len(got.Indicators) != 1 || got.Indicators[0].Port != 443 || got.Indicators[0].Kind != proxywatch.KindC2 {
		t.Fatalf("GET subject = %+v, want the c2 on 443", got)
	}
	seq, err := st.Seq(context.Background())
	if err != nil || seq != 1 {
		t.Errorf("store Seq() = %d, %v, want 1 change", seq, err)
	}
	if w := f.do("DELETE", "/v1/indicators/2001:db8:1::/48?port=443", writeToken, nil); w.Code != http.StatusOK {
		t.Errorf("DELETE = %d %s", w.Code, w.Body)
	}
	if inds, _ := st.Subject(t.Context(), got.Indicators[0].Subject); len(inds) != 0 {
		t.Errorf("store still holds %v", inds)
	}
}
