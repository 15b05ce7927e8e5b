package tail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashChildEnv names the directory a child process of
// TestCrashAndRotate works in.
const crashChildEnv = "PROXYWATCH_TEST_TAIL_CRASH_DIR"

// crashState is what the child commits atomically after processing
// lines: the reader's checkpoint and the length of the output derived
// from the lines up to it.
type crashState struct {
	Checkpoint Checkpoint `json:"checkpoint"`
	OutLen     int64      `json:"out_len"`
}

func crashConfig(dir string) Config {
	c := DefaultConfig()
	c.Name = "crash"
	c.Path = filepath.Join(dir, "app.log")
	c.Start = StartRotated // a child killed before its first commit starts again from line 1
	c.Poll = 2 * time.Millisecond
	c.RotateWait = 10 * time.Millisecond
	c.Fingerprint = 64
	c.MaxLine = 4096
	return c
}

func loadState(dir string) (crashState, error) {
	var s crashState
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// crashChild follows the file and writes "seq text" for each line to the
// output, committing its state (write a temporary file, rename it) every
// few lines and whenever it is idle. It runs until killed.
func crashChild() int {
	dir := os.Getenv(crashChildEnv)
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	st, err := loadState(dir)
	if err != nil {
		return fail(err)
	}
	out, err := os.OpenFile(filepath.Join(dir, "out.txt"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	// Whatever was written after the last commit is not part of the state.
	if err := out.Truncate(st.OutLen); err != nil {
		return fail(err)
	}
	if _, err := out.Seek(st.OutLen, io.SeekStart); err != nil {
		return fail(err)
	}
	r, err := Open(crashConfig(dir), st.Checkpoint)
	if err != nil {
		return fail(err)
	}
	bw := bufio.NewWriter(out)
	outLen := st.OutLen
	var cp Checkpoint
	pending := 0
	commit := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		b, _ := json.Marshal(crashState{Checkpoint: cp, OutLen: outLen})
		tmp := filepath.Join(dir, "state.json.tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		pending = 0
		return os.Rename(tmp, filepath.Join(dir, "state.json"))
	}
	batch := 1 + rand.IntN(5)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		l, err := r.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			if pending > 0 {
				if err := commit(); err != nil {
					return fail(err)
				}
			}
			continue
		}
		if err != nil {
			return fail(err)
		}
		n, _ := fmt.Fprintf(bw, "%d %s\n", l.Pos.Seq, l.Text)
		outLen += int64(n)
		cp = l.Pos
		if pending++; pending >= batch {
			if err := commit(); err != nil {
				return fail(err)
			}
		}
	}
}

// A crashWriter appends numbered lines to the live file and rotates it,
// by rename (the previous copy compressed, as logrotate's delaycompress
// does) or by copytruncate, always with the writer paused, so no line is
// lost to copytruncate's own race.
type crashWriter struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	lines   []string
	n       int // rotated copies so far
	renames int
	copies  int
}

func (w *crashWriter) write(rnd *rand.Rand) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	line := fmt.Sprintf("line %07d %s", len(w.lines)+1, strings.Repeat("x", rnd.IntN(80)))
	if _, err := w.f.WriteString(line + "\n"); err != nil {
		return err
	}
	w.lines = append(w.lines, line)
	return nil
}

// shift renames every copy one up (path.1 becomes path.2.gz, compressed
// through a temporary file).
func (w *crashWriter) shift() error {
	for k := w.n; k >= 2; k-- {
		if err := os.Rename(fmt.Sprintf("%s.%d.gz", w.path, k), fmt.Sprintf("%s.%d.gz", w.path, k+1)); err != nil {
			return err
		}
	}
	if w.n >= 1 {
		b, err := os.ReadFile(w.path + ".1")
		if err != nil {
			return err
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b)
		zw.Close()
		tmp := w.path + ".2.gz.tmp"
		if err := os.WriteFile(tmp, z.Bytes(), 0o644); err != nil {
			return err
		}
		if fi, err := os.Stat(w.path + ".1"); err == nil { // gzip keeps the time
			os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
		}
		if err := os.Rename(tmp, w.path+".2.gz"); err != nil {
			return err
		}
		if err := os.Remove(w.path + ".1"); err != nil {
			return err
		}
	}
	w.n++
	return nil
}

func (w *crashWriter) rotate(copytruncate bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.shift(); err != nil {
		return err
	}
	if copytruncate {
		w.copies++
		b, err := os.ReadFile(w.path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(w.path+".1", b, 0o644); err != nil {
			return err
		}
		return w.f.Truncate(0)
	}
	w.renames++
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return err
	}
	w.f.Close()
	var err error
	w.f, err = os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	return err
}

// TestCrashAndRotate follows a file in a child process that commits its
// output and checkpoint together, kills it with SIGKILL at random moments
// while the file is written and rotated by rename and by copytruncate,
// restarts it from its checkpoint each time, and requires the output to
// hold every line written exactly once, in order, by sequence number.
func TestCrashAndRotate(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: starts child processes; skipped in -short mode")
	}
	run := 8 * time.Second
	if raceEnabled {
		run = 4 * time.Second
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	w := &crashWriter{path: crashConfig(dir).Path}
	var err error
	if w.f, err = os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { w.f.Close() }()

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { // the writer
		r := rand.New(rand.NewPCG(seed, 2))
		for ctx.Err() == nil {
			if err := w.write(r); err != nil {
				errc <- err
				return
			}
			time.Sleep(time.Duration(200+r.IntN(800)) * time.Microsecond)
		}
	})
	wg.Go(func() { // the rotator
		r := rand.New(rand.NewPCG(seed, 3))
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(100+r.IntN(300)) * time.Millisecond):
			}
			if err := w.rotate(r.IntN(2) == 0); err != nil {
				errc <- err
				return
			}
		}
	})

	kills := 0
	deadline := time.Now().Add(run)
	for time.Now().Before(deadline) {
		child := startChild(t, dir)
		time.Sleep(time.Duration(20+rnd.IntN(250)) * time.Millisecond)
		child.Process.Kill()
		child.Wait()
		kills++
	}
	stop()
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("writer: %v", err)
	default:
	}

	// A last child catches up, then is killed too.
	total := uint64(len(w.lines))
	child := startChild(t, dir)
	var st crashState
	for wait := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err = loadState(dir); err == nil && st.Checkpoint.Seq >= total || time.Now().After(wait) {
			break
		}
	}
	child.Process.Kill()
	child.Wait()
	t.Logf("%d lines, %d renames, %d copytruncates, %d kills; committed seq %d", total, w.renames, w.copies, kills, st.Checkpoint.Seq)
	if w.renames == 0 || w.copies == 0 || kills < 5 {
		t.Fatalf("the run exercised too little: %d renames, %d copytruncates, %d kills", w.renames, w.copies, kills)
	}

	out, err := os.ReadFile(filepath.Join(dir, "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out[:st.OutLen]), "\n"), "\n")
	for i, l := range lines {
		seq, text, _ := strings.Cut(l, " ")
		if seq != strconv.Itoa(i+1) {
			t.Fatalf("output line %d has seq %s: %q (lines must come once each, in order)", i+1, seq, l)
		}
		if i >= len(w.lines) || text != w.lines[i] {
			t.Fatalf("output line %d = %q, want %q", i+1, text, w.lines[min(i, len(w.lines)-1)])
		}
	}
	if uint64(len(lines)) != total {
		t.Fatalf("output has %d lines, the writer wrote %d", len(lines), total)
	}
}

func startChild(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	return cmd
}
