package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
	"github.com/proxywatch/proxywatch/internal/tail"
)

// sshdFailures returns n sshd "Failed password" lines from addr, stamped
// with the wall clock in UTC.
func sshdFailures(addr string, n, port int) string {
	var s string
	for i := range n {
		s += fmt.Sprintf("%s web1 sshd[%d]: Failed password for root from %s port %d ssh2\n",
			time.Now().UTC().Format(time.Stamp), 4000+port+i, addr, port+i)
	}
	return s
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runApp starts the daemon on cfg and returns it with a stop function
// that waits for it to end.
func runApp(t *testing.T, cfg config.File) (*App, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return a, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	}
}

// storedPos reads the committed position of source from the store.
func storedPos(t *testing.T, cfg config.File, source string) tail.Checkpoint {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pos, err := st.Positions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var cp tail.Checkpoint
	if b, ok := pos[source]; ok {
		if err := json.Unmarshal(b, &cp); err != nil {
			t.Fatal(err)
		}
	}
	return cp
}

// TestServeLoginWatch follows an sshd log in serve: lines already in the
// file are not judged (start: end), a brute forcer's appended failures
// become a ban that the verdict table lists, positions are committed with
// it, and after a restart the source resumes on the next line: the ban is
// not taken twice, its alert not recorded twice, and new lines are read.
func TestServeLoginWatch(t *testing.T) {
	cfg := testConfig(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	appendFile(t, logPath, sshdFailures("198.51.100.9", 8, 100))
	cfg.Logs.Sources = []config.LogSource{{FileSource: config.FileSource{Name: "auth", Path: logPath, Poll: 20 * time.Millisecond},
		Format: logparse.FormatSSHD, SSHD: &logparse.SSHDConfig{TimeZone: "UTC"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	a, stop := runApp(t, cfg)
	old, brute := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("203.0.113.5")
	// The source may not have found the end of the file yet: append
	// failures one at a time until the brute forcer is listed.
	appended := 0
	waitFor(t, 10*time.Second, "the brute forcer listed", func() bool {
		if lookupListed(a.table, brute) {
			return true
		}
		appendFile(t, logPath, sshdFailures(brute.String(), 1, 200+appended))
		appended++
		return false
	})
	if lookupListed(a.table, old) {
		t.Errorf("%s, logged before serve started with start: end, was decided", old)
	}
	if as := a.watch.Assess(brute, "root", 0); as.Action != "deny" {
		t.Errorf("Assess(%s) = %+v, want deny", brute, as)
	}
	// The counts reach /metrics.
	appendFile(t, logPath, "Mar  2 10:00:00 web1 sshd[9]: Server listening on 0.0.0.0 port 22.\n")
	waitFor(t, 5*time.Second, "the log metrics", func() bool {
		m := scrape(t, a)
		return strings.Contains(m, `proxywatch_log_lines_total{source="auth"}`) &&
			strings.Contains(m, `proxywatch_decisions_total{count="taken"} 1`) &&
			regexp.MustCompile(`proxywatch_log_skipped_lines_total\{reason="no-event",source="auth"\} [1-9]`).MatchString(m)
	})
	stop()
	// Sequence numbers count the lines the source delivered: the ones
	// appended, not the eight skipped by start: end.
	cp1 := storedPos(t, cfg, "auth")
	if cp1.Seq < 5 || cp1.Seq > uint64(appended) {
		t.Errorf("committed position after %d appended lines: seq %d, want 5 to %d", appended, cp1.Seq, appended)
	}
	alertsBefore := countAlerts(t, cfg)

	// Lines written while the daemon is down are read after the restart,
	// and the lines before the committed position are not read again
	// (lines appended before the stop but not yet read, or read but not
	// yet judged, are after it, and read now).
	appendFile(t, logPath, sshdFailures("198.51.100.77", 2, 300))
	a, stop = runApp(t, cfg)
	waitFor(t, 5*time.Second, "the two new lines", func() bool { return a.logs.srcs[0].lines.Load() >= 2 })
	if st := a.dm.Stats(); st.Taken != 0 || st.Duplicate != 0 {
		t.Errorf("after restart the decision process took %d and saw %d duplicates, want 0 and 0 (nothing re-judged)", st.Taken, st.Duplicate)
	}
	if !lookupListed(a.table, brute) {
		t.Errorf("%s not listed after restart", brute)
	}
	time.Sleep(100 * time.Millisecond)
	read := a.logs.srcs[0].lines.Load()
	stop()
	cp2 := storedPos(t, cfg, "auth")
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if cp2.Offset != fi.Size() || cp2.Seq != cp1.Seq+read {
		t.Errorf("position after the restart: offset %d of %d bytes, seq %d; want the end of the file and seq %d+%d",
			cp2.Offset, fi.Size(), cp2.Seq, cp1.Seq, read)
	}
	if read < 2 {
		t.Errorf("after restart the source read %d lines, want at least the 2 new ones", read)
	}
	if n := countAlerts(t, cfg); n != alertsBefore {
		t.Errorf("alerts after restart: %d, before: %d; want no new alert", n, alertsBefore)
	}
}

// scrape returns the daemon's /metrics page.
func scrape(t *testing.T, a *App) string {
	t.Helper()
	resp, err := http.Get("http://" + a.TelemetryAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func countAlerts(t *testing.T, cfg config.File) int {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := st.Alerts(context.Background(), time.Time{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) == 0 {
		t.Errorf("no alert stored")
	}
	return len(as)
}

// TestServeFollowsOtherDecisions adds and deletes a decision through a
// second store handle, as `proxywatch decisions add|delete` does from
// another process: the running decision process, which answers Assess,
// must follow both.
func TestServeFollowsOtherDecisions(t *testing.T) {
	cfg := testConfig(t)
	a, stop := runApp(t, cfg)
	defer stop()
	l, err := OpenLocal(context.Background(), cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := netip.MustParseAddr("203.0.113.66")
	d, err := l.AddDecision(context.Background(), proxywatch.PrefixSubject(netip.PrefixFrom(addr, 32)), proxywatch.ActionBan, time.Hour, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the decision in the decision process", func() bool {
		_, ok := a.dm.Active(addr, time.Time{})
		return ok
	})
	if as := a.watch.Assess(addr, "", 0); as.Action != "deny" {
		t.Errorf("Assess(%s) = %+v, want deny", addr, as)
	}
	if err := l.DeleteDecision(context.Background(), d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the deletion in the decision process", func() bool {
		_, ok := a.dm.Active(addr, time.Time{})
		return !ok
	})
}
