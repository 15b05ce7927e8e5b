package tail

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testConfig follows dir/app.log with short polls.
func testConfig(dir string) Config {
	c := DefaultConfig()
	c.Name = "app"
	c.Path = filepath.Join(dir, "app.log")
	c.Poll = 5 * time.Millisecond
	c.RotateWait = 20 * time.Millisecond
	c.MaxLine = 1024
	c.Fingerprint = 64
	return c
}

func appendLines(t testing.TB, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i <= to; i++ {
		fmt.Fprintf(f, "line %04d\n", i)
	}
}

func writeGzip(t testing.TB, path string, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func want(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %04d", i))
	}
	return out
}

// read takes n lines from r, failing after a timeout; it checks that the
// sequence numbers follow on from first.
func read(t testing.TB, r *Reader, n int, first uint64) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	for len(out) < n {
		l, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next() after %d of %d lines: %v (got %q)", len(out), n, err, out)
		}
		if l.Pos.Seq != first+uint64(len(out)) {
			t.Fatalf("Next() = %q with seq %d, want %d", l.Text, l.Pos.Seq, first+uint64(len(out)))
		}
		out = append(out, string(l.Text))
	}
	return out
}

// quiet checks that r has no line for a while.
func quiet(t testing.TB, r *Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	if l, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next() = %q, %v; want no line", l.Text, err)
	}
}

// settle polls r, which must have no line, until its checkpoint
// satisfies cond.
func settle(t testing.TB, r *Reader, what string, cond func(Checkpoint) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(r.Checkpoint()) {
		if time.Now().After(deadline) {
			t.Fatalf("reader never got to %s: checkpoint %+v", what, r.Checkpoint())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		l, err := r.Next(ctx)
		cancel()
		if err == nil {
			t.Fatalf("Next() = %q while waiting for %s, want no line", l.Text, what)
		}
	}
}

// onEmptyNewFile is a settle condition: the reader moved to an empty file
// after another.
func onEmptyNewFile(cp Checkpoint) bool { return cp.File.Len == 0 && cp.Prev.Len != 0 }

func check(t testing.TB, got, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
}

func open(t testing.TB, c Config, cp Checkpoint) *Reader {
	t.Helper()
	r, err := Open(c, cp)
	if err != nil {
		t.Fatalf("Open() error %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestFollowRename(t *testing.T) {
	c := testConfig(t.TempDir())
	appendLines(t, c.Path, 1, 3)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 3, 1), want(1, 3))
	appendLines(t, c.Path, 4, 5)
	if err := os.Rename(c.Path, c.Path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, c.Path+".1", 6, 6) // the writer has not reopened yet
	appendLines(t, c.Path, 7, 9)
	check(t, read(t, r, 6, 4), want(4, 9))
	quiet(t, r)
	if s := r.Stats(); s.Rotations != 1 || s.Files != 2 || s.Lost != 0 {
		t.Errorf("Stats() = %+v, want 1 rotation, 2 files, none lost", s)
	}
}

func TestFollowCopytruncate(t *testing.T) {
	c := testConfig(t.TempDir())
	appendLines(t, c.Path, 1, 3)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 2, 1), want(1, 2))
	appendLines(t, c.Path, 4, 6)
	copyFile(t, c.Path, c.Path+".1")
	if err := os.Truncate(c.Path, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, c.Path, 7, 8)
	check(t, read(t, r, 6, 3), want(3, 8))
	quiet(t, r)
	if s := r.Stats(); s.Truncations != 1 || s.Lost != 0 {
		t.Errorf("Stats() = %+v, want 1 truncation, none lost", s)
	}
}

// TestFollowCopytruncateUnread copytruncates a file the reader has not
// read a byte of: only the new copy after the previous file shows it.
func TestFollowCopytruncateUnread(t *testing.T) {
	c := testConfig(t.TempDir())
	appendLines(t, c.Path, 1, 2)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 2, 1), want(1, 2))
	os.Rename(c.Path, c.Path+".1")
	os.WriteFile(c.Path, nil, 0o644)
	settle(t, r, "the empty new file", onEmptyNewFile)
	appendLines(t, c.Path, 3, 4)
	os.Rename(c.Path+".1", c.Path+".2")
	copyFile(t, c.Path, c.Path+".1")
	os.Truncate(c.Path, 0)
	appendLines(t, c.Path, 5, 5) // before the reader looks again
	check(t, read(t, r, 3, 3), want(3, 5))
	if s := r.Stats(); s.Truncations != 1 || s.Lost != 0 {
		t.Errorf("Stats() = %+v, want 1 truncation, none lost", s)
	}
}

// TestFollowTruncateRefill truncates the file and writes more than was
// read before the reader looks again: the changed leading bytes give it
// away.
func TestFollowTruncateRefill(t *testing.T) {
	c := testConfig(t.TempDir())
	appendLines(t, c.Path, 1, 2)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 2, 1), want(1, 2))
	if err := os.WriteFile(c.Path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	appendLines(t, c.Path, 11, 15)
	check(t, read(t, r, 5, 3), want(11, 15))
	if s := r.Stats(); s.Truncations != 1 {
		t.Errorf("Stats() = %+v, want 1 truncation", s)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResume restarts from checkpoints while the file is rotated, its
// copy compressed, and copytruncated: every line comes once.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	c := testConfig(dir)
	appendLines(t, c.Path, 1, 10)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 4, 1), want(1, 4))
	cp := r.Checkpoint()
	r.Close()

	// Down time: rename rotation, then the copy is compressed.
	appendLines(t, c.Path, 11, 12)
	os.Rename(c.Path, c.Path+".1")
	appendLines(t, c.Path, 13, 20)
	b, _ := os.ReadFile(c.Path + ".1")
	writeGzip(t, c.Path+".2.gz", b)
	os.Remove(c.Path + ".1")
	os.Rename(c.Path, c.Path+".1")
	appendLines(t, c.Path, 21, 22)

	r = open(t, c, cp)
	check(t, read(t, r, 18, 5), want(5, 22))
	quiet(t, r)
	cp = r.Checkpoint()
	r.Close()

	// Down time: copytruncate.
	appendLines(t, c.Path, 23, 25)
	copyFile(t, c.Path, c.Path+".0")
	os.Truncate(c.Path, 0)
	appendLines(t, c.Path, 26, 26)
	// .0 sorts after .1: numbered copies are newest at the lowest number.
	r = open(t, c, cp)
	check(t, read(t, r, 4, 23), want(23, 26))
	quiet(t, r)
	if s := r.Stats(); s.Lost != 0 {
		t.Errorf("Stats() = %+v, want none lost", s)
	}
}

// TestResumeEmptyFile resumes from a checkpoint taken when the new file
// had no line yet, after it was copytruncated in the down time.
func TestResumeEmptyFile(t *testing.T) {
	c := testConfig(t.TempDir())
	appendLines(t, c.Path, 1, 2)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 2, 1), want(1, 2))
	os.Rename(c.Path, c.Path+".1")
	os.WriteFile(c.Path, nil, 0o644)
	settle(t, r, "the empty new file", onEmptyNewFile)
	cp := r.Checkpoint()
	r.Close()
	appendLines(t, c.Path, 3, 4)
	os.Rename(c.Path+".1", c.Path+".2")
	copyFile(t, c.Path, c.Path+".1")
	os.Truncate(c.Path, 0)
	appendLines(t, c.Path, 5, 5)
	r = open(t, c, cp)
	check(t, read(t, r, 3, 3), want(3, 5))
}

func TestStart(t *testing.T) {
	tests := []struct {
		name  string
		start string
		want  []string
	}{
		{"beginning", StartBeginning, want(3, 5)},
		{"end", StartEnd, want(6, 6)},
		{"rotated", StartRotated, want(1, 6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t.TempDir())
			c.Start = tc.start
			appendLines(t, c.Path+".1", 1, 2)
			appendLines(t, c.Path, 3, 5)
			r := open(t, c, Checkpoint{})
			if tc.start == StartEnd {
				quiet(t, r)
			}
			appendLines(t, c.Path, 6, 6)
			check(t, read(t, r, len(tc.want), 1), tc.want)
		})
	}
}

// TestStartEndMidLine starts at the end of a file whose last line is
// still being written: the rest of that line is not a line.
func TestStartEndMidLine(t *testing.T) {
	c := testConfig(t.TempDir())
	c.Start = StartEnd
	os.WriteFile(c.Path, []byte("line 0001\nline 00"), 0o644)
	r := open(t, c, Checkpoint{})
	quiet(t, r)
	f, _ := os.OpenFile(c.Path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("02\nline 0003\n")
	f.Close()
	check(t, read(t, r, 1, 1), want(3, 3))
}

func TestLongLines(t *testing.T) {
	c := testConfig(t.TempDir())
	c.MaxLine = 256
	long := strings.Repeat("z", 1000)
	os.WriteFile(c.Path, []byte("a\n"+long+"\nb\n"), 0o644)
	r := open(t, c, Checkpoint{})
	check(t, read(t, r, 3, 1), []string{"a", long[:256], "b"})
	if s := r.Stats(); s.Cut != 1 {
		t.Errorf("Stats() = %+v, want 1 cut line", s)
	}
	if cp := r.Checkpoint(); cp.Offset != int64(2+1001+2) {
		t.Errorf("Checkpoint().Offset = %d, want %d", cp.Offset, 2+1001+2)
	}
}
