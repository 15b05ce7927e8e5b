package logparse

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// A failJSON is fail2ban's expectation for the log line after it.
type failJSON struct {
	Match      *bool   `json:"match"`
	Host       string  `json:"host"`
	IP4        string  `json:"ip4"`
	IP6        string  `json:"ip6"`
	User       *string `json:"user"`
	Time       string  `json:"time"`
	Constraint string  `json:"constraint"`
	Desc       string  `json:"desc"`
}

// A parity tally counts the lines a peer flags and how ours compare.
type parity struct {
	checked  int
	matched  int
	intended map[string]int      // intended differences, by kind
	examples map[string][]string // a few lines of each kind
}

func (p *parity) differ(kind, line string) {
	if p.intended == nil {
		p.intended, p.examples = map[string]int{}, map[string][]string{}
	}
	p.intended[kind]++
	if len(p.examples[kind]) < 3 {
		p.examples[kind] = append(p.examples[kind], line)
	}
}

func (p *parity) report(t *testing.T, name string) {
	t.Helper()
	var kinds []string
	for k := range p.intended {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	msg := fmt.Sprintf("parity %s: %d flagged lines checked, %d parsed alike", name, p.checked, p.matched)
	for _, k := range kinds {
		msg += fmt.Sprintf("; intended difference %q: %d (e.g. %q)", k, p.intended[k], p.examples[k][0])
	}
	t.Log(msg)
}

// fail2banCases reads a fail2ban test log: each "# failJSON: {...}"
// comment gives the expectation for the next log line. Lines without one
// are returned with a nil expectation; they still feed the parser, which
// needs them for multi-line connections.
func fail2banCases(t *testing.T, path string) (lines []string, want []*failJSON) {
	t.Helper()
	var pending *failJSON
	for _, l := range readLines(t, path) {
		if rest, ok := strings.CutPrefix(l, "# failJSON:"); ok {
			pending = new(failJSON)
			if err := json.Unmarshal([]byte(rest), pending); err != nil {
				t.Fatalf("%s: failJSON %q: %v", path, rest, err)
			}
			continue
		}
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, l)
		want = append(want, pending)
		pending = nil
	}
	return lines, want
}

// flagged reports whether fail2ban's sshd filter in aggressive mode
// flags the line: match true, unless the constraint rules out that mode.
func (f *failJSON) flagged() bool {
	return f != nil && f.Match != nil && *f.Match && !strings.Contains(f.Constraint, "!= 'aggressive'")
}

// TestParityFail2ban checks, for every line fail2ban's sshd test corpus
// says its filter flags in aggressive mode, that we parse an event of the
// same class with the same address and user, and the same wall clock.
func TestParityFail2ban(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin") // fail2ban's tests run in this zone
	if err != nil {
		t.Skipf("time zone data: %v", err)
	}
	lines, want := fail2banCases(t, itest.Data(t, "auth-logs/fail2ban/sshd.log"))
	p := testSSHD(t)
	var tally parity
	for i, line := range lines {
		ev, _, _ := parseOne(p, line, uint64(i+1))
		if !want[i].flagged() {
			continue
		}
		tally.checked++
		if checkFail2ban(t, &tally, want[i], line, ev) && want[i].Time != "" {
			checkFail2banTime(t, want[i].Time, line, ev, berlin)
		}
	}
	tally.report(t, "fail2ban sshd")
	if tally.checked < 100 {
		t.Errorf("only %d flagged lines checked; the corpus has more", tally.checked)
	}
}

// TestParityFail2banJournal does the same on fail2ban's journal corpus,
// each line turned into the entry `journalctl -o json` would print.
func TestParityFail2banJournal(t *testing.T) {
	lines, want := fail2banCases(t, itest.Data(t, "auth-logs/fail2ban/sshd-journal.log"))
	p := testSSHD(t)
	var tally parity
	for i, line := range lines {
		entry, ok := journalEntry(line, int64(i))
		if !ok {
			t.Fatalf("line %d %q: not in the journal test format", i+1, line)
		}
		ev, _, err := parseOne(p, entry, uint64(i+1))
		if err != nil {
			t.Errorf("Parse(%s) error %v", entry, err)
		}
		if !want[i].flagged() {
			continue
		}
		tally.checked++
		checkFail2ban(t, &tally, want[i], line, ev)
	}
	tally.report(t, "fail2ban sshd-journal")
	if tally.checked < 85 {
		t.Errorf("only %d flagged lines checked; the corpus has more", tally.checked)
	}
}

// journalEntry turns fail2ban's "host prog[pid]: message" journal test
// line into journald JSON.
func journalEntry(line string, i int64) (string, bool) {
	host, rest, ok := strings.Cut(line, " ")
	tag, msg, ok2 := strings.Cut(rest, ": ")
	prog, pid, ok3 := strings.Cut(tag, "[")
	if !ok || !ok2 || !ok3 {
		return "", false
	}
	e := map[string]string{
		"MESSAGE": msg, "_HOSTNAME": host, "SYSLOG_IDENTIFIER": prog, "_PID": strings.TrimSuffix(pid, "]"),
		"__REALTIME_TIMESTAMP": strconv.FormatInt(1700000000000000+i*1000000, 10),
		"__CURSOR":             "s=0;i=" + strconv.FormatInt(i, 16),
	}
	b, _ := json.Marshal(e)
	return string(b), true
}

// checkFail2ban compares one flagged line's event with fail2ban's
// expectation. It reports whether the line was parsed alike.
func checkFail2ban(t *testing.T, tally *parity, f *failJSON, line string, ev proxywatch.Event) bool {
	t.Helper()
	host := f.Host
	if host == "" {
		host = f.IP4 + f.IP6
	}
	if host == "" {
		// fail2ban counts the line against an address found on an earlier
		// line of the connection and does not name it.
		if class(ev.Type) != "failure" {
			t.Errorf("line %q: got type %v, want a failure (%s)", line, ev.Type, f.Desc)
			return false
		}
		tally.matched++
		return true
	}
	want, err := netip.ParseAddr(host)
	if err != nil {
		// A host name (fail2ban resolves it) or an address with leading
		// zeros, which is ambiguous (octal?) and which netip refuses.
		if ev.Type != proxywatch.EventUnknown {
			t.Errorf("line %q: event %+v for host %q, want none (no DNS lookups)", line, ev, host)
			return false
		}
		tally.differ("client is a host name: no DNS lookups", line)
		return false
	}
	if ev.Type == proxywatch.EventLoginSuccess && strings.Contains(line, "Accepted ") {
		// fail2ban flags a success that follows failures of other users in
		// the same connection; we report the success, detectors see both.
		tally.differ("success after failures is reported as a success", line)
		return false
	}
	switch {
	case class(ev.Type) != "failure":
		t.Errorf("line %q: got type %v, want a failure (%s)", line, ev.Type, f.Desc)
	case ev.Addr != want.Unmap():
		t.Errorf("line %q: got addr %v, want %v", line, ev.Addr, want)
	case f.User != nil && ev.User != *f.User:
		t.Errorf("line %q: got user %q, want %q", line, ev.User, *f.User)
	default:
		tally.matched++
		return true
	}
	return false
}

// checkFail2banTime compares the event time with fail2ban's, which is in
// Berlin time for lines with an offset and the wall clock otherwise; the
// year of RFC 3164 lines is fail2ban's test year, so it is not compared.
func checkFail2banTime(t *testing.T, want, line string, ev proxywatch.Event, berlin *time.Location) {
	t.Helper()
	w, err := time.Parse("2006-01-02T15:04:05", want)
	if err != nil {
		t.Fatalf("failJSON time %q: %v", want, err)
	}
	got := ev.Time
	if line[0] == '<' || line[0] >= '0' && line[0] <= '9' {
		got = got.In(berlin)
		if got.Format("2006-01-02T15:04:05") != want {
			t.Errorf("line %q: got time %s, want %s", line, got.Format(time.RFC3339), want)
		}
		return
	}
	if got.Format("01-02T15:04:05") != w.Format("01-02T15:04:05") {
		t.Errorf("line %q: got time %s, want %s (year not compared)", line, got.Format(time.RFC3339), want)
	}
}

// TestParityFail2banAccess checks fail2ban's access-log corpora: every
// line its traefik-auth filter flags (basic authentication refused) is a
// basic login failure for us with the same address and user, and every
// line its nginx-botsearch filter flags is an access record with the same
// address.
func TestParityFail2banAccess(t *testing.T) {
	var tally parity
	lines, want := fail2banCases(t, itest.Data(t, "web-logs/fail2ban/traefik-auth.log"))
	p := testAccess(t)
	for i, line := range lines {
		ev, _, err := parseOne(p, line, uint64(i+1))
		if err != nil {
			t.Errorf("Parse(%q) error %v", line, err)
		}
		if !want[i].flagged() {
			continue
		}
		tally.checked++
		var rec AccessRecord
		if p.Record([]byte(line), &rec); len(rec.User) == 0 {
			// The browser's first request, sent without credentials: fail2ban's
			// ddos mode counts it, we see no login attempt in it.
			if ev.Type != proxywatch.EventUnknown {
				t.Errorf("line %q: event %+v for a request without a user name", line, ev)
			}
			tally.differ("401 without a user name is no login attempt", line)
			continue
		}
		wantAddr := netip.MustParseAddr(want[i].Host)
		if ev.Type != proxywatch.EventLoginFailure || ev.Addr != wantAddr || ev.Method != "basic" || ev.User != string(rec.User) {
			t.Errorf("line %q: got %+v, want a basic login failure from %v", line, ev, wantAddr)
			continue
		}
		tally.matched++
	}
	lines, want = fail2banCases(t, itest.Data(t, "web-logs/fail2ban/nginx-botsearch.log"))
	for i, line := range lines {
		if !want[i].flagged() {
			continue
		}
		tally.checked++
		var rec AccessRecord
		r := p.Record([]byte(line), &rec)
		if strings.Contains(line, " [error] ") {
			if r == ReasonNone {
				t.Errorf("Record(%q) read an error log line as an access record", line)
			}
			tally.differ("error log lines are not access records", line)
			continue
		}
		if r != ReasonNone || rec.Addr != netip.MustParseAddr(want[i].Host) {
			t.Errorf("Record(%q) = %v, %v; want the address %s", line, r, rec.Addr, want[i].Host)
			continue
		}
		tally.matched++
	}
	tally.report(t, "fail2ban access")
	if tally.checked < 15 {
		t.Errorf("only %d flagged lines checked", tally.checked)
	}
}
