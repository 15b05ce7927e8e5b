package sqlitestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// crashEnv names the database the child process of TestCrashMidImport
// imports into.
const crashEnv = "PROXYWATCH_TEST_SQLITESTORE_CRASH_DB"

// crashReady is what the child prints once it is well into its import.
const crashReady = "importing"

// crashRows is how many indicators the child writes before it says so;
// with the child's small page cache, they have spilled into the WAL as
// uncommitted frames by then.
const crashRows = 25000

// TestCrashMidImport kills a process with SIGKILL in the middle of
// ReplaceFeed and checks that the feed then holds exactly the previous
// complete set and state.
func TestCrashMidImport(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("crash test: starts a child process; skipped in -short mode")
	}
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), FileName)
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open error %v", err)
	}
	prev := crashIndicators(5000, 1)
	prevState := store.FeedState{Name: "big", ETag: "v1", Accepted: len(prev)}
	if err := s.ReplaceFeed(t.Context(), prevState, store.FromSlice(prev)); err != nil {
		t.Fatalf("ReplaceFeed(previous) error %v", err)
	}
	seq, err := s.Seq(t.Context())
	if err != nil {
		t.Fatalf("Seq() error %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashMidImport$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+cfg.Path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	sc := bufio.NewScanner(out)
	ready := false
	for !ready && sc.Scan() {
		ready = sc.Text() == crashReady
	}
	if !ready {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child ended before it was importing: %v", sc.Err())
	}
	wal, _ := os.Stat(cfg.Path + "-wal")
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatalf("kill child: %v", err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("child exit = %v, want killed by a signal", err)
	}
	if wal == nil || wal.Size() < 1<<20 {
		t.Errorf("WAL when killed: %v, want over 1 MiB of uncommitted frames", wal)
	}
	t.Logf("killed the child mid-import with a %d-byte WAL", wal.Size())

	s, err = Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open after the crash: error %v", err)
	}
	defer s.Close()
	var res string
	if err := s.r.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check after the crash = %q, %v, want ok", res, err)
	}
	var got []proxywatch.Indicator
	for ind, err := range s.Indicators(t.Context(), "big") {
		if err != nil {
			t.Fatalf("Indicators(big) error %v", err)
		}
		got = append(got, ind)
	}
	want := make([]proxywatch.Indicator, len(prev))
	for i, ind := range prev {
		want[i], _ = store.Normalize(ind)
	}
	opts := cmp.Options{
		cmp.Comparer(func(a, b proxywatch.Subject) bool { return a == b }),
		cmpopts.SortSlices(func(a, b proxywatch.Indicator) bool { return a.Source.Line < b.Source.Line }),
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Indicators(big) after the crash mismatch (-want +got):\n%s", diff)
	}
	st, err := s.FeedState(t.Context(), "big")
	if err != nil || st.ETag != "v1" || st.Indicators != len(prev) {
		t.Errorf("FeedState(big) after the crash = %+v, %v, want ETag v1 and %d indicators", st, err, len(prev))
	}
	if got, err := s.Seq(t.Context()); err != nil || got != seq {
		t.Errorf("Seq() after the crash = %d, %v, want %d", got, err, seq)
	}
	if err := s.ReplaceFeed(t.Context(), store.FeedState{Name: "big", ETag: "v3"}, store.FromSlice(prev[:10])); err != nil {
		t.Errorf("ReplaceFeed after the crash: error %v", err)
	}
}

// crashChild imports an endless feed into path, says when it is well into
// it, and waits to be killed. It never commits: the feed ends in an error.
func crashChild(t *testing.T, path string) {
	cfg := DefaultConfig()
	cfg.Path = path
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("child: Open error %v", err)
	}
	// A small cache, so that the import spills uncommitted pages into the WAL.
	s.bulkCache = "-256"
	endless := func(yield func(proxywatch.Indicator, error) bool) {
		for i := 0; ; i++ {
			if i == crashRows {
				fmt.Println(crashReady)
				os.Stdout.Sync()
			}
			if i > 50*crashRows {
				yield(proxywatch.Indicator{}, errors.New("child: the parent never killed this process"))
				return
			}
			if !yield(crashIndicators(1, i)[0], nil) {
				return
			}
		}
	}
	err = s.ReplaceFeed(context.Background(), store.FeedState{Name: "big", ETag: "v2"}, endless)
	t.Fatalf("child: ReplaceFeed returned %v; it should have been killed", err)
}

// crashIndicators returns n indicators of feed "big" from line first on,
// overlapping with other calls' subjects so the child also deletes old rows.
func crashIndicators(n, first int) []proxywatch.Indicator {
	inds := make([]proxywatch.Indicator, n)
	for i := range inds {
		line := first + i
		a := netip.AddrFrom4([4]byte{10, byte(line >> 16), byte(line >> 8), byte(line)})
		inds[i] = proxywatch.Indicator{Subject: proxywatch.AddrSubject(a), Kind: proxywatch.KindOpenProxy,
			Source: proxywatch.Source{Feed: "big", Line: line}, Confidence: uint8(line % 101),
			Tags: []string{"crash"}, Comment: "an indicator long enough to fill pages quickly"}
	}
	return inds
}
