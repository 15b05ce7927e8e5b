package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// Tokens used by the tests; none is a real secret.
const (
	writeToken = "w-0123456789abcdef0123"
	readToken  = "r-0123456789abcdef0123"
)

// memStore is an in-memory IndicatorStore that, like the daemon's
// follower, applies every write to a verdict table.
type memStore struct {
	mu    sync.Mutex
	inds  map[proxywatch.Key]proxywatch.Indicator
	table *verdict.Table
	block bool // Subject waits for the context to end
	panic bool // Subject panics
}

func newMemStore(table *verdict.Table) *memStore {
	return &memStore{inds: map[proxywatch.Key]proxywatch.Indicator{}, table: table}
}

func (m *memStore) Add(_ context.Context, ind proxywatch.Indicator) error {
	ind, err := store.Normalize(ind)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inds[ind.Key()] = ind
	m.table.Put(ind)
	return nil
}

func (m *memStore) Delete(_ context.Context, k proxywatch.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.inds[k]; !ok {
		return proxywatch.ErrNotFound
	}
	delete(m.inds, k)
	m.table.Delete(k)
	return nil
}

func (m *memStore) Indicators(_ context.Context, feed string) iter.Seq2[proxywatch.Indicator, error] {
	return func(yield func(proxywatch.Indicator, error) bool) {
		m.mu.Lock()
		var out []proxywatch.Indicator
		for _, ind := range m.inds {
			if feed == "" || ind.Source.Feed == feed {
				out = append(out, ind)
			}
		}
		m.mu.Unlock()
		for _, ind := range out {
			if !yield(ind, nil) {
				return
			}
		}
	}
}

func (m *memStore) Subject(ctx context.Context, s proxywatch.Subject) ([]proxywatch.Indicator, error) {
	if m.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if m.panic {
		panic("store exploded")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []proxywatch.Indicator
	for _, ind := range m.inds {
		if ind.Subject == s {
			out = append(out, ind)
		}
	}
	return out, nil
}

// fixture is a table with the test indicators, a store following into it,
// and an API server over both.
type fixture struct {
	t     testing.TB
	table *verdict.Table
	store *memStore
	reg   *prometheus.Registry
	logs  *bytes.Buffer
	srv   *Server
	h     http.Handler
}

func ind(subj string, kind proxywatch.Kind, conf uint8, feed string, line int) proxywatch.Indicator {
	s, err := proxywatch.ParseSubject(subj)
	if err != nil {
		panic(err)
	}
	return proxywatch.Indicator{Subject: s, Kind: kind, Confidence: conf, Source: proxywatch.Source{Feed: feed, Line: line, Section: "test"}, Port: 1080, Proto: "socks5"}
}

// seed is the table every fixture starts with.
var seed = []proxywatch.Indicator{
	ind("198.51.100.7", proxywatch.KindOpenProxy, 90, "proxies", 12),
	ind("198.51.100.0/24", proxywatch.KindC2, 80, "c2s", 3),
	ind("203.0.113.50", proxywatch.KindScanner, 30, "noisy", 7),
	ind("127.0.0.1", proxywatch.KindOpenProxy, 90, "proxies", 13),
	ind("2001:db8::7", proxywatch.KindBruteForce, 70, "ssh", 1),
}

func newFixture(t testing.TB, mod func(*Config, *Deps)) *fixture {
	t.Helper()
	tbl, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tbl.SetAllowlist(allowlist.Defaults())
	for _, i := range seed {
		tbl.Put(i)
	}
	now := time.Now().UTC().Truncate(time.Second)
	f := &fixture{t: t, table: tbl, store: newMemStore(tbl), reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	cfg := DefaultConfig()
	cfg.Enabled = true
	cfg.Tokens = []TokenRef{{Name: "ops", Env: "PW_TEST_WRITE"}, {Name: "siem", Env: "PW_TEST_READ", ReadOnly: true}}
	env := map[string]string{"PW_TEST_WRITE": writeToken, "PW_TEST_READ": readToken}
	d := Deps{
		Logger:     slog.New(slog.NewTextHandler(&syncWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: f.reg,
		Table:      tbl,
		Store:      f.store,
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:        func() time.Time { return now },
	}
	if mod != nil {
		mod(&cfg, &d)
	}
	f.srv, err = New(cfg, d)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	f.h = f.srv.Handler()
	return f
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// do sends one request to the handler and returns the response.
func (f *fixture) do(method, target, token string, body any) *httptest.ResponseRecorder {
	f.t.Helper()
	r := f.request(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return f.serve(r)
}

// request makes a request with body: nil, a string, or a value sent as
// JSON.
func (f *fixture) request(method, target string, body any) *http.Request {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	return httptest.NewRequest(method, target, rd)
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// decode decodes a response body into a new T.
func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	return v
}

// wantError checks that w is an error response with status and code.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) ErrorDetail {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d (body %s)", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	e := decode[ErrorBody](t, w)
	if e.Error.Code != code {
		t.Errorf("error code = %q, want %q (message %q)", e.Error.Code, code, e.Error.Message)
	}
	if e.Error.Message == "" {
		t.Error("error message is empty")
	}
	return e.Error
}
