package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/itest"
	"github.com/proxywatch/proxywatch/internal/store"
)

func TestTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.RequestTimeout = 100 * time.Millisecond })
	f.store.block = true
	start := time.Now()
	wantError(t, f.do("GET", "/v1/indicators/192.0.2.1", "", nil), http.StatusServiceUnavailable, CodeTimeout)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timed-out request took %s, want about 100ms", d)
	}
}

func TestPanicRecovered(t *testing.T) {
	f := newFixture(t, nil)
	f.store.panic = true
	wantError(t, f.do("GET", "/v1/indicators/192.0.2.1", "", nil), http.StatusInternalServerError, CodeInternal)
	if got := testutil.ToFloat64(f.srv.metrics.panics); got != 1 {
		t.Errorf("panics counter = %v, want 1", got)
	}
	if !strings.Contains(f.logs.String(), "store exploded") {
		t.Errorf("log does not show the panic:\n%s", f.logs)
	}
	// The server goes on answering.
	if w := f.do("GET", "/v1/ip/192.0.2.1", "", nil); w.Code != 200 {
		t.Errorf("GET after panic = %d", w.Code)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	f := newFixture(t, nil)
	f.do("GET", "/v1/ip/198.51.100.7", "", nil)
	f.do("GET", "/v1/ip/203.0.113.9", "", nil)
	f.do("GET", "/v1/ip/bogus", "", nil)
	f.do("GET", "/v1/nothing/198.51.100.7", "", nil)
	tests := []struct {
		route, code string
		want        float64
	}{
		{"GET /v1/ip/{addr}", "200", 2},
		{"GET /v1/ip/{addr}", "400", 1},
		{routeUnmatched, "404", 1},
	}
	for _, tc := range tests {
		if got := testutil.ToFloat64(f.srv.metrics.requests.WithLabelValues(tc.route, tc.code)); got != tc.want {
			t.Errorf("requests{route=%q,code=%q} = %v, want %v", tc.route, tc.code, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(f.srv.metrics.latency); n != 2 {
		t.Errorf("latency series = %d, want 2 (one per route)", n)
	}
	var b bytes.Buffer
	mfs, _ := f.reg.Gather()
	for _, mf := range mfs {
		fmt.Fprintln(&b, mf.String())
	}
	if strings.Contains(b.String(), "198.51.100.7") {
		t.Errorf("metrics carry a client-chosen path:\n%s", b.String())
	}
}

type fakeFeeds []FeedStatus

func (f fakeFeeds) FeedStatus(context.Context) ([]FeedStatus, error) { return slices.Clone(f), nil }

func TestFeeds(t *testing.T) {
	var now time.Time
	f := newFixture(t, func(_ *Config, d *Deps) {
		now = d.Now()
		d.Feeds = fakeFeeds{
			{FeedState: store.FeedState{Name: "firehol", LastGood: now.Add(-90 * time.Minute), Holds: 2, LastError: "held: churn 40%", Indicators: 1200},
				Configured: true, MaxAge: time.Hour, Stale: true, TableEntries: 0},
			{FeedState: store.FeedState{Name: "local", Indicators: 3}, TableEntries: 3},
		}
	})
	got := decode[FeedList](t, f.do("GET", "/v1/feeds", "", nil))
	if len(got.Feeds) != 2 {
		t.Fatalf("GET /v1/feeds = %+v, want 2 feeds", got)
	}
	fh := got.Feeds[0]
	if fh.Name != "firehol" || fh.AgeSeconds != 5400 || fh.MaxAgeSeconds != 3600 || !fh.Stale || fh.Holds != 2 || fh.LastError == "" || !fh.Configured {
		t.Errorf("firehol = %+v, want age 5400s of max 3600s, stale, 2 holds, an error", fh)
	}
	if l := got.Feeds[1]; l.AgeSeconds != 0 || l.TableEntries != 3 {
		t.Errorf("local = %+v, want no age, 3 entries", l)
	}
	wantError(t, newFixture(t, nil).do("GET", "/v1/feeds", "", nil), http.StatusNotFound, CodeNotFound)
}

func TestExport(t *testing.T) {
	var gotReq ExportRequest
	exporter := func(_ context.Context, req ExportRequest) (Export, error) {
		gotReq = req
		switch req.Format {
		case "plain":
			return Export{ContentType: "text/plain; charset=utf-8", Filename: "block.txt", Write: func(_ context.Context, w io.Writer) error {
				_, err := io.WriteString(w, "198.51.100.7/32\n")
				return err
			}}, nil
		case "broken":
			return Export{ContentType: "text/plain", Write: func(_ context.Context, w io.Writer) error {
				io.WriteString(w, strings.Repeat("198.51.100.7/32\n", 1000))
				return errors.New("disk gone")
			}}, nil
		case "early":
			return Export{ContentType: "text/plain", Write: func(context.Context, io.Writer) error {
				return &proxywatch.Error{Kind: proxywatch.ErrUnavailable, Message: "table not loaded"}
			}}, nil
		}
		return Export{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: "unknown format"}
	}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Export = exporter })

	w := f.do("GET", "/v1/export?format=plain&family=4", "", nil)
	if w.Code != 200 || w.Body.String() != "198.51.100.7/32\n" || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "block.txt") {
		t.Errorf("GET export plain = %d %q %v", w.Code, w.Body, w.Header())
	}
	if gotReq.Format != "plain" || gotReq.Params["family"] != "4" || len(gotReq.Params) != 1 {
		t.Errorf("exporter got %+v, want format plain, params family=4", gotReq)
	}
	wantError(t, f.do("GET", "/v1/export?format=gif", "", nil), http.StatusBadRequest, CodeInvalid)
	wantError(t, f.do("GET", "/v1/export", "", nil), http.StatusBadRequest, CodeInvalid)
	wantError(t, f.do("GET", "/v1/export?format=plain&x=1&x=2", "", nil), http.StatusBadRequest, CodeInvalid)
	w = f.do("GET", "/v1/export?format=early", "", nil)
	wantError(t, w, http.StatusServiceUnavailable, CodeUnavailable)
	if w.Header().Get("Content-Disposition") != "" {
		t.Errorf("error response offers an attachment: %v", w.Header())
	}

	// An error mid-stream must reach the client as a broken response, not
	// a short list that looks whole.
	ln := listen(t)
	go f.srv.Serve(t.Context(), ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/export?format=broken")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("reading a failed export succeeded, want an error")
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestOpenAPI(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join(itest.ModuleRoot(t), "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPI) {
		t.Errorf("docs/openapi.json differs from internal/api/openapi.json: copy it (cp internal/api/openapi.json docs/)")
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %v (version %q)", err, doc.OpenAPI)
	}
	f := newFixture(t, nil)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+strings.Replace(path, "{subject}", "{subject...}", 1)] = true
		}
	}
	for _, r := range f.srv.routes {
		if !documented[r] {
			t.Errorf("route %q is not in openapi.json", r)
		}
		delete(documented, r)
	}
	for r := range documented {
		t.Errorf("openapi.json documents %q, which is not served", r)
	}
	w := f.do("GET", "/v1/openapi.json", "", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), openAPI) {
		t.Errorf("GET /v1/openapi.json = %d, %d bytes, want the document", w.Code, w.Body.Len())
	}
}

func TestServeDrainsInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Export = func(context.Context, ExportRequest) (Export, error) {
			return Export{ContentType: "text/plain", Write: func(_ context.Context, w io.Writer) error {
				close(started)
				<-release
				_, err := io.WriteString(w, "done\n")
				return err
			}}, nil
		}
	})
	ln := listen(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ctx, ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/v1/export?format=plain")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	// Stopped servers refuse new connections while the old one drains.
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "done\n" {
		t.Errorf("in-flight request = %q, %v, want it completed", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve() = %v, want nil after a clean stop", err)
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM := writeSelfSigned(t, dir)
	f := newFixture(t, func(c *Config, _ *Deps) {
		c.TLS = TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	})
	ln := listen(t)
	go f.srv.Serve(t.Context(), ln)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + ln.Addr().String() + "/v1/ip/198.51.100.7")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	defer resp.Body.Close()
	var v Verdict
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || !v.Listed || resp.TLS == nil {
		t.Errorf("GET over TLS = %+v, %v (TLS %v), want listed", v, err, resp.TLS != nil)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/v1/ip/198.51.100.7"); err == nil {
		// The TLS server answers plain HTTP with a 400, which is fine; a
		// transport error is too. Either way it must not serve the verdict.
		t.Log("plain HTTP to the TLS port got an answer (the server's 400)")
	}

	cfg := DefaultConfig()
	cfg.Enabled = true
	cfg.TLS = TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "missing.pem")}
	if _, err := New(cfg, Deps{Table: f.table}); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("New(missing key) = %v, want a tls error", err)
	}
}

// writeSelfSigned writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns the certificate.
func writeSelfSigned(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxywatch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPEM
}
