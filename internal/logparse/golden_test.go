package logparse

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/itest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// A goldenCase parses one input file and compares the result with a
// golden JSON-lines file.
type goldenCase struct {
	name   string                  // the golden file, relative to testdata
	input  func(*testing.T) string // the input file's path
	parser func(*testing.T) Parser
	skip   func(line string) bool // lines not fed to the parser (comments)
}

func testdataFile(name string) func(*testing.T) string {
	return func(*testing.T) string { return filepath.Join("testdata", name) }
}

func sharedFile(rel string) func(*testing.T) string {
	return func(t *testing.T) string { return itest.Data(t, rel) }
}

func sshdParser(t *testing.T) Parser   { return testSSHD(t) }
func accessParser(t *testing.T) Parser { return testAccess(t) }

func jsonParser(fields JSONFields, timeFormat string) func(*testing.T) Parser {
	return func(t *testing.T) Parser {
		c := DefaultJSONConfig()
		if fields != (JSONFields{}) {
			c.Fields = fields
		}
		if timeFormat != "" {
			c.TimeFormat = timeFormat
		}
		p, err := NewJSON(c, "test")
		if err != nil {
			t.Fatalf("NewJSON() error %v", err)
		}
		return p
	}
}

func comment(line string) bool { return strings.HasPrefix(line, "#") }

var goldenCases = []goldenCase{
	{"sshd/messages.golden", testdataFile("sshd/messages.log"), sshdParser, nil},
	{"sshd/multiline.golden", testdataFile("sshd/multiline.log"), sshdParser, nil},
	{"sshd/rfc5424.golden", testdataFile("sshd/rfc5424.log"), sshdParser, nil},
	{"sshd/iso.golden", testdataFile("sshd/iso.log"), sshdParser, nil},
	{"sshd/journal.golden", testdataFile("sshd/journal.jsonl"), sshdParser, nil},
	{"sshd/crowdsec-hub.golden", testdataFile("sshd/crowdsec-hub.log"), sshdParser, nil},
	{"access/presets.golden", testdataFile("access/presets.log"), accessParser, nil},
	{"access/crowdsec-hub.golden", testdataFile("access/crowdsec-hub.log"), accessParser, nil},
	{"access/basjes-sample.golden", testdataFile("access/basjes-sample.log"), accessParser, nil},
	{"json/weblogin.golden", testdataFile("json/weblogin.jsonl"), jsonParser(JSONFields{}, ""), nil},
	{"json/nested.golden", testdataFile("json/nested.jsonl"), jsonParser(JSONFields{
		Time: "@timestamp", Addr: "source.ip", Port: "source.port", User: "user.name", Outcome: "event.outcome", Host: "host.name",
	}, ""), nil},
	{"json/zeek.golden", testdataFile("json/zeek.jsonl"), jsonParser(JSONFields{
		Time: "ts", Addr: "id.orig_h", Port: "id.orig_p", Outcome: "auth_success",
	}, "unix"), nil},
	// Real logs read in place from the shared data set (their licences
	// keep them out of testdata; the goldens hold only our events).
	{"golden/loghub-openssh.golden", sharedFile("auth-logs/loghub/OpenSSH/OpenSSH_2k.log"), sshdParser, nil},
	{"golden/fail2ban-sshd.golden", sharedFile("auth-logs/fail2ban/sshd.log"), sshdParser, comment},
	{"golden/elastic-apache.golden", sharedFile("web-logs/elastic-examples/apache_logs"), accessParser, nil},
	{"golden/basjes-hackers.golden", sharedFile("web-logs/nielsbasjes-logparser/hackers-access.log"), accessParser, nil},
}

// goldenEvent is an event as the golden files show it: the source and
// sequence number are the test's own and left out.
type goldenEvent struct {
	Line    int                  `json:"line"`
	N       int                  `json:"n,omitempty"`
	Error   string               `json:"error,omitempty"`
	Time    string               `json:"time,omitempty"`
	Type    proxywatch.EventType `json:"type,omitempty"`
	Service string               `json:"service,omitempty"`
	Addr    string               `json:"addr,omitempty"`
	Port    uint16               `json:"port,omitempty"`
	User    string               `json:"user,omitempty"`
	Method  string               `json:"method,omitempty"`
	Host    string               `json:"host,omitempty"`
}

// TestGolden parses each input and compares the events, errors and
// counts with the golden file; go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got := runGolden(t, tc)
			path := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func runGolden(t *testing.T, tc goldenCase) []byte {
	p := tc.parser(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, line := range readLines(t, tc.input(t)) {
		if tc.skip != nil && tc.skip(line) {
			continue
		}
		var ev proxywatch.Event
		n, err := p.Parse([]byte(line), uint64(i+1), &ev)
		g := goldenEvent{Line: i + 1}
		switch {
		case err != nil:
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != uint64(i+1) || n != 0 {
				t.Errorf("Parse(%q) = %d, %v; want 0 and a *ParseError for line %d", line, n, err, i+1)
			}
			g.Error = err.Error()
		case n > 0:
			if ev.Seq != uint64(i+1) || ev.Source != "test" {
				t.Errorf("Parse(%q): Seq %d, Source %q; want %d, test", line, ev.Seq, ev.Source, i+1)
			}
			g.N, g.Type, g.Service, g.Port, g.User, g.Method, g.Host = n, ev.Type, ev.Service, ev.Port, ev.User, ev.Method, ev.Host
			g.Time, g.Addr = ev.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), ev.Addr.String()
		default:
			continue
		}
		if err := enc.Encode(g); err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	skipped := map[string]uint64{}
	for r, n := range s.ByReason {
		if n > 0 {
			skipped[Reason(r).String()] = n
		}
	}
	fmt.Fprintf(&buf, `{"stats":{"lines":%d,"events":%d,"repeats":%d,"skipped":`, s.Lines, s.Events, s.Repeats)
	b, _ := json.Marshal(skipped)
	buf.Write(b)
	buf.WriteString("}}\n")
	if s.Lines != s.Events+s.Skipped() {
		t.Errorf("Stats() = %+v: lines are not events plus skipped", s)
	}
	return buf.Bytes()
}
