package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/itest"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testConfig(t testing.TB) config.File {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Telemetry.Listen = "127.0.0.1:0"
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lookupListed reports whether the live table lists addr for check.
func lookupListed(tbl *verdict.Table, addr netip.Addr) bool {
	hits := tbl.Lookup(addr, nil)
	return verdict.Summarize(hits, verdict.DefaultMinConfidence).Listed
}

// TestServeFollowsImports runs the daemon and imports files through a
// second store handle, as `proxywatch import` does from another process:
// each import must reach the live table within a second, and a
// re-import that drops an address must remove it.
func TestServeFollowsImports(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	base := "http://" + a.TelemetryAddr().String()
	waitFor(t, 5*time.Second, "readyz", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	l, err := OpenLocal(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	path := writeFile(t, dir, "c2.txt", "Command and Control Servers:\n203.0.113.7\n198.51.100.0/24\n")
	addr := netip.MustParseAddr("203.0.113.7")
	if lookupListed(a.Table(), addr) {
		t.Fatal("address listed before import")
	}
	start := time.Now()
	if _, err := l.Import(ctx, path, ImportOptions{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "import visible", func() bool { return lookupListed(a.Table(), addr) })
	t.Logf("import visible to the daemon after %v", time.Since(start))
	hits := a.Table().Lookup(netip.MustParseAddr("198.51.100.9"), nil)
	if len(hits) != 1 || hits[0].Kind() != proxywatch.KindC2 {
		t.Errorf("Lookup(198.51.100.9) = %v, want one c2 hit", hits)
	}

	// A new copy of the file without the address removes it.
	writeFile(t, dir, "c2.txt", "Command and Control Servers:\n198.51.100.0/24\n")
	if _, err := l.Import(ctx, path, ImportOptions{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "re-import visible", func() bool { return !lookupListed(a.Table(), addr) })

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "proxywatch_verdict_indicators 1") {
		t.Errorf("/metrics lacks proxywatch_verdict_indicators 1:\n%.2000s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestNewFailsFast checks that an address in use fails New, before
// anything runs, and leaves nothing open.
func TestNewFailsFast(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer a.closeResources()
	cfg2 := cfg
	cfg2.Telemetry.Listen = a.TelemetryAddr().String()
	if _, err := New(ctx, cfg2, quiet()); err == nil || !strings.Contains(err.Error(), "telemetry: listen") {
		t.Errorf("New with a busy address = %v, want a telemetry listen error", err)
	}
}

func TestCheckOffline(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	l, err := OpenLocal(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	now := time.Now()
	for _, f := range []struct{ name, body string }{
		{"nets.netset", "10.0.0.0/8\n198.51.100.0/24\n"},
		{"proxies.txt", "198.51.100.7:1080\n"},
		{"noisy.txt", "192.0.2.1\t1\n"}, // an ipsum count of 1: confidence 30
	} {
		if _, err := l.Import(ctx, writeFile(t, dir, f.name, f.body), ImportOptions{}, now); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := l.Check(ctx, []netip.Addr{
		netip.MustParseAddr("198.51.100.7"),
		netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("::ffff:198.51.100.8"),
		netip.MustParseAddr("203.0.113.1"),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		listed, allowlisted bool
		evidence            int
		kind                string
	}{
		{true, false, 2, "open-proxy"}, // the /32 open proxy inside a /24: both hits
		{false, true, 1, "other"},      // private space listed by a feed: shown, never listed
		{false, false, 1, ""},          // below the minimum confidence
		{true, false, 1, "other"},      // mapped address unmapped
		{false, false, 0, ""},
	}
	for i, tc := range tests {
		v := vs[i]
		if v.Listed != tc.listed || v.Allowlisted != tc.allowlisted || len(v.Evidence) != tc.evidence || v.Kind != tc.kind {
			t.Errorf("Check(%s) = listed %v allowlisted %v evidence %d kind %q; want %v %v %d %q",
				v.Addr, v.Listed, v.Allowlisted, len(v.Evidence), v.Kind, tc.listed, tc.allowlisted, tc.evidence, tc.kind)
		}
	}
	if vs[3].Addr.String() != "198.51.100.8" {
		t.Errorf("mapped address not unmapped: %v", vs[3].Addr)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCheckMatchesASNThroughEnrichment imports an ASN list and checks that
// an address in that AS is listed through the MaxMind test database.
func TestCheckMatchesASNThroughEnrichment(t *testing.T) {
	cfg := testConfig(t)
	cfg.Enrich.ASN = itest.Data(t, "mmdb/maxmind/test-data/GeoLite2-ASN-Test.mmdb")
	ctx := context.Background()
	l, err := OpenLocal(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// AS1221 holds 1.128.0.0/11 in the test database (source-data JSON).
	path := writeFile(t, t.TempDir(), "asn.txt", "AS1221 # Telstra, as a datacenter list would name it\n")
	if _, err := l.Import(ctx, path, ImportOptions{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	vs, err := l.Check(ctx, []netip.Addr{netip.MustParseAddr("1.128.0.1"), netip.MustParseAddr("1.0.0.1")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !vs[0].Listed || len(vs[0].Evidence) != 1 || vs[0].Evidence[0].Via != "asn" || vs[0].Enrichment == nil || vs[0].Enrichment.ASN != 1221 {
		t.Errorf("Check(1.128.0.1) = %+v, want listed through AS1221", vs[0])
	}
	if vs[1].Listed || vs[1].Enrichment == nil || vs[1].Enrichment.ASN != 15169 {
		t.Errorf("Check(1.0.0.1) = %+v, want unlisted in AS15169", vs[1])
	}
}

// TestReload swaps a new allowlist into the running table and reports the
// sections that need a restart.
func TestReload(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	addr := netip.MustParseAddr("203.0.113.7")
	a.Table().Put(proxywatch.Indicator{Subject: proxywatch.AddrSubject(addr), Kind: proxywatch.KindC2, Confidence: 90, Source: proxywatch.Source{Feed: "local"}})
	if !lookupListed(a.Table(), addr) {
		t.Fatal("not listed before reload")
	}
	next := cfg
	next.Allowlist.Prefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	if err := a.Reload(ctx, next); err != nil {
		t.Errorf("Reload(allowlist only) = %v, want nil", err)
	}
	if lookupListed(a.Table(), addr) {
		t.Error("still listed after the allowlist reload")
	}
	next.Verdict.MinConfidence.Check = 90
	if err := a.Reload(ctx, next); err == nil || !strings.Contains(err.Error(), "verdict") {
		t.Errorf("Reload(verdict changed) = %v, want a restart notice naming verdict", err)
	}
	cancel()
	<-done
}
