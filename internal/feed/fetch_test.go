package feed

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// docServer serves one document on 127.0.0.1 and records requests.
type docServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	etag     string
	lastMod  string
	encoding string // Content-Encoding to declare
	status   int    // when non-zero, answered instead of the document
	hang     bool   // wait for the client to give up
	requests []http.Header
}

func newDocServer(t *testing.T, body string) *docServer {
	d := &docServer{body: []byte(body)}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func (d *docServer) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.requests = append(d.requests, r.Header.Clone())
	body, etag, lastMod, enc, status, hang := d.body, d.etag, d.lastMod, d.encoding, d.status, d.hang
	d.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if lastMod != "" {
		w.Header().Set("Last-Modified", lastMod)
	}
	if enc != "" {
		w.Header().Set("Content-Encoding", enc)
	}
	w.Write(body)
}

func (d *docServer) set(fn func(d *docServer)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d)
}

func (d *docServer) lastRequest() http.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests[len(d.requests)-1]
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// urlConfig returns a config with one URL feed "f" at u.
func urlConfig(u string, mod func(*Feed)) Config {
	c := DefaultConfig()
	f := testFeed("f")
	f.URL = u + "/list.txt"
	if mod != nil {
		mod(&f)
	}
	c.Feeds = []Feed{f}
	return c
}

func TestFetchConditional(t *testing.T) {
	srv := newDocServer(t, "203.0.113.1\n203.0.113.2\n")
	srv.set(func(d *docServer) { d.etag, d.lastMod = `"v1"`, "Tue, 01 Sep 2026 10:00:00 GMT" })
	h := newHarness(t, urlConfig(srv.URL, nil), Deps{Client: srv.Client(), Version: "1.2.3"})

	steps := []struct {
		name        string
		change      func(d *docServer)
		want        Outcome
		wantINM     string
		wantSubject []string
	}{
		{"first", nil, OutcomeUpdated, "", []string{"203.0.113.1/32", "203.0.113.2/32"}},
		{"etag-matches", nil, OutcomeNotModified, `"v1"`, []string{"203.0.113.1/32", "203.0.113.2/32"}},
		{"new-version", func(d *docServer) { d.body, d.etag = []byte("203.0.113.3\n"), `"v2"` }, OutcomeUpdated, `"v1"`, []string{"203.0.113.3/32"}},
		{"no-etag-same-body", func(d *docServer) { d.etag = "" }, OutcomeUnchanged, `"v2"`, []string{"203.0.113.3/32"}},
		{"no-etag-same-body-again", nil, OutcomeUnchanged, "", []string{"203.0.113.3/32"}},
	}
	for _, st := range steps {
		if st.change != nil {
			srv.set(st.change)
		}
		res := h.update(t, "f")
		if res.Outcome != st.want || res.Err != nil {
			t.Fatalf("%s: Update() = %s, %v, want %s", st.name, res.Outcome, res.Err, st.want)
		}
		req := srv.lastRequest()
		if got := req.Get("If-None-Match"); got != st.wantINM {
			t.Errorf("%s: If-None-Match = %q, want %q", st.name, got, st.wantINM)
		}
		if got := req.Get("User-Agent"); got != "proxywatch/1.2.3" {
			t.Errorf("%s: User-Agent = %q, want proxywatch/1.2.3", st.name, got)
		}
		if diff := cmp.Diff(st.wantSubject, h.sink.subjects("f")); diff != "" {
			t.Errorf("%s: sink subjects (-want +got):\n%s", st.name, diff)
		}
	}
	if got := srv.requests[1].Get("If-Modified-Since"); got != "Tue, 01 Sep 2026 10:00:00 GMT" {
		t.Errorf("If-Modified-Since = %q, want the Last-Modified sent", got)
	}
	if got := h.sink.count(); got != 2 {
		t.Errorf("ReplaceFeed calls = %d, want 2 (one per new version)", got)
	}
	for _, o := range []Outcome{OutcomeUpdated, OutcomeNotModified, OutcomeUnchanged} {
		want := map[Outcome]float64{OutcomeUpdated: 2, OutcomeNotModified: 1, OutcomeUnchanged: 2}[o]
		if got := testutil.ToFloat64(h.s.metrics.fetches.WithLabelValues("f", string(o))); got != want {
			t.Errorf("fetches{reason=%s} = %v, want %v", o, got, want)
		}
	}
}

func TestFetchGzip(t *testing.T) {
	doc := []byte("203.0.113.1\n2001:db8::7\n")
	tests := []struct {
		name     string
		body     []byte
		encoding string
	}{
		{"plain", doc, ""},
		{"content-encoding", gz(t, doc), "gzip"},
		{"gz-file", gz(t, doc), ""},
		{"gz-file-with-content-encoding", gz(t, gz(t, doc)), "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDocServer(t, "")
			srv.set(func(d *docServer) { d.body, d.encoding = tc.body, tc.encoding })
			h := newHarness(t, urlConfig(srv.URL, nil), Deps{Client: srv.Client()})
			res := h.update(t, "f")
			if res.Outcome != OutcomeUpdated {
				t.Fatalf("Update() = %s, %v, want updated", res.Outcome, res.Err)
			}
			if diff := cmp.Diff([]string{"203.0.113.1/32", "2001:db8::7/128"}, h.sink.subjects("f")); diff != "" {
				t.Errorf("sink subjects (-want +got):\n%s", diff)
			}
			if got := srv.lastRequest().Get("Accept-Encoding"); got != "gzip" {
				t.Errorf("Accept-Encoding = %q, want gzip", got)
			}
			if res.State.Bytes != int64(len(doc)) {
				t.Errorf("State.Bytes = %d, want the decompressed %d", res.State.Bytes, len(doc))
			}
		})
	}
}

// TestFetchFailureKeepsLastGood loads a good copy, then serves each kind
// of bad response: the fetch fails with its reason and the good copy
// stays in use.
func TestFetchFailureKeepsLastGood(t *testing.T) {
	good := "203.0.113.1\n203.0.113.2\n"
	bomb := gz(t, make([]byte, 16<<20)) // 16 MiB of zeros in a few KiB
	tests := []struct {
		name   string
		change func(d *docServer)
		reason string
	}{
		{"too-large", func(d *docServer) { d.body = bytes.Repeat([]byte("203.0.113.9\n"), 1000) }, errTooLarge},
		{"gzip-bomb-content-encoding", func(d *docServer) { d.body, d.encoding = bomb, "gzip" }, errTooLarge},
		{"gzip-bomb-body", func(d *docServer) { d.body = bomb }, errTooLarge},
		{"broken-gzip", func(d *docServer) { d.body = gz(t, []byte(good))[:20] }, errDecompress},
		{"unknown-encoding", func(d *docServer) { d.encoding = "br" }, errDecompress},
		{"status", func(d *docServer) { d.status = http.StatusServiceUnavailable }, errStatus},
		{"timeout", func(d *docServer) { d.hang = true }, errTimeout},
		{"unparseable", func(d *docServer) { d.body = []byte("203.0.113.5\n!fail\n") }, errParse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newDocServer(t, good)
			cfg := urlConfig(srv.URL, func(f *Feed) { f.MaxBytes = 1 << 10; f.Timeout = 200 * time.Millisecond })
			h := newHarness(t, cfg, Deps{Client: srv.Client()})
			if res := h.update(t, "f"); res.Outcome != OutcomeUpdated {
				t.Fatalf("first Update() = %s, %v", res.Outcome, res.Err)
			}
			srv.set(tc.change)
			res := h.update(t, "f")
			if res.Outcome != OutcomeFailed || res.Err == nil {
				t.Fatalf("Update() = %s, %v, want failed", res.Outcome, res.Err)
			}
			if got := reasonOf(res.Err); got != tc.reason {
				t.Errorf("Update() error %v has reason %q, want %q", res.Err, got, tc.reason)
			}
			if strings.Contains(res.Err.Error(), "?") {
				t.Errorf("error %q shows a query", res.Err)
			}
			if diff := cmp.Diff([]string{"203.0.113.1/32", "203.0.113.2/32"}, h.sink.subjects("f")); diff != "" {
				t.Errorf("sink subjects after failure (-want +got):\n%s", diff)
			}
			st := h.s.Status()[0]
			if !st.UsingLastGood || st.Failures != 1 || st.LastError == "" || st.Indicators != 2 {
				t.Errorf("Status() = %+v, want using the last good copy of 2 after 1 failure", st)
			}
			if got := testutil.ToFloat64(h.s.metrics.errors.WithLabelValues("f", tc.reason)); got != 1 {
				t.Errorf("errors{reason=%s} = %v, want 1", tc.reason, got)
			}
			want := "# HELP proxywatch_feed_using_last_good 1 while the feed serves its kept copy because the latest fetch failed or none succeeded since start-up.\n" +
				"# TYPE proxywatch_feed_using_last_good gauge\nproxywatch_feed_using_last_good{feed=\"f\"} 1\n"
			if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "proxywatch_feed_using_last_good"); err != nil {
				t.Error(err)
			}
			if last := h.sink.lastState(); last.Outcome != OutcomeFailed || !last.UsingLastGood {
				t.Errorf("sink's last state = %+v, want failed, using last good", last)
			}
			// The source recovers: the failure clears.
			srv.set(func(d *docServer) { d.body, d.encoding, d.status, d.hang = []byte(good), "", 0, false })
			if res := h.update(t, "f"); res.Outcome != OutcomeUnchanged || res.State.UsingLastGood || res.State.Failures != 0 {
				t.Errorf("Update() after recovery = %s, %+v, want unchanged and healthy", res.Outcome, res.State)
			}
		})
	}
}

func TestFetchQueryRedacted(t *testing.T) {
	srv := newDocServer(t, "")
	srv.set(func(d *docServer) { d.status = http.StatusForbidden })
	cfg := urlConfig(srv.URL, nil)
	cfg.Feeds[0].URL += "?key=secret"
	h := newHarness(t, cfg, Deps{Client: srv.Client()})
	res := h.update(t, "f")
	if res.Err == nil || strings.Contains(res.Err.Error(), "secret") || strings.Contains(res.State.Source, "secret") {
		t.Errorf("Update() = %v, source %q: want an error that hides the key", res.Err, res.State.Source)
	}
	srv.Close()
	res = h.update(t, "f")
	if res.Err == nil || strings.Contains(res.Err.Error(), "secret") {
		t.Errorf("Update() on a closed server = %v, want an error that hides the key", res.Err)
	}
}

func TestReadBody(t *testing.T) {
	doc := []byte("hello\n")
	tests := []struct {
		name     string
		body     []byte
		encoding string
		limit    int64
		want     []byte
		reason   string
	}{
		{"plain", doc, "", 100, doc, ""},
		{"exact-limit", doc, "", int64(len(doc)), doc, ""},
		{"over-limit", doc, "", int64(len(doc)) - 1, nil, errTooLarge},
		{"identity", doc, "identity", 100, doc, ""},
		{"x-gzip", gz(t, doc), "x-gzip", 100, doc, ""},
		{"gz-over-limit", gz(t, doc), "", 3, nil, errTooLarge},
		{"double-gz-body-once", gz(t, gz(t, doc)), "", 1000, gz(t, doc), ""},
		{"bad-content-encoding", doc, "gzip", 100, nil, errDecompress},
		{"truncated-gz", gz(t, doc)[:12], "", 100, nil, errDecompress},
		{"empty", nil, "", 100, []byte{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(bytes.NewReader(tc.body), tc.encoding, tc.limit)
			if tc.reason != "" {
				if fe, ok := errors.AsType[*fetchError](err); !ok || fe.reason != tc.reason {
					t.Fatalf("readBody() = %q, %v, want reason %s", got, err, tc.reason)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("readBody() = %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func FuzzReadBody(f *testing.F) {
	f.Add([]byte("203.0.113.1\n"), false)
	f.Add(gz(f, []byte("203.0.113.1\n")), false)
	f.Add(gz(f, []byte("203.0.113.1\n")), true)
	f.Add(gz(f, make([]byte, 5000)), true)
	f.Fuzz(func(t *testing.T, body []byte, ce bool) {
		enc := ""
		if ce {
			enc = "gzip"
		}
		const limit = 4096
		got, err := readBody(bytes.NewReader(body), enc, limit)
		if err == nil && len(got) > limit {
			t.Errorf("readBody() returned %d bytes, above the limit %d", len(got), limit)
		}
		if err == nil && !ce && (len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b) && !bytes.Equal(got, body) {
			t.Errorf("readBody(plain) = %q, want the input %q", got, body)
		}
	})
}
