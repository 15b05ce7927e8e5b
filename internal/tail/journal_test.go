package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const journalFixture = "testdata/journal.jsonl"

// fakeJournalEnv makes the test binary act as journalctl: it prints the
// recorded entries after --after-cursor, then waits as --follow does.
const fakeJournalEnv = "PROXYWATCH_TEST_TAIL_FAKE_JOURNALCTL"

func TestMain(m *testing.M) {
	if path := os.Getenv(fakeJournalEnv); path != "" {
		fakeJournalctl(path)
		return
	}
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

func fakeJournalctl(path string) {
	after := ""
	for _, a := range os.Args[1:] {
		if c, ok := strings.CutPrefix(a, "--after-cursor="); ok {
			after = c
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	printing := after == ""
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if printing {
			os.Stdout.WriteString(l)
		} else if string(entryCursor([]byte(l))) == after {
			printing = true
		}
	}
	if !printing {
		fmt.Fprintln(os.Stderr, "Failed to seek to cursor: Invalid argument")
		os.Exit(1)
	}
	time.Sleep(time.Minute) // --follow
}

func journalMessages(t *testing.T, r *Reader, n int, first uint64) ([]string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var msgs, cursors []string
	for len(msgs) < n {
		l, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next() after %d lines: %v", len(msgs), err)
		}
		if l.Pos.Seq != first+uint64(len(msgs)) {
			t.Fatalf("Next() seq %d, want %d", l.Pos.Seq, first+uint64(len(msgs)))
		}
		_, m, _ := strings.Cut(string(l.Text), `"MESSAGE":"`)
		m, _, _ = strings.Cut(m, `"`)
		msgs = append(msgs, m)
		cursors = append(cursors, l.Pos.Cursor)
	}
	return msgs, cursors
}

func TestJournalFile(t *testing.T) {
	c := JournalConfig{Name: "journal", File: journalFixture, MaxLine: 4096}
	r, err := OpenJournal(c, Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	all, cursors := journalMessages(t, r, 6, 1)
	r.Close()
	if !strings.HasPrefix(all[1], "Invalid user admin") || !strings.HasPrefix(cursors[5], "s=0b1c2d3e;i=105;") {
		t.Fatalf("messages %q, cursors %q", all, cursors)
	}
	// Resume after the third entry.
	r, err = OpenJournal(c, Checkpoint{Seq: 3, Cursor: cursors[2]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rest, _ := journalMessages(t, r, 3, 4)
	check(t, rest, all[3:])
	if _, err := r.Next(t.Context()); err == nil {
		t.Error("Next() at the end of the recording: nil error, want io.EOF")
	}
	// A cursor the recording does not hold: everything, and Lost.
	r2, _ := OpenJournal(c, Checkpoint{Seq: 3, Cursor: "s=gone"})
	defer r2.Close()
	again, _ := journalMessages(t, r2, 6, 4)
	check(t, again, all)
	if r2.Stats().Lost != 1 {
		t.Errorf("Stats() = %+v, want 1 lost", r2.Stats())
	}
}

func TestJournalCommand(t *testing.T) {
	fixture, err := filepath.Abs(journalFixture)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeJournalEnv, fixture)
	c := DefaultJournalConfig()
	c.Name = "journal"
	c.Command = append([]string{os.Args[0]}, c.Command[1:]...)
	r, err := OpenJournal(c, Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	all, cursors := journalMessages(t, r, 6, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); err != context.DeadlineExceeded {
		t.Errorf("Next() while journalctl follows = %v, want the context's error", err)
	}
	r.Close()
	r, err = OpenJournal(c, Checkpoint{Seq: 4, Cursor: cursors[3]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rest, _ := journalMessages(t, r, 2, 5)
	check(t, rest, all[4:])
	if cp := r.Checkpoint(); cp.Cursor != cursors[5] || cp.Seq != 6 || cp.Source != "journal" {
		t.Errorf("Checkpoint() = %+v, want the last cursor at seq 6", cp)
	}
}
