package zeeklog_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/sim/zeeklog"
)

// strictTSV reads a Zeek TSV log as Zeek documents the format and fails on
// anything else: the header lines in order, #fields and #types of equal
// length, every record with exactly that many fields, every value valid
// for its type, and a #close trailer. It returns the records as maps.
func strictTSV(r io.Reader) ([]map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return sc.Text(), true
	}
	want := []struct{ key, val string }{
		{"#separator", `\x09`}, {"#set_separator", ","}, {"#empty_field", "(empty)"},
		{"#unset_field", "-"}, {"#path", "conn"},
	}
	for i, w := range want {
		l, ok := next()
		if !ok {
			return nil, fmt.Errorf("line %d: missing %s", line+1, w.key)
		}
		sep := "\t"
		if i == 0 {
			sep = " " // "#separator \x09" is the one header with a space
		}
		if l != w.key+sep+w.val {
			return nil, fmt.Errorf("line %d: %q, want %q", line, l, w.key+sep+w.val)
		}
	}
	l, _ := next()
	open, ok := strings.CutPrefix(l, "#open\t")
	if !ok {
		return nil, fmt.Errorf("line %d: %q, want #open", line, l)
	}
	if _, err := time.Parse(zeeklog.TimeFormat, open); err != nil {
		return nil, fmt.Errorf("line %d: #open: %w", line, err)
	}
	l, _ = next()
	fl, ok := strings.CutPrefix(l, "#fields\t")
	if !ok {
		return nil, fmt.Errorf("line %d: %q, want #fields", line, l)
	}
	fields := strings.Split(fl, "\t")
	l, _ = next()
	tl, ok := strings.CutPrefix(l, "#types\t")
	if !ok {
		return nil, fmt.Errorf("line %d: %q, want #types", line, l)
	}
	types := strings.Split(tl, "\t")
	if len(types) != len(fields) {
		return nil, fmt.Errorf("line %d: %d types for %d fields", line, len(types), len(fields))
	}
	var recs []map[string]string
	closed := false
	for {
		l, ok := next()
		if !ok {
			break
		}
		if closed {
			return nil, fmt.Errorf("line %d: data after #close", line)
		}
		if c, ok := strings.CutPrefix(l, "#close\t"); ok {
			if _, err := time.Parse(zeeklog.TimeFormat, c); err != nil {
				return nil, fmt.Errorf("line %d: #close: %w", line, err)
			}
			closed = true
			continue
		}
		if strings.HasPrefix(l, "#") {
			return nil, fmt.Errorf("line %d: unexpected header %q", line, l)
		}
		vals := strings.Split(l, "\t")
		if len(vals) != len(fields) {
			return nil, fmt.Errorf("line %d: %d fields, want %d", line, len(vals), len(fields))
		}
		rec := make(map[string]string, len(fields))
		for i, v := range vals {
			if err := checkValue(types[i], v); err != nil {
				return nil, fmt.Errorf("line %d: field %s: %w", line, fields[i], err)
			}
			rec[fields[i]] = v
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !closed {
		return nil, fmt.Errorf("no #close trailer")
	}
	return recs, nil
}

var (
	reTime   = regexp.MustCompile(`^[0-9]+\.[0-9]{6}$`)
	reCount  = regexp.MustCompile(`^[0-9]+$`)
	reString = regexp.MustCompile(`^[\x21-\x7e]+$`)
)

// checkValue validates one TSV value of a Zeek type.
func checkValue(typ, v string) error {
	if v == "" {
		return fmt.Errorf("empty value (Zeek writes %q or %q)", "-", "(empty)")
	}
	if v == "-" {
		return nil // unset; any &optional field may be
	}
	ok := false
	switch typ {
	case "time", "interval":
		ok = reTime.MatchString(v)
	case "count":
		ok = reCount.MatchString(v)
		if ok {
			_, err := strconv.ParseUint(v, 10, 64)
			ok = err == nil
		}
	case "port":
		n, err := strconv.ParseUint(v, 10, 16)
		ok = err == nil && n <= 65535
	case "addr":
		a, err := netip.ParseAddr(v)
		ok = err == nil && a.Zone() == "" && !a.Is4In6()
	case "enum":
		ok = slices.Contains([]string{"tcp", "udp", "icmp", "unknown_transport"}, v)
	case "bool":
		ok = v == "T" || v == "F"
	case "string":
		ok = reString.MatchString(v)
	case "set[string]":
		ok = v == "(empty)" || reString.MatchString(v)
	default:
		return fmt.Errorf("unknown type %q", typ)
	}
	if !ok {
		return fmt.Errorf("%q is not a valid %s", v, typ)
	}
	return nil
}

// strictJSON reads Zeek JSON lines: each an object whose keys are conn.log
// fields with values of the right JSON type. It returns them decoded.
func strictJSON(r io.Reader) ([]map[string]any, error) {
	types := map[string]string{}
	for i, f := range zeeklog.Fields {
		types[f] = zeeklog.Types[i]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []map[string]any
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		for k, v := range m {
			typ, ok := types[k]
			if !ok {
				return nil, fmt.Errorf("line %d: unknown field %q", line, k)
			}
			var good bool
			switch typ {
			case "time", "interval":
				n, isNum := v.(json.Number)
				_, err := n.Float64()
				good = isNum && err == nil
			case "count", "port":
				n, isNum := v.(json.Number)
				_, err := strconv.ParseUint(string(n), 10, 64)
				good = isNum && err == nil
			case "bool":
				_, good = v.(bool)
			default:
				s, isStr := v.(string)
				good = isStr && checkValue(typ, s) == nil
			}
			if !good {
				return nil, fmt.Errorf("line %d: field %s: %v is not a valid JSON %s", line, k, v, typ)
			}
		}
		for _, req := range []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "conn_state"} {
			if _, ok := m[req]; !ok {
				return nil, fmt.Errorf("line %d: missing %s", line, req)
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}
