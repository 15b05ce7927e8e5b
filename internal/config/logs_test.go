package config

import (
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/tail"
)

// TestLogSourceDefaults checks that a source's unset fields take the tail
// and parser defaults, and that a parser section overrides only what it
// sets.
func TestLogSourceDefaults(t *testing.T) {
	s := LogSource{FileSource: FileSource{Name: "web", Path: "/var/log/access.log", Poll: time.Second}, Format: "json",
		JSON: &logparse.JSONConfig{Service: "portal", Fields: logparse.JSONFields{Addr: "client.ip"}}}
	tc := s.Tail()
	if tc.Start != tail.StartEnd || tc.Poll != time.Second || tc.MaxLine != tail.DefaultConfig().MaxLine || tc.Name != "web" {
		t.Errorf("Tail() = %+v, want start end, poll 1s, the default max_line", tc)
	}
	pc := s.Parser()
	def := logparse.DefaultJSONConfig()
	if pc.JSON.Service != "portal" || pc.JSON.Fields.Addr != "client.ip" || pc.JSON.Fields.User != def.Fields.User || pc.JSON.TimeFormat != def.TimeFormat {
		t.Errorf("Parser().JSON = %+v, want service portal, addr client.ip and the other defaults", pc.JSON)
	}
	if err := (Logs{Commit: time.Second, Sources: []LogSource{s}}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if _, ok := s.JournalConfig(); ok {
		t.Errorf("JournalConfig() ok for a file source")
	}
	j := LogSource{FileSource: FileSource{Name: "j"}, Format: "sshd", Journal: &JournalSource{File: "/tmp/rec.json"}}
	jc, ok := j.JournalConfig()
	if !ok || jc.File != "/tmp/rec.json" || len(jc.Command) == 0 || jc.Name != "j" {
		t.Errorf("JournalConfig() = %+v, %v", jc, ok)
	}
}
