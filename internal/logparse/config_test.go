package logparse

import (
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none: valid
	}{
		{"default sshd", func(*Config) {}, nil},
		{"default access", func(c *Config) { c.Format = FormatAccess }, nil},
		{"default json", func(c *Config) { c.Format = FormatJSON }, nil},
		{"unknown format", func(c *Config) { c.Format = "xml" }, []string{`format "xml"`}},
		{"bad rules", func(c *Config) {
			c.Format = FormatAccess
			c.Access.Rules = []Rule{{Name: "r", Path: "(", Status: []string{"4x", "500-400", "99"}, User: "maybe", Outcome: "won"}}
			c.Access.Presets = []string{"joomla"}
		}, []string{`rule "r"`, "path:", `status "4x"`, `status "500-400"`, `status "99"`, `user "maybe"`, `outcome "won"`, `presets[0] "joomla"`}},
		{"no rules", func(c *Config) { c.Format = FormatAccess; c.Access.Presets = nil }, []string{"no rules and no presets"}},
		{"bad json", func(c *Config) {
			c.Format = FormatJSON
			c.JSON.Fields.Addr = ""
			c.JSON.Outcomes = map[string]string{"ok": "happy"}
			c.JSON.TimeZone = "Nowhere/Land"
		}, []string{"fields.addr", `outcomes["ok"] "happy"`, `time zone "Nowhere/Land"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := New(c, "test"); err != nil {
					t.Fatalf("New() error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
			if _, err := New(c, "test"); err == nil {
				t.Errorf("New() accepted an invalid config")
			}
		})
	}
}

// TestAccessRules checks rule matching condition by condition.
func TestAccessRules(t *testing.T) {
	line := `203.0.113.5 - bob [02/Mar/2026:10:00:01 +0000] "POST /app/Login.do?next=%2F HTTP/1.1" 403 10 "-" "-"`
	tests := []struct {
		name string
		rule Rule
		want proxywatch.EventType
	}{
		{"all conditions", Rule{Methods: []string{"POST"}, Path: `(?i)^/app/login\.do$`, Query: `^next=`, Status: []string{"4xx"}, User: "present", Outcome: "failure"}, proxywatch.EventLoginFailure},
		{"status range", Rule{Status: []string{"400-403"}, Outcome: "invalid-user"}, proxywatch.EventInvalidUser},
		{"wrong method", Rule{Methods: []string{"GET"}, Outcome: "failure"}, proxywatch.EventUnknown},
		{"path is not the query", Rule{Path: `next`, Outcome: "failure"}, proxywatch.EventUnknown},
		{"wrong status", Rule{Status: []string{"401", "5xx"}, Outcome: "failure"}, proxywatch.EventUnknown},
		{"user absent", Rule{User: "absent", Outcome: "failure"}, proxywatch.EventUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewAccess(AccessConfig{Service: "web", Rules: []Rule{tc.rule}}, "test")
			if err != nil {
				t.Fatalf("NewAccess() error %v", err)
			}
			ev, _, err := parseOne(p, line, 1)
			if err != nil || ev.Type != tc.want {
				t.Fatalf("Parse() = %v, %v; want type %v", ev.Type, err, tc.want)
			}
			if ev.Type != proxywatch.EventUnknown && (ev.User != "bob" || ev.Service != "web" || ev.Method != "form") {
				t.Errorf("Parse() = %+v, want user bob, service web, method form", ev)
			}
		})
	}
}

func TestPresetsCompile(t *testing.T) {
	for name, rules := range presets {
		for _, r := range rules {
			if _, err := r.compile(); err != nil {
				t.Errorf("preset %s rule %s: %v", name, r.Name, err)
			}
		}
	}
}
