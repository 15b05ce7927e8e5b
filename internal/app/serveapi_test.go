package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestServeAPIAndForwardAuth runs the daemon with the API and forward-auth
// on loopback, imports a list from another store handle, and asks both
// interfaces about a listed and an unlisted address.
func TestServeAPIAndForwardAuth(t *testing.T) {
	cfg := testConfig(t)
	cfg.API.Enabled = true
	cfg.API.Listen = "127.0.0.1:0"
	cfg.ForwardAuth.Enabled = true
	cfg.ForwardAuth.Listen = "127.0.0.1:0"
	cfg.ForwardAuth.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg.ForwardAuth.ClientHeader = "X-Forwarded-For"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	addrs := a.Addrs()
	apiURL, faURL := "http://"+addrs["api"].String(), "http://"+addrs["forwardauth"].String()

	l, err := OpenLocal(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := writeFile(t, t.TempDir(), "proxies.txt", "203.0.113.7:1080\n")
	if _, err := l.Import(ctx, path, ImportOptions{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "import visible", func() bool { return lookupListed(a.Table(), netip.MustParseAddr("203.0.113.7")) })

	get := func(url string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(apiURL+"/v1/ip/203.0.113.7", nil)
	var v struct {
		Listed bool   `json:"listed"`
		Kind   string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(body), &v); code != 200 || err != nil || !v.Listed || v.Kind != "open-proxy" {
		t.Errorf("GET /v1/ip/203.0.113.7 = %d %s", code, body)
	}
	if code, body := get(apiURL+"/v1/ip/not-an-ip", nil); code != 400 || !strings.Contains(body, `"code"`) {
		t.Errorf("GET /v1/ip/not-an-ip = %d %s", code, body)
	}
	if code, body := get(apiURL+"/v1/feeds", nil); code != 200 || !strings.Contains(body, "proxies.txt") {
		t.Errorf("GET /v1/feeds = %d %s", code, body)
	}
	if code, body := get(apiURL+"/v1/export?format=plain", nil); code != 200 || !strings.Contains(body, "203.0.113.7") {
		t.Errorf("GET /v1/export?format=plain = %d %s", code, body)
	}
	if code, _ := get(apiURL+"/v1/export?format=pf", nil); code != 400 {
		t.Errorf("GET /v1/export?format=pf = %d, want 400", code)
	}
	if code, _ := get(faURL+"/", map[string]string{"X-Forwarded-For": "203.0.113.7"}); code != http.StatusForbidden {
		t.Errorf("forward-auth for a listed client = %d, want 403", code)
	}
	if code, _ := get(faURL+"/", map[string]string{"X-Forwarded-For": "198.51.100.1"}); code/100 != 2 {
		t.Errorf("forward-auth for an unlisted client = %d, want 2xx", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
