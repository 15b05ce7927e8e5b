package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	for _, l := range want(4, 5) {
		b.WriteString(l + "\n")
	}
	writeGzip(t, filepath.Join(dir, "b.gz"), b.Bytes())
	appendLines(t, filepath.Join(dir, "a"), 1, 3)
	os.WriteFile(filepath.Join(dir, "c"), []byte("line 0006\nline 0007"), 0o644)
	r := OpenFiles(Config{Name: "batch"}, []string{filepath.Join(dir, "a"), filepath.Join(dir, "b.gz"), filepath.Join(dir, "c")})
	defer r.Close()
	check(t, read(t, r, 7, 1), want(1, 7))
	if _, err := r.Next(t.Context()); err != io.EOF {
		t.Errorf("Next() at the end = %v, want io.EOF", err)
	}
	if cp := r.Checkpoint(); cp.Offset != 19 || cp.Source != "batch" || !strings.HasSuffix(cp.File.Path, "c") {
		t.Errorf("Checkpoint() = %+v, want offset 19 in c", cp)
	}
}

func TestStream(t *testing.T) {
	pr, pw := io.Pipe()
	r := OpenStream(Config{Name: "stdin"}, pr)
	defer r.Close()
	go func() {
		fmt.Fprint(pw, "line 0001\nline 00")
		time.Sleep(20 * time.Millisecond)
		fmt.Fprint(pw, "02\nline 0003")
		pw.Close()
	}()
	check(t, read(t, r, 3, 1), want(1, 3))
	if _, err := r.Next(t.Context()); err != io.EOF {
		t.Errorf("Next() at the end = %v, want io.EOF", err)
	}
	// A blocked read does not hold Next past its context.
	pr2, pw2 := io.Pipe()
	defer pw2.Close()
	r2 := OpenStream(Config{}, pr2)
	defer r2.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := r2.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next() on a silent stream = %v, want the context's error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Path: "", Rotated: []string{"["}, Start: "middle", Poll: time.Microsecond, RotateWait: -1, MaxLine: 10, Fingerprint: 1}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil for a bad config")
	}
	for _, w := range []string{"path", "rotated[0]", "start", "poll", "rotate_wait", "max_line", "fingerprint"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v, want it to mention %s", err, w)
		}
	}
	c = DefaultConfig()
	c.Path = "/var/log/auth.log"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() of the defaults = %v", err)
	}
}

func TestRotatedName(t *testing.T) {
	tests := []struct {
		name  string
		ok    bool
		class int
		key   string
		gz    bool
	}{
		{"auth.log.1", true, 1, "1", false},
		{"auth.log.12.gz", true, 1, "12", true},
		{"auth.log-20250302", true, 0, "20250302", false},
		{"auth.log-2025-03-02.gz", true, 0, "20250302", true},
		{"auth.log.bak", false, 0, "", false},
		{"auth.log.1.bz2", false, 0, "", false},
		{"auth.log-1-2", false, 0, "", false},
	}
	for _, tc := range tests {
		c, ok := rotatedName("/var/log/" + tc.name)
		if ok != tc.ok {
			t.Errorf("rotatedName(%q) ok = %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		key := c.date
		if c.class == 1 {
			key = fmt.Sprint(c.order[0])
		}
		if c.class != tc.class || key != tc.key || c.gz != tc.gz {
			t.Errorf("rotatedName(%q) = class %d key %s gz %v, want %d %s %v", tc.name, c.class, key, c.gz, tc.class, tc.key, tc.gz)
		}
	}
}
