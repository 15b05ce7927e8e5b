package forwardauth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proxywatch/proxywatch/internal/itest"
)

// docSnippet returns the code block that follows "<!-- test: name -->" in
// docs/forwardauth.md, so that the documented snippets are the tested ones.
func docSnippet(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(itest.ModuleRoot(t), "docs", "forwardauth.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- test: "+name+" -->\n```")
	if !ok {
		t.Fatalf("docs/forwardauth.md: no snippet %q", name)
	}
	_, rest, _ = strings.Cut(rest, "\n")      // the fence's language tag
	code, _, ok := strings.Cut(rest, "\n```") // the closing fence
	if !ok {
		t.Fatalf("docs/forwardauth.md: snippet %q is not closed", name)
	}
	return code
}

// A proxy under test: how to configure and start it in the server
// namespace, with the fail-closed snippet on port 8080 and the fail-open
// one on port 8081.
type proxy struct {
	name  string
	start func(t *testing.T, ns, dir string)
	// closedDown is the status a client gets from the fail-closed site
	// when proxywatch is down.
	closedDown int
}

var proxies = []proxy{
	{name: "nginx", closedDown: http.StatusForbidden, start: func(t *testing.T, ns, dir string) {
		for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			os.MkdirAll(filepath.Join(dir, "tmp", d), 0o755)
		}
		conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    server {
        listen %[2]s:8080;
%[3]s
    }
    server {
        listen %[2]s:8081;
%[4]s
    }
}
`, dir, serverAddr, docSnippet(t, "nginx-closed"), docSnippet(t, "nginx-open"))
		path := filepath.Join(dir, "nginx.conf")
		os.WriteFile(path, []byte(conf), 0o644)
		startIn(t, ns, nil, itest.Need(t, "nginx"), "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	}},
	{name: "caddy", closedDown: http.StatusBadGateway, start: func(t *testing.T, ns, dir string) {
		site := func(snippet, port string) string {
			return strings.Replace(snippet, "example.org {", "http://"+serverAddr+":"+port+" {", 1)
		}
		conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s/data\n}\n\n%s\n\n%s\n",
			dir, site(docSnippet(t, "caddy-closed"), "8080"), site(docSnippet(t, "caddy-open"), "8081"))
		path := filepath.Join(dir, "Caddyfile")
		os.WriteFile(path, []byte(conf), 0o644)
		env := []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir}
		startIn(t, ns, env, itest.Need(t, "caddy"), "run", "--config", path, "--adapter", "caddyfile")
	}},
}

// TestProxies runs real nginx (auth_request) and Caddy (forward_auth) with
// the documented snippets in a network namespace, in front of this
// package's endpoint, and requests a login page from a listed and an
// unlisted documentation address: the listed one is refused, the other
// reaches the application. Then the endpoint stops, and the fail-closed
// site refuses both while the fail-open one lets both through.
func TestProxies(t *testing.T) {
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			itest.Need(t, p.name)
			itest.Need(t, "curl")
			n := newTestNet(t)
			dir := t.TempDir()

			app := listenIn(t, n.server, "127.0.0.1:8000")
			go http.Serve(app, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "application\n")
			}))
			s, _, _ := newServerAt(t, slog.LevelInfo, nil)
			ln := listenIn(t, n.server, "127.0.0.1:9412")
			ctx, stop := context.WithCancel(t.Context())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx, ln) }()

			p.start(t, n.server, dir)
			waitReady(t, n, "http://"+serverAddr+":8081/")

			for _, port := range []string{"8080", "8081"} {
				url := "http://" + serverAddr + ":" + port + "/login"
				if code, body := curlFrom(t, n, listedAddr, url); code != http.StatusForbidden {
					t.Errorf("%s from listed %s = %d %q, want 403", url, listedAddr, code, body)
				}
				if code, body := curlFrom(t, n, unlistedAddr, url); code != http.StatusOK || body != "application" {
					t.Errorf("%s from unlisted %s = %d %q, want 200 application", url, unlistedAddr, code, body)
				}
			}
			if got := testutil.ToFloat64(s.metrics.denyListed); got != 2 {
				t.Errorf("endpoint denied %v requests, want 2 (one per site)", got)
			}
			if got := testutil.ToFloat64(s.metrics.allowUnlisted); got != 2 {
				t.Errorf("endpoint allowed %v unlisted requests, want 2", got)
			}

			stop()
			if err := <-served; err != nil {
				t.Fatalf("Serve() = %v", err)
			}
			for _, src := range []string{listedAddr, unlistedAddr} {
				url := "http://" + serverAddr + ":8080/login"
				if code, body := curlFrom(t, n, src, url); code != p.closedDown {
					t.Errorf("fail-closed %s from %s with proxywatch down = %d %q, want %d", url, src, code, body, p.closedDown)
				}
				url = "http://" + serverAddr + ":8081/login"
				if code, body := curlFrom(t, n, src, url); code != http.StatusOK || body != "application" {
					t.Errorf("fail-open %s from %s with proxywatch down = %d %q, want 200 application", url, src, code, body)
				}
			}
		})
	}
}

// waitReady polls url, which must not be protected, from the client
// namespace until the proxy answers.
func waitReady(t *testing.T, n *testNet, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := curlFrom(t, n, unlistedAddr, url)
		if code != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy not answering on %s: %s", url, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
