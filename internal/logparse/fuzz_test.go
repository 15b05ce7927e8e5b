package logparse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/proxywatch/proxywatch"
)

// seed adds every line of the testdata files matching pattern to f.
func seed(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files for %s: %v", pattern, err)
	}
	for _, file := range files {
		for _, l := range readLines(f, file) {
			f.Add([]byte(l))
		}
	}
}

// checkEvent holds what every parser promises about a line's result.
func checkEvent(t *testing.T, line []byte, n int, err error, ev *proxywatch.Event) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || n != 0 || pe.Line != 9 || pe.Reason < ReasonSyntax {
			t.Fatalf("Parse(%q) = %d, %v; want 0 and a *ParseError", line, n, err)
		}
		return
	}
	if n == 0 {
		return
	}
	if !ev.Addr.IsValid() || ev.Addr.Is4In6() || ev.Addr.Zone() != "" || ev.Seq != 9 || ev.Source != "test" || ev.Time.IsZero() {
		t.Fatalf("Parse(%q) = %d, %+v: invalid event", line, n, ev)
	}
	switch ev.Type {
	case proxywatch.EventLoginFailure, proxywatch.EventInvalidUser, proxywatch.EventLoginSuccess, proxywatch.EventPreauth:
	default:
		t.Fatalf("Parse(%q) type %v", line, ev.Type)
	}
}

// parseTwice parses line with two fresh parsers and requires the same
// result from both: parsing is deterministic and keeps no reference to
// the line (the second parse sees a clobbered copy of the first's input).
func parseTwice(t *testing.T, newParser func() Parser, line []byte) {
	t.Helper()
	buf := bytes.Clone(line)
	var ev1, ev2 proxywatch.Event
	n1, err1 := newParser().Parse(buf, 9, &ev1)
	for i := range buf {
		buf[i] = 'X'
	}
	checkEvent(t, line, n1, err1, &ev1)
	n2, err2 := newParser().Parse(line, 9, &ev2)
	if n1 != n2 || (err1 == nil) != (err2 == nil) || (n1 > 0 && ev1 != ev2) {
		t.Fatalf("Parse(%q) not stable: %d %v %+v, then %d %v %+v", line, n1, err1, ev1, n2, err2, ev2)
	}
}

func FuzzSSHD(f *testing.F) {
	seed(f, "sshd/*.log")
	seed(f, "sshd/*.jsonl")
	f.Fuzz(func(t *testing.T, line []byte) {
		parseTwice(t, func() Parser { return testSSHD(t) }, line)
	})
}

func FuzzAccess(f *testing.F) {
	seed(f, "access/*.log")
	f.Fuzz(func(t *testing.T, line []byte) {
		parseTwice(t, func() Parser { return testAccess(t) }, line)
		// A record written back in the combined format reads the same.
		p := testAccess(t)
		var rec AccessRecord
		if p.Record(line, &rec) != ReasonNone || len(rec.Method) == 0 || bytes.ContainsAny(rec.User, " [\"") ||
			bytes.ContainsAny(rec.Target, "\"\\") || bytes.ContainsAny(rec.Method, "\"\\") {
			return
		}
		user := "-"
		if rec.User != nil {
			user = string(rec.User)
		}
		again := fmt.Sprintf(`%s - %s [%s] "%s %s HTTP/1.1" %d 0 "-" "-"`, rec.Addr, user,
			rec.Time.Format("02/Jan/2006:15:04:05 -0700"), rec.Method, rec.Target, rec.Status)
		var rec2 AccessRecord
		if r := p.Record([]byte(again), &rec2); r != ReasonNone {
			t.Fatalf("Record(%q) = %v after Record(%q)", again, r, line)
		}
		if rec2.Addr != rec.Addr || !rec2.Time.Equal(rec.Time) || string(rec2.Method) != string(rec.Method) ||
			string(rec2.Target) != string(rec.Target) || rec2.Status != rec.Status || string(rec2.User) != string(rec.User) {
			t.Fatalf("Record(%q) = %+v, want %+v", again, rec2, rec)
		}
	})
}

func FuzzJSON(f *testing.F) {
	seed(f, "json/*.jsonl")
	f.Fuzz(func(t *testing.T, line []byte) {
		parseTwice(t, func() Parser { return jsonParser(JSONFields{}, "")(t) }, line)
	})
}

// FuzzParseAddr holds parseAddr to netip.ParseAddr (zone dropped,
// IPv4-mapped addresses unmapped).
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0", "::", "1::", "::1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "01.2.3.4", "256.1.1.1", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1", "1:", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseAddr(b)
		want, err := netip.ParseAddr(string(b))
		if err == nil {
			want = want.WithZone("").Unmap()
		}
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip: %v, %v", b, got, ok, want, err)
		}
	})
}

// FuzzJSONScan holds the scanner to encoding/json: every valid object is
// scanned, and the string values it finds are those encoding/json
// decodes.
func FuzzJSONScan(f *testing.F) {
	seed(f, "json/*.jsonl")
	seed(f, "sshd/*.jsonl")
	f.Add([]byte(`{"a":"x\u00e9\ud83d\ude00","b":{"c":"y","d":[1,{"e":"}"}]},"MESSAGE":"m"}`))
	paths := []string{"a", "b.c", "MESSAGE"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s jsonScanner
		s.paths = paths
		vals := make([]jsonValue, len(paths))
		ok := s.scan(data, vals)
		var doc map[string]any
		if !json.Valid(data) || json.Unmarshal(data, &doc) != nil {
			return
		}
		if !ok {
			if depth(data) > maxJSONDepth {
				return
			}
			t.Fatalf("scan(%q) refused a valid object", data)
		}
		for i, p := range paths {
			if _, dotted := doc[p]; dotted && strings.Contains(p, ".") {
				continue // a literal dotted key: both readings are ours to choose
			}
			want, found := walk(doc, p)
			str, isString := want.(string)
			var buf []byte
			got, gotOK := vals[i].text(&buf)
			if !found || !isString {
				if vals[i].kind == jsonString {
					t.Fatalf("scan(%q) found string %q at %s; encoding/json found %v", data, got, p, want)
				}
				continue
			}
			if !gotOK || vals[i].kind != jsonString {
				t.Fatalf("scan(%q) at %s: %v, want %q", data, p, vals[i], str)
			}
			if utf8.Valid(got) && string(got) != str {
				t.Fatalf("scan(%q) at %s = %q, want %q", data, p, got, str)
			}
		}
	})
}

func walk(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func depth(data []byte) int {
	d, m := 0, 0
	for _, c := range data {
		switch c {
		case '{', '[':
			d++
			m = max(m, d)
		case '}', ']':
			d--
		}
	}
	return m
}
