package logparse

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

// refTime is the reference clock of tests: RFC 3164 years are inferred
// from it, so goldens do not change with the date they are run on.
var refTime = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

func refNow() time.Time { return refTime }

// testSSHD returns an sshd parser reading times in UTC against refTime.
func testSSHD(t testing.TB) *SSHD {
	t.Helper()
	c := DefaultSSHDConfig()
	c.TimeZone = "UTC"
	c.Now = refNow
	p, err := NewSSHD(c, "test")
	if err != nil {
		t.Fatalf("NewSSHD() error %v", err)
	}
	return p
}

func testAccess(t testing.TB) *Access {
	t.Helper()
	p, err := NewAccess(DefaultAccessConfig(), "test")
	if err != nil {
		t.Fatalf("NewAccess() error %v", err)
	}
	return p
}

// readLines returns the lines of the file at path.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return scanLines(t, f)
}

// readOptional returns the lines of the file at path, or none when it
// does not exist.
func readOptional(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	return scanLines(t, f)
}

func scanLines(t testing.TB, f *os.File) []string {
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// class is the coarse kind of an event that parity compares: what the
// peers call a failure (any failed, refused or dropped attempt) or a
// success.
func class(t proxywatch.EventType) string {
	switch t {
	case proxywatch.EventLoginFailure, proxywatch.EventInvalidUser, proxywatch.EventPreauth:
		return "failure"
	case proxywatch.EventLoginSuccess:
		return "success"
	}
	return "none"
}

// parseOne parses line with p and returns its event, or the zero Event
// when the line gives none.
func parseOne(p Parser, line string, seq uint64) (proxywatch.Event, int, error) {
	var ev proxywatch.Event
	n, err := p.Parse([]byte(line), seq, &ev)
	if n == 0 {
		ev = proxywatch.Event{}
	}
	return ev, n, err
}

// unquote strips the double quotes around a CrowdSec assert value.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		s = strings.ReplaceAll(s, `\"`, `"`)
		s = strings.ReplaceAll(s, `\\`, `\`)
	}
	return s
}
