package forwardauth

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

var _ Lookuper = (*verdict.Table)(nil)

// newTable returns a table listing 198.51.100.7 (open proxy, 90), the c2
// range 203.0.113.128/25 (80), a noisy scanner 203.0.113.50 (30) and
// 127.0.0.1 (allowlisted), with the default allowlist.
func newTable(t testing.TB) *verdict.Table {
	t.Helper()
	tbl, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tbl.SetAllowlist(allowlist.Defaults())
	for _, in := range []struct {
		subj string
		kind proxywatch.Kind
		conf uint8
		feed string
	}{
		{"198.51.100.7", proxywatch.KindOpenProxy, 90, "proxies"},
		{"203.0.113.128/25", proxywatch.KindC2, 80, "c2s"},
		{"203.0.113.50", proxywatch.KindScanner, 30, "noisy"},
		{"127.0.0.1", proxywatch.KindOpenProxy, 90, "proxies"},
		{"2001:db8::bad", proxywatch.KindBruteForce, 70, "ssh"},
	} {
		s, err := proxywatch.ParseSubject(in.subj)
		if err != nil {
			t.Fatal(err)
		}
		tbl.Put(proxywatch.Indicator{Subject: s, Kind: in.kind, Confidence: in.conf, Source: proxywatch.Source{Feed: in.feed}})
	}
	return tbl
}

func newServer(t testing.TB, mod func(*Config)) (*Server, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	return newServerAt(t, slog.LevelDebug, mod)
}

func newServerAt(t testing.TB, level slog.Level, mod func(*Config)) (*Server, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Enabled = true
	if mod != nil {
		mod(&cfg)
	}
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s, err := New(cfg, Deps{
		Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level})),
		Registerer: reg,
		Table:      newTable(t),
	})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return s, reg, &logs
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		peer   string
		xff    string
		status int
		reason string // reason header, when configured
	}{
		{name: "listed peer", peer: "198.51.100.7:4000", status: 403, reason: "listed kind=open-proxy feed=proxies confidence=90 prefix=198.51.100.7/32"},
		{name: "unlisted peer", peer: "198.51.100.8:4000", status: 204, reason: "unlisted"},
		{name: "listed through trusted proxy", peer: "127.0.0.1:5000", xff: "198.51.100.7", status: 403, reason: "listed kind=open-proxy"},
		{name: "c2 range", peer: "127.0.0.1:5000", xff: "203.0.113.200", status: 403, reason: "listed kind=c2 feed=c2s confidence=80 prefix=203.0.113.128/25"},
		{name: "below minimum", peer: "127.0.0.1:5000", xff: "203.0.113.50", status: 204, reason: "unlisted"},
		{name: "ipv6 listed", peer: "[::1]:5000", xff: "2001:db8::bad", status: 403, reason: "listed kind=brute-force"},
		{name: "allowlisted", peer: "127.0.0.1:5000", xff: "127.0.0.1", status: 204, reason: "allowlisted"},
		{name: "untrusted peer's header ignored", peer: "198.51.100.8:4000", xff: "198.51.100.7", status: 204, reason: "unlisted"},
		{name: "spoofed hop ignored", peer: "127.0.0.1:5000", xff: "198.51.100.8, 198.51.100.7", status: 403, reason: "listed"},
		{name: "unknown client denied", peer: "127.0.0.1:5000", status: 403, reason: "unknown_client missing"},
		{name: "unknown client allowed", mod: func(c *Config) { c.UnknownClient = "allow" }, peer: "127.0.0.1:5000", xff: "garbage", status: 204, reason: "unknown_client malformed"},
		{name: "allow status 200", mod: func(c *Config) { c.AllowStatus = 200 }, peer: "198.51.100.8:4000", status: 200, reason: "unlisted"},
		{name: "mapped peer", peer: "[::ffff:198.51.100.7]:4000", status: 403, reason: "listed"},
	}
	for _, tc := range tests {
		for _, withReason := range []bool{false, true} {
			name := tc.name
			if withReason {
				name += " with reason"
			}
			t.Run(name, func(t *testing.T) {
				s, _, _ := newServer(t, func(c *Config) {
					if tc.mod != nil {
						tc.mod(c)
					}
					if withReason {
						c.ReasonHeader = "x-proxywatch-reason"
					}
				})
				r := httptest.NewRequest("GET", "/anything?x=1", nil)
				r.RemoteAddr = tc.peer
				if tc.xff != "" {
					r.Header.Set("X-Forwarded-For", tc.xff)
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code != tc.status {
					t.Errorf("ServeHTTP(peer %s, xff %q) = %d, want %d", tc.peer, tc.xff, w.Code, tc.status)
				}
				got := w.Header().Get("X-Proxywatch-Reason")
				switch {
				case !withReason && got != "":
					t.Errorf("reason header = %q, want none unless configured", got)
				case withReason && !strings.HasPrefix(got, tc.reason):
					t.Errorf("reason header = %q, want prefix %q", got, tc.reason)
				}
				if w.Body.Len() != 0 {
					t.Errorf("body = %q, want empty", w.Body)
				}
			})
		}
	}
}

func TestMetricsByDecision(t *testing.T) {
	s, _, logs := newServer(t, nil)
	for _, xff := range []string{"198.51.100.7", "198.51.100.7", "198.51.100.8", "127.0.0.1", "", "bad"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		s.ServeHTTP(httptest.NewRecorder(), r)
	}
	tests := []struct {
		c    prometheus.Collector
		name string
		want float64
	}{
		{s.metrics.denyListed, "deny listed", 2},
		{s.metrics.allowUnlisted, "allow unlisted", 1},
		{s.metrics.allowAllowlisted, "allow allowlisted", 1},
		{s.metrics.denyUnknown, "deny unknown", 2},
		{s.metrics.missing, "client error missing", 1},
		{s.metrics.malformed, "client error malformed", 1},
	}
	for _, tc := range tests {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(s.metrics.latency); n != 1 {
		t.Errorf("latency series = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "client=198.51.100.7") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("denials are not logged at debug level:\n%s", logs)
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Enabled = true
	if err := c.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	c.Listen = "x"
	c.ClientHeader = "X-Client-IP"
	c.AllowStatus = 302
	c.ReasonHeader = "bad header"
	c.UnknownClient = "maybe"
	c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix("10.0.0.1/8"))
	c.IdleTimeout = 0
	if n, a := (Config{Listen: "unix:/run/pw.sock"}).Network(); n != "unix" || a != "/run/pw.sock" {
		t.Errorf("Network() = %s, %s, want unix, /run/pw.sock", n, a)
	}
	err := c.Validate()
	for _, want := range []string{"listen", "client_header", "allow_status", "reason_header", "unknown_client", "trusted_proxies[2]", "idle_timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %s", err, want)
		}
	}
}

func TestServeDrainsAndStops(t *testing.T) {
	s, _, _ := newServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/auth"
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("GET via loopback proxy for 198.51.100.7 = %d, want 403", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("server still answers after stopping")
	}
}

func TestServeUnixSocketTrustsPeer(t *testing.T) {
	s, _, _ := newServer(t, nil)
	sock := filepath.Join(t.TempDir(), "fa.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(t.Context(), ln)
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for xff, want := range map[string]int{"198.51.100.7": 403, "198.51.100.8": 204, "": 403} {
		req, _ := http.NewRequest("GET", "http://proxywatch/auth", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET over unix socket, xff %q = %d, want %d", xff, resp.StatusCode, want)
		}
	}
}

func BenchmarkServeHTTP(b *testing.B) {
	s, _, _ := newServerAt(b, slog.LevelInfo, nil)
	for _, xff := range []string{"198.51.100.7", "198.51.100.8"} {
		b.Run(xff, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "127.0.0.1:1234"
			r.Header.Set("X-Forwarded-For", xff)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				s.ServeHTTP(w, r)
			}
		})
	}
}

// TestServeHTTPDoesNotAllocate holds a decision, allow or deny, to zero
// allocations of its own (net/http's are beside it).
func TestServeHTTPDoesNotAllocate(t *testing.T) {
	s, _, _ := newServerAt(t, slog.LevelInfo, nil)
	for _, xff := range []string{"198.51.100.7", "198.51.100.8"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", xff)
		w := &nopWriter{h: http.Header{}}
		if n := testing.AllocsPerRun(100, func() { s.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("ServeHTTP(xff %s) allocates %v times, want 0", xff, n)
		}
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}
