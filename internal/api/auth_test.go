package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
)

func TestAuth(t *testing.T) {
	add := IndicatorInput{Subject: "192.0.2.77", Kind: "scanner"}
	tests := []struct {
		name      string
		closed    bool
		method    string
		target    string
		header    string // Authorization
		body      any
		status    int
		code      string // error code, "" for success
		challenge bool   // WWW-Authenticate expected
	}{
		{"open read without token", false, "GET", "/v1/ip/192.0.2.1", "", nil, 200, "", false},
		{"open read with read token", false, "GET", "/v1/ip/192.0.2.1", "Bearer " + readToken, nil, 200, "", false},
		{"open read with wrong token", false, "GET", "/v1/ip/192.0.2.1", "Bearer " + readToken + "x", nil, 401, CodeUnauthorized, true},
		{"closed read without token", true, "GET", "/v1/ip/192.0.2.1", "", nil, 401, CodeUnauthorized, true},
		{"closed read with read token", true, "GET", "/v1/ip/192.0.2.1", "Bearer " + readToken, nil, 200, "", false},
		{"closed read with write token", true, "GET", "/v1/feeds", "Bearer " + writeToken, nil, 404, CodeNotFound, false},
		{"closed batch without token", true, "POST", "/v1/ip", "", BatchRequest{}, 401, CodeUnauthorized, true},
		{"closed openapi without token", true, "GET", "/v1/openapi.json", "", nil, 200, "", false},
		{"write without token", false, "POST", "/v1/indicators", "", add, 401, CodeUnauthorized, true},
		{"write with basic auth", false, "POST", "/v1/indicators", "Basic " + writeToken, add, 401, CodeUnauthorized, true},
		{"write with empty bearer", false, "POST", "/v1/indicators", "Bearer ", add, 401, CodeUnauthorized, true},
		{"write with prefix of token", false, "POST", "/v1/indicators", "Bearer " + writeToken[:10], add, 401, CodeUnauthorized, true},
		{"write with read token", false, "POST", "/v1/indicators", "Bearer " + readToken, add, 403, CodeForbidden, false},
		{"delete with read token", false, "DELETE", "/v1/indicators/192.0.2.77", "Bearer " + readToken, nil, 403, CodeForbidden, false},
		{"write with write token", false, "POST", "/v1/indicators", "Bearer " + writeToken, add, 201, "", false},
		{"scheme is case-insensitive", false, "POST", "/v1/indicators", "bearer " + writeToken, add, 201, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config, _ *Deps) { c.ReadRequiresToken = tc.closed })
			r := f.request(tc.method, tc.target, tc.body)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := f.serve(r)
			if tc.code != "" {
				wantError(t, w, tc.status, tc.code)
			} else if w.Code != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.target, w.Code, w.Body, tc.status)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate present = %v, want %v", got, tc.challenge)
			}
			for _, tok := range []string{writeToken, readToken} {
				if strings.Contains(f.logs.String(), tok) {
					t.Errorf("log contains a token:\n%s", f.logs)
				}
			}
		})
	}
}

func TestAuditLogNamesToken(t *testing.T) {
	f := newFixture(t, nil)
	if w := f.do("POST", "/v1/indicators", writeToken, IndicatorInput{Subject: "192.0.2.8"}); w.Code != 201 {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "token=ops") || strings.Contains(logs, writeToken) {
		t.Errorf("log = %s, want the token's name and not the token", logs)
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	short := filepath.Join(dir, "short")
	os.WriteFile(good, []byte("  "+writeToken+"\n"), 0o600)
	os.WriteFile(short, []byte("abc\n"), 0o600)
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"TOK": readToken, "TWO": "two words here ok!"}[k]
		return v, ok
	}
	toks, err := loadTokens([]TokenRef{{Name: "a", File: good}, {Name: "b", Env: "TOK", ReadOnly: true}}, env)
	if err != nil || len(toks) != 2 || !toks[0].write || toks[1].write {
		t.Fatalf("loadTokens(good) = %+v, %v, want two tokens, the second read-only", toks, err)
	}
	_, err = loadTokens([]TokenRef{
		{Name: "short", File: short},
		{Name: "missing", File: filepath.Join(dir, "none")},
		{Name: "unset", Env: "NOPE"},
		{Name: "spaces", Env: "TWO"},
	}, env)
	if err == nil {
		t.Fatal("loadTokens(bad) = nil error")
	}
	for _, want := range []string{`"short": must be one word`, `"missing"`, "NOPE is not set", `"spaces": must be one word`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("loadTokens(bad) = %v, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "two words") {
		t.Errorf("loadTokens(bad) = %v: reveals a token", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"default", func(*Config) {}, nil},
		{"disabled ignores problems", func(c *Config) { c.Enabled = false; c.Listen = "nope" }, nil},
		{"everything wrong", func(c *Config) {
			c.Listen = "nope"
			c.TLS.CertFile = "cert.pem"
			c.Tokens = []TokenRef{{Name: "a", File: "x", Env: "Y"}, {Name: "a", File: "z"}, {}}
			c.LocalFeeds = []string{"Local Feed"}
			c.MaxBatch = 0
			c.RequestTimeout = 0
		}, []string{"listen", "tls", "tokens[0]: exactly one", `tokens[1].name "a": duplicate`, "tokens[2].name", "local_feeds[0]", "max_batch", "request_timeout"}},
		{"closed reads need tokens", func(c *Config) { c.ReadRequiresToken = true }, []string{"read_requires_token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Enabled = true
			tc.mod(&c)
			err := c.Validate()
			if (err != nil) != (len(tc.want) > 0) {
				t.Fatalf("Validate() = %v, want errors %q", err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	secret := errors.New("open /var/lib/proxywatch/secret.db: disk on fire")
	tests := []struct {
		name     string
		err      error
		status   int
		code     string
		msg      string
		internal bool
	}{
		{"not found", fmt.Errorf("x: %w", proxywatch.ErrNotFound), 404, CodeNotFound, "not found", false},
		{"invalid", proxywatch.ErrInvalid, 400, CodeInvalid, "invalid request", false},
		{"conflict", proxywatch.ErrConflict, 409, CodeConflict, "conflict", false},
		{"unavailable", fmt.Errorf("store: %w: %w", proxywatch.ErrUnavailable, secret), 503, CodeUnavailable, "temporarily unavailable", true},
		{"safe message", fmt.Errorf("wrap: %w", &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: "subject is bad", Err: secret}), 400, CodeInvalid, "subject is bad", false},
		{"safe unavailable", &proxywatch.Error{Kind: proxywatch.ErrUnavailable, Message: "store is busy", Err: secret}, 503, CodeUnavailable, "store is busy", true},
		{"unknown is internal", secret, 500, CodeInternal, "internal error", true},
		{"kindless safe message stays hidden", &proxywatch.Error{Message: "looks safe", Err: secret}, 500, CodeInternal, "internal error", true},
		{"timeout", fmt.Errorf("q: %w", context.DeadlineExceeded), 503, CodeTimeout, "request timed out", true},
		{"body too large", &http.MaxBytesError{Limit: 10}, 413, CodeTooLarge, "request too large", false},
		{"unauthorized", errUnauthorized, 401, CodeUnauthorized, "a valid bearer token is required", false},
		{"forbidden", errForbidden, 403, CodeForbidden, "the token does not allow this", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, d, internal := statusOf(tc.err)
			if status != tc.status || d.Code != tc.code || d.Message != tc.msg || internal != tc.internal {
				t.Errorf("statusOf(%v) = %d, %+v, %v, want %d, {%s %s}, %v", tc.err, status, d, internal, tc.status, tc.code, tc.msg, tc.internal)
			}
			if strings.Contains(d.Message, "secret") {
				t.Errorf("statusOf(%v) message %q reveals the cause", tc.err, d.Message)
			}
		})
	}
}
