package feed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// lineReader is a trivial format for tests: one "subject [kind]
// [confidence]" per line, '#' comments, "!fail" for an I/O error. Its
// only parameter is "kind", a kind every line gets.
type lineReader struct {
	sc   *bufio.Scanner
	name string
	line int
	kind proxywatch.Kind
}

func openLines(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params, "kind"); err != nil {
		return nil, err
	}
	lr := &lineReader{sc: bufio.NewScanner(r), name: opts.Name}
	if k, ok := opts.Params["kind"]; ok {
		var err error
		if lr.kind, err = proxywatch.ParseKind(k); err != nil {
			return nil, err
		}
	}
	return lr, nil
}

var errBroken = errors.New("broken document")

func (r *lineReader) Read() (proxywatch.Indicator, error) {
	for r.sc.Scan() {
		r.line++
		text := strings.TrimSpace(r.sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if text == "!fail" {
			return proxywatch.Indicator{}, errBroken
		}
		fields := strings.Fields(text)
		subj, err := proxywatch.ParseSubject(fields[0])
		if err != nil {
			return proxywatch.Indicator{}, intel.NewParseError(r.name, r.line, intel.ReasonBadAddress, text, err)
		}
		ind := proxywatch.Indicator{Subject: subj, Kind: r.kind, Source: proxywatch.Source{Feed: r.name, Line: r.line}}
		if len(fields) > 1 {
			if ind.Kind, err = proxywatch.ParseKind(fields[1]); err != nil {
				return proxywatch.Indicator{}, intel.NewParseError(r.name, r.line, intel.ReasonBadValue, text, err)
			}
		}
		if len(fields) > 2 {
			c, err := strconv.Atoi(fields[2])
			if err != nil {
				return proxywatch.Indicator{}, intel.NewParseError(r.name, r.line, intel.ReasonBadValue, text, err)
			}
			ind.Confidence = uint8(c)
		}
		return ind, nil
	}
	if err := r.sc.Err(); err != nil {
		return proxywatch.Indicator{}, err
	}
	return proxywatch.Indicator{}, io.EOF
}

var testFormats = map[string]intel.Open{"lines": openLines}

// fakeSink records what the scheduler hands over.
type fakeSink struct {
	mu       sync.Mutex
	replaced map[string][]proxywatch.Indicator
	replaces int
	states   []State
	fail     error // returned by ReplaceFeed when set
}

func newSink() *fakeSink { return &fakeSink{replaced: map[string][]proxywatch.Indicator{}} }

func (s *fakeSink) ReplaceFeed(_ context.Context, st State, inds []proxywatch.Indicator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.replaces++
	s.replaced[st.Name] = inds
	s.states = append(s.states, st)
	return nil
}

func (s *fakeSink) FeedState(_ context.Context, st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states = append(s.states, st)
	return nil
}

func (s *fakeSink) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// subjects returns the sorted subjects the sink holds for feed.
func (s *fakeSink) subjects(feed string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ind := range s.replaced[feed] {
		out = append(out, ind.Subject.String())
	}
	return out
}

func (s *fakeSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replaces
}

// lastState returns the last state the sink saw.
func (s *fakeSink) lastState() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.states) == 0 {
		return State{}
	}
	return s.states[len(s.states)-1]
}

// testFeed returns a feed of the test format with the defaults' settings.
func testFeed(name string) Feed { return Feed{Name: name, Format: "lines"} }

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is a Scheduler with its sink, registry, log and data directory.
type harness struct {
	s    *Scheduler
	sink *fakeSink
	reg  *prometheus.Registry
	log  *logBuffer
	dir  string
}

func newHarness(t *testing.T, cfg Config, deps Deps) *harness {
	t.Helper()
	h := &harness{sink: newSink(), reg: prometheus.NewRegistry(), log: &logBuffer{}, dir: deps.DataDir}
	if h.dir == "" {
		h.dir = t.TempDir()
	}
	deps.DataDir = h.dir
	if deps.Formats == nil {
		deps.Formats = testFormats
	}
	if deps.Sink == nil {
		deps.Sink = h.sink
	}
	deps.Registerer = h.reg
	deps.Logger = slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	h.s = s
	return h
}

// update runs Update for one feed and returns its result.
func (h *harness) update(t *testing.T, name string) Result {
	t.Helper()
	res, err := h.s.Update(t.Context(), name)
	if err != nil {
		t.Fatalf("Update(%q) = %v", name, err)
	}
	return res[0]
}

// writeList writes lines to path with modification time mtime, so that
// successive versions never share a time.
func writeList(t *testing.T, path string, mtime time.Time, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// addrs returns n lines "203.0.113.x" or "198.51.100.x" (block b), from
// start.
func addrs(block string, start, n int) []string {
	var out []string
	for i := range n {
		out = append(out, block+strconv.Itoa(start+i))
	}
	return out
}

func tempPath(t *testing.T, name string) string { return filepath.Join(t.TempDir(), name) }

var errEOF = io.EOF

func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func removeFile(path string) error { return os.Remove(path) }
