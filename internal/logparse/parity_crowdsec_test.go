package logparse

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/itest"
)

var (
	// results["s01-parse"]["crowdsecurity/sshd-logs"][3].Evt.Meta["source_ip"] == "5.33.63.160"
	parserAssert = regexp.MustCompile(`^results\["s01-parse"\]\["([^"]+)"\]\[(\d+)\]\.(?:Success|Evt\.(?:Parsed|Meta)\["([^"]+)"\]) == (.*)$`)
	// results[0].Overflow.Alert.Events[2].GetMeta("source_ip") == "206.189.59.169"
	scenarioAssert = regexp.MustCompile(`^results\[(\d+)\]\.Overflow\.Alert\.Events\[(\d+)\]\.GetMeta\("([^"]+)"\) == (.*)$`)
)

// crowdsecParsed reads a hub test's parser.assert: per log line, its s01
// parse result ("success" is "true" or "false") and the fields asserted.
// Only the named parser's results are kept.
func crowdsecParsed(t *testing.T, path, parser string) map[int]map[string]string {
	t.Helper()
	out := map[int]map[string]string{}
	for _, l := range readOptional(t, path) {
		m := parserAssert.FindStringSubmatch(l)
		if m == nil || m[1] != parser {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		if out[i] == nil {
			out[i] = map[string]string{}
		}
		key := m[3]
		if key == "" {
			key = "success"
		}
		out[i][key] = unquote(m[4])
	}
	return out
}

// crowdsecEvents reads a hub test's scenario.assert: the metadata of each
// event of each alert.
func crowdsecEvents(t *testing.T, path string) []map[string]string {
	t.Helper()
	byKey := map[[2]int]map[string]string{}
	for _, l := range readOptional(t, path) {
		m := scenarioAssert.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a, _ := strconv.Atoi(m[1])
		e, _ := strconv.Atoi(m[2])
		k := [2]int{a, e}
		if byKey[k] == nil {
			byKey[k] = map[string]string{}
		}
		byKey[k][m[3]] = unquote(m[4])
	}
	keys := make([][2]int, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	var out []map[string]string
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// crowdsecClass maps a CrowdSec log_type to an event class.
func crowdsecClass(logType string) string {
	switch logType {
	case "auth_success":
		return "success"
	case "ssh_failed-auth", "ssh_bad_keyexchange", "ssh_auth_timeout", "ssh_dispatch_fatal", "ssh_refused_conn":
		return "failure"
	}
	return "unknown:" + logType
}

// TestParityCrowdSecSSHD checks every line the CrowdSec hub's sshd parser
// tests say is parsed: we parse an event of the same class, address and
// user. Scenario tests name the events of each alert; each must be among
// the events we parse from the same log.
func TestParityCrowdSecSSHD(t *testing.T) {
	root := itest.Data(t, "auth-logs/crowdsec-hub")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var tally parity
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		lines := readLines(t, filepath.Join(dir, d.Name()+".log"))
		p := testSSHD(t)
		events := make([]proxywatch.Event, len(lines))
		for i, l := range lines {
			events[i], _, _ = parseOne(p, l, uint64(i+1))
		}
		for _, parser := range []string{"crowdsecurity/sshd-logs", "crowdsecurity/sshd-success-logs"} {
			want := crowdsecParsed(t, filepath.Join(dir, "parser.assert"), parser)
			for i, w := range want {
				if w["success"] != "true" {
					continue
				}
				tally.checked++
				if i >= len(lines) {
					t.Errorf("%s: result %d beyond the log's %d lines", d.Name(), i, len(lines))
					continue
				}
				user, hasUser := w["target_user"]
				if u, ok := w["user"]; ok {
					user, hasUser = u, true
				}
				if checkCrowdSec(t, &tally, lines[i], events[i], w["source_ip"], crowdsecClass(w["log_type"]), user, hasUser) {
					tally.matched++
				}
			}
		}
		for _, w := range crowdsecEvents(t, filepath.Join(dir, "scenario.assert")) {
			tally.checked++
			user, hasUser := w["target_user"]
			found := false
			for i, ev := range events {
				if ev.Addr.String() == w["source_ip"] && class(ev.Type) == crowdsecClass(w["log_type"]) &&
					(!hasUser || ev.User == user) {
					found = true
					_ = i
					break
				}
			}
			if !found {
				t.Errorf("%s: alert event %v: no parsed event with that address, class and user", d.Name(), w)
				continue
			}
			tally.matched++
		}
	}
	tally.report(t, "CrowdSec sshd")
	if tally.checked < 60 {
		t.Errorf("only %d CrowdSec expectations checked", tally.checked)
	}
}

// checkCrowdSec compares one line's event with CrowdSec's parse.
func checkCrowdSec(t *testing.T, tally *parity, line string, ev proxywatch.Event, ip, cls, user string, hasUser bool) bool {
	t.Helper()
	want, err := netip.ParseAddr(ip)
	if err != nil {
		t.Errorf("line %q: CrowdSec source_ip %q does not parse", line, ip)
		return false
	}
	switch {
	case class(ev.Type) != cls:
		t.Errorf("line %q: got type %v, want class %s", line, ev.Type, cls)
	case ev.Addr != want.Unmap():
		t.Errorf("line %q: got addr %v, want %v", line, ev.Addr, want)
	case hasUser && ev.User != user:
		t.Errorf("line %q: got user %q, want %q", line, ev.User, user)
	default:
		return true
	}
	return false
}

// TestParityCrowdSecAccess checks the CrowdSec hub's nginx parser tests
// and web scenario tests at the level of the access record (address,
// method, target, status, user, virtual host), and the WordPress brute
// force scenario at the level of events: each of its lines is a login
// failure for our WordPress preset.
func TestParityCrowdSecAccess(t *testing.T) {
	root := itest.Data(t, "web-logs/crowdsec-hub")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var tally parity
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		lines := readLines(t, filepath.Join(dir, d.Name()+".log"))
		p := testAccess(t)
		recs := make([]AccessRecord, len(lines))
		reasons := make([]Reason, len(lines))
		for i, l := range lines {
			reasons[i] = p.Record([]byte(l), &recs[i])
		}
		for i, w := range crowdsecParsed(t, filepath.Join(dir, "parser.assert"), "crowdsecurity/nginx-logs") {
			if w["success"] != "true" {
				continue
			}
			tally.checked++
			if w["log_type"] == "http_error-log" {
				if reasons[i] == ReasonNone {
					t.Errorf("line %q: an error log line read as an access record", lines[i])
				}
				tally.differ("error log lines are not access records", lines[i])
				continue
			}
			if checkRecord(t, lines[i], reasons[i], &recs[i], w["remote_addr"], w["verb"], w["request"], w["status"], w["remote_user"], w["target_fqdn"]) {
				tally.matched++
			}
		}
		for _, w := range crowdsecEvents(t, filepath.Join(dir, "scenario.assert")) {
			tally.checked++
			found := false
			for i := range recs {
				r := &recs[i]
				if reasons[i] == ReasonNone && r.Addr.String() == w["source_ip"] && string(r.Target) == w["http_path"] &&
					strconv.Itoa(r.Status) == w["http_status"] && (w["http_verb"] == "" || string(r.Method) == w["http_verb"]) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: alert event %v: no access record alike", d.Name(), w)
				continue
			}
			tally.matched++
		}
		if d.Name() == "http-bf-wordpress-bf" {
			p := testAccess(t)
			for i, l := range lines {
				if strings.TrimSpace(l) == "" {
					continue
				}
				tally.checked++
				ev, _, err := parseOne(p, l, uint64(i+1))
				if err != nil || ev.Type != proxywatch.EventLoginFailure || ev.Addr != recs[i].Addr || ev.Method != "form" {
					t.Errorf("line %q: got event %+v, %v; want a form login failure from %v", l, ev, err, recs[i].Addr)
					continue
				}
				tally.matched++
			}
		}
	}
	tally.report(t, "CrowdSec http")
	if tally.checked < 40 {
		t.Errorf("only %d CrowdSec expectations checked", tally.checked)
	}
}

// checkRecord compares an access record with CrowdSec's parsed fields.
func checkRecord(t *testing.T, line string, r Reason, rec *AccessRecord, addr, verb, target, status, user, vhost string) bool {
	t.Helper()
	if r != ReasonNone {
		t.Errorf("Record(%q) = %v, want a record", line, r)
		return false
	}
	if user == "-" {
		user = ""
	}
	got := []string{rec.Addr.String(), string(rec.Method), string(rec.Target), strconv.Itoa(rec.Status), string(rec.User), string(rec.VHost)}
	want := []string{addr, verb, target, status, user, vhost}
	if vhost != "" && strings.HasPrefix(got[5], vhost+":") {
		got[5] = vhost // CrowdSec splits the port off
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Record(%q) = %q, want %q", line, got, want)
		return false
	}
	return true
}
