package apiclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/api"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

const (
	writeToken = "w-0123456789abcdef0123"
	readToken  = "r-0123456789abcdef0123"
)

// following is the real store with the daemon's follower reduced to its
// effect: every write also reaches the table.
type following struct {
	*sqlitestore.Store
	table *verdict.Table
}

func (f following) Add(ctx context.Context, ind proxywatch.Indicator) error {
	if err := f.Store.Add(ctx, ind); err != nil {
		return err
	}
	f.table.Put(ind)
	return nil
}

func (f following) Delete(ctx context.Context, k proxywatch.Key) error {
	if err := f.Store.Delete(ctx, k); err != nil {
		return err
	}
	f.table.Delete(k)
	return nil
}

type feeds struct{ st *sqlitestore.Store }

func (f feeds) FeedStatus(ctx context.Context) ([]api.FeedStatus, error) {
	states, err := f.st.FeedStates(ctx)
	var out []api.FeedStatus
	for _, s := range states {
		out = append(out, api.FeedStatus{FeedState: s, TableEntries: s.Indicators})
	}
	return out, err
}

// newServer runs the real API handler over a table and a SQLite store.
func newServer(t *testing.T) string {
	t.Helper()
	tbl, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tbl.SetAllowlist(allowlist.Defaults())
	scfg := sqlitestore.DefaultConfig()
	scfg.Path = filepath.Join(t.TempDir(), "pw.db")
	st, err := sqlitestore.Open(t.Context(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	feedInds := []proxywatch.Indicator{{Subject: proxywatch.AddrSubject(netip.MustParseAddr("198.51.100.7")), Kind: proxywatch.KindOpenProxy, Confidence: 90}}
	if err := st.ReplaceFeed(t.Context(), store.FeedState{Name: "proxies", Accepted: 1}, store.FromSlice(feedInds)); err != nil {
		t.Fatal(err)
	}
	tbl.ReplaceFeed("proxies", feedInds)

	cfg := api.DefaultConfig()
	cfg.Enabled = true
	cfg.Tokens = []api.TokenRef{{Name: "ops", Env: "W"}, {Name: "ro", Env: "R", ReadOnly: true}}
	env := map[string]string{"W": writeToken, "R": readToken}
	srv, err := api.New(cfg, api.Deps{
		Table:     tbl,
		Store:     following{st, tbl},
		Feeds:     feeds{st},
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Export: func(_ context.Context, req api.ExportRequest) (api.Export, error) {
			if req.Format != "plain" {
				return api.Export{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: "unknown format"}
			}
			return api.Export{ContentType: "text/plain; charset=utf-8", Write: func(_ context.Context, w io.Writer) error {
				if req.Params["broken"] != "" {
					io.WriteString(w, strings.Repeat("# partial\n", 2000))
					return errors.New("gone")
				}
				_, err := io.WriteString(w, "198.51.100.7/32\n")
				return err
			}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func newClient(t *testing.T, url, token string, batch int) *Client {
	t.Helper()
	c, err := New(url, Options{Token: token, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClient(t *testing.T) {
	url := newServer(t)
	ctx := t.Context()
	c := newClient(t, url, writeToken, 2)

	v, err := c.Verdict(ctx, netip.MustParseAddr("198.51.100.7"))
	if err != nil || !v.Listed || v.Kind != "open-proxy" || len(v.Evidence) != 1 || v.Evidence[0].Source.Feed != "proxies" {
		t.Errorf("Verdict(198.51.100.7) = %+v, %v, want listed open-proxy from proxies", v, err)
	}

	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("::ffff:198.51.100.7"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("2001:db8::1")}
	vs, err := c.Batch(ctx, addrs)
	if err != nil || len(vs) != len(addrs) {
		t.Fatalf("Batch() = %d verdicts, %v, want %d", len(vs), err, len(addrs))
	}
	for i, want := range []bool{false, true, true, false, false} {
		if vs[i].Listed != want || vs[i].Addr != addrs[i].Unmap() {
			t.Errorf("Batch()[%d] = %s listed %v, want %s listed %v", i, vs[i].Addr, vs[i].Listed, addrs[i].Unmap(), want)
		}
	}

	ind, err := c.AddIndicator(ctx, api.IndicatorInput{Subject: "203.0.113.0/24", Kind: "c2", TTL: "1h"})
	if err != nil || ind.Kind != proxywatch.KindC2 || ind.Source.Feed != "local" || ind.Expires.IsZero() {
		t.Fatalf("AddIndicator() = %+v, %v, want a c2 in local with an expiry", ind, err)
	}
	if v, _ := c.Verdict(ctx, netip.MustParseAddr("203.0.113.1")); !v.Listed || v.Kind != "c2" {
		t.Errorf("Verdict(203.0.113.1) after add = %+v, want listed c2", v)
	}
	inds, err := c.AddIndicators(ctx, api.IndicatorInput{Subject: "192.0.2.9"}, api.IndicatorInput{Subject: "AS64496", Kind: "anonymizer"})
	if err != nil || len(inds) != 2 {
		t.Errorf("AddIndicators() = %v, %v, want 2", inds, err)
	}
	list, truncated, err := c.Indicators(ctx, "", 2)
	if err != nil || len(list) != 2 || !truncated {
		t.Errorf("Indicators(local, 2) = %d, truncated %v, %v, want 2 of 3, truncated", len(list), truncated, err)
	}
	subj := ind.Subject
	got, err := c.Subject(ctx, subj, Filter{Kind: proxywatch.KindC2})
	if err != nil || len(got) != 1 {
		t.Errorf("Subject(%s) = %v, %v, want 1", subj, got, err)
	}
	none := ""
	if _, err := c.Subject(ctx, subj, Filter{Proto: &none, Kind: proxywatch.KindScanner}); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("Subject(%s, scanner) error = %v, want ErrNotFound", subj, err)
	}
	del, err := c.DeleteIndicator(ctx, subj, Filter{})
	if err != nil || len(del) != 1 {
		t.Errorf("DeleteIndicator(%s) = %v, %v, want 1 deleted", subj, del, err)
	}
	if v, _ := c.Verdict(ctx, netip.MustParseAddr("203.0.113.1")); v.Listed {
		t.Errorf("Verdict(203.0.113.1) after delete: listed")
	}
	_, err = c.DeleteIndicator(ctx, subj, Filter{})
	var apiErr *Error
	if !errors.Is(err, proxywatch.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != "not_found" {
		t.Errorf("DeleteIndicator(%s) again = %v, want a 404 not_found *Error", subj, err)
	}

	fs, err := c.Feeds(ctx)
	if err != nil || len(fs) != 2 || fs[1].Name != "proxies" || fs[1].Accepted != 1 {
		t.Errorf("Feeds() = %+v, %v, want local and proxies", fs, err)
	}

	var b bytes.Buffer
	ct, err := c.Export(ctx, "plain", nil, &b)
	if err != nil || b.String() != "198.51.100.7/32\n" || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Export(plain) = %q, %q, %v", b.String(), ct, err)
	}
	if _, err := c.Export(ctx, "gif", nil, io.Discard); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Export(gif) error = %v, want ErrInvalid", err)
	}
	if _, err := c.Export(ctx, "plain", map[string]string{"broken": "1"}, io.Discard); err == nil {
		t.Error("Export of a response cut short = nil error, want an error")
	}
}

func TestClientErrors(t *testing.T) {
	url := newServer(t)
	ctx := t.Context()
	in := api.IndicatorInput{Subject: "192.0.2.1"}
	if _, err := newClient(t, url, "", 0).AddIndicator(ctx, in); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("AddIndicator without token = %v, want ErrUnauthorized", err)
	}
	if _, err := newClient(t, url, readToken, 0).AddIndicator(ctx, in); !errors.Is(err, ErrForbidden) {
		t.Errorf("AddIndicator with read-only token = %v, want ErrForbidden", err)
	}
	if _, err := newClient(t, url, writeToken, 0).AddIndicator(ctx, api.IndicatorInput{Subject: "bad subject"}); !errors.Is(err, proxywatch.ErrInvalid) ||
		!strings.Contains(err.Error(), "subject") {
		t.Errorf("AddIndicator(bad subject) = %v, want ErrInvalid naming the subject", err)
	}
	many := make([]netip.Addr, 1001)
	for i := range many {
		many[i] = netip.MustParseAddr("192.0.2.1")
	}
	if _, err := newClient(t, url, "", 1001).Batch(ctx, many); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Batch of 1001 in one request = %v, want ErrInvalid (too_large)", err)
	}
	if vs, err := newClient(t, url, "", 0).Batch(ctx, many); err != nil || len(vs) != 1001 {
		t.Errorf("Batch of 1001 split by the client = %d, %v, want 1001", len(vs), err)
	}

	// An answer that is not the API's.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer plain.Close()
	_, err := newClient(t, plain.URL, "", 0).Feeds(ctx)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "http_502" || apiErr.Message != "bad gateway" {
		t.Errorf("Feeds() from a plain 502 = %v, want code http_502 with its text", err)
	}
	for _, bad := range []string{"127.0.0.1:9411", "ftp://x", "http://"} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q) = nil error", bad)
		}
	}
}
