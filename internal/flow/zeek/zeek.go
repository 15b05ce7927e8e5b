// Package zeek reads Zeek's conn.log into flow.Sessions: the TSV form with
// its #separator, #fields and #types header, the JSON form (one object per
// line, flat "id.orig_h" names or a nested "id" object, ts as epoch seconds
// or ISO 8601), and the labelled variants of the Stratosphere captures:
// IoT-23's, whose last columns (tunnel_parents, label, detailed-label) are
// separated by three spaces instead of tabs, the newer label and
// detailedlabel columns, and conn.logs converted to '|' or ',' separated
// CSV with a header row.
//
// Header lines may appear anywhere, as they do when a follower crosses a
// rotation into a new file: each #fields line (or CSV header row) replaces
// the column layout. A Parser works line by line for such followers; a
// Reader wraps one around an io.Reader.
//
// Session bytes are IP-layer bytes (orig_ip_bytes, resp_ip_bytes), the
// unit NetFlow exports, so sessions from Zeek and from stitched NetFlow
// compare; Options.PayloadBytes selects Zeek's payload counts instead. A
// missing or unset count of the chosen kind falls back to the other.
package zeek

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Options configures a Parser or Reader.
type Options struct {
	Name         string // names the source in errors, e.g. the file name
	PayloadBytes bool   // OrigBytes and RespBytes from orig_bytes and resp_bytes instead of the IP-layer counts
}

// The columns the parser reads.
const (
	colTS = iota
	colUID
	colOrigH
	colOrigP
	colRespH
	colRespP
	colProto
	colService
	colDuration
	colOrigBytes
	colRespBytes
	colState
	colOrigPkts
	colOrigIPBytes
	colRespPkts
	colRespIPBytes
	colLabel
	colDetail
	numCols
)

var colNames = map[string]int{
	"ts": colTS, "uid": colUID, "id.orig_h": colOrigH, "id.orig_p": colOrigP, "id.resp_h": colRespH,
	"id.resp_p": colRespP, "proto": colProto, "service": colService, "duration": colDuration,
	"orig_bytes": colOrigBytes, "resp_bytes": colRespBytes, "conn_state": colState, "orig_pkts": colOrigPkts,
	"orig_ip_bytes": colOrigIPBytes, "resp_pkts": colRespPkts, "resp_ip_bytes": colRespIPBytes,
	"label": colLabel, "detailed-label": colDetail, "detailedlabel": colDetail, "detailed_label": colDetail,
}

// A Parser turns conn.log lines into sessions. It keeps the header state
// (separator, column layout) between lines. It is not safe for concurrent
// use. The zero Parser is not usable; call NewParser.
type Parser struct {
	opts  Options
	sep   []byte
	unset string
	empty string
	cols  []int // column index -> col* constant, or -1
	line  int
	vals  [numCols][]byte
	split [][]byte
}

// NewParser returns a parser expecting Zeek's default TSV header values.
func NewParser(opts Options) *Parser {
	return &Parser{opts: opts, sep: []byte{'\t'}, unset: "-", empty: "(empty)"}
}

// Parse parses one line, without its line ending. It returns ok false for
// header, comment and blank lines. A *flow.ParseError reports a line it
// skipped; the parser stays usable.
func (p *Parser) Parse(line []byte) (s flow.Session, ok bool, err error) {
	p.line++
	line = bytes.TrimRight(line, "\r")
	switch {
	case len(bytes.TrimSpace(line)) == 0:
		return s, false, nil
	case line[0] == '#':
		return s, false, p.header(line)
	case line[0] == '{':
		s, err = p.parseJSON(line)
		return s, err == nil, err
	case p.cols == nil:
		if p.headerRow(line) {
			return s, false, nil
		}
		if !p.defaultLayout(line) {
			return s, false, p.fail(flow.ReasonNoHeader, "data before a #fields header or a header row")
		}
	}
	s, err = p.parseTSV(line)
	return s, err == nil, err
}

func (p *Parser) fail(reason, format string, args ...any) error {
	return &flow.ParseError{Name: p.opts.Name, Line: p.line, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// header applies a #directive line.
func (p *Parser) header(line []byte) error {
	if v, ok := bytes.CutPrefix(line, []byte("#separator ")); ok {
		sep, err := unescape(string(bytes.TrimSpace(v)))
		if err != nil || sep == "" {
			return p.fail(flow.ReasonSyntax, "separator %q", v)
		}
		p.sep = []byte(sep)
		return nil
	}
	name, val, _ := bytes.Cut(line[1:], p.sep)
	switch string(name) {
	case "unset_field":
		p.unset = string(val)
	case "empty_field":
		p.empty = string(val)
	case "fields":
		p.setColumns(p.splitFields(val, -1))
	}
	return nil
}

// headerRow recognises the header row of a conn.log converted to CSV
// ("ts|uid|id.orig_h|..."), and takes the separator and layout from it.
func (p *Parser) headerRow(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("ts")) || len(line) < 3 {
		return false
	}
	sep := line[2:3]
	if !bytes.Contains(line, append(append([]byte{}, sep...), []byte("id.orig_h")...)) {
		return false
	}
	p.sep = bytes.Clone(sep)
	p.setColumns(p.splitFields(line, -1))
	return true
}

// defaultFields is the column layout of Zeek's conn.log (versions 4 to
// 7.0), assumed for tab-separated data met before any header: a follower
// that starts at the end of the live file never sees the header.
var defaultFields = strings.Fields("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes " +
	"resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents")

// defaultLayout takes Zeek's default layout for a headerless data line of
// its column count: 21 columns, 22 (Zeek 7.1's ip_proto) or 23 (a
// labelled capture's label and detailed-label).
func (p *Parser) defaultLayout(line []byte) bool {
	fs := p.splitFields(line, len(defaultFields)+2)
	extra := map[int][]string{0: nil, 1: {"ip_proto"}, 2: {"label", "detailed-label"}}[len(fs)-len(defaultFields)]
	if len(fs) < len(defaultFields) || len(fs) > len(defaultFields)+2 {
		return false
	}
	if _, _, ok := decimal(fs[0]); !ok {
		return false
	}
	names := make([][]byte, 0, len(fs))
	for _, n := range append(append([]string{}, defaultFields...), extra...) {
		names = append(names, []byte(n))
	}
	p.setColumns(names)
	return true
}

// splitFields splits a line at the separator and, IoT-23's quirk, splits
// further any column holding three spaces when the line (or header) then
// has the expected number of columns (want < 0: always).
func (p *Parser) splitFields(line []byte, want int) [][]byte {
	fs := p.split[:0]
	for f := range bytes.SplitSeq(line, p.sep) {
		fs = append(fs, f)
	}
	p.split = fs
	if len(fs) == want || !bytes.Contains(line, []byte("   ")) {
		return fs
	}
	var wide [][]byte
	for _, f := range fs {
		if bytes.Contains(f, []byte("   ")) {
			for g := range bytes.SplitSeq(f, []byte("   ")) {
				wide = append(wide, bytes.TrimSpace(g))
			}
			continue
		}
		wide = append(wide, f)
	}
	if want >= 0 && len(wide) != want {
		return fs
	}
	return wide
}

func (p *Parser) setColumns(names [][]byte) {
	p.cols = make([]int, len(names))
	for i, n := range names {
		c, ok := colNames[string(bytes.TrimSpace(n))]
		if !ok {
			c = -1
		}
		p.cols[i] = c
	}
}

// parseTSV parses a data line of the current layout.
func (p *Parser) parseTSV(line []byte) (flow.Session, error) {
	fs := p.splitFields(line, len(p.cols))
	if len(fs) != len(p.cols) {
		return flow.Session{}, p.fail(flow.ReasonSyntax, "%d columns, header has %d", len(fs), len(p.cols))
	}
	p.vals = [numCols][]byte{}
	for i, f := range fs {
		if c := p.cols[i]; c >= 0 {
			if string(f) == p.unset {
				continue
			}
			if string(f) == p.empty {
				f = f[:0]
			}
			p.vals[c] = f
		}
	}
	return p.session(&p.vals)
}

// session builds a session from column values; nil values are unset.
func (p *Parser) session(v *[numCols][]byte) (flow.Session, error) {
	var s flow.Session
	var err error
	ts, ok := parseTime(v[colTS])
	if !ok {
		return s, p.fail(flow.ReasonBadValue, "ts %q", v[colTS])
	}
	s.Start = ts
	orig, err1 := netip.ParseAddr(string(v[colOrigH]))
	resp, err2 := netip.ParseAddr(string(v[colRespH]))
	if err1 != nil || err2 != nil {
		return s, p.fail(flow.ReasonBadValue, "addresses %q, %q", v[colOrigH], v[colRespH])
	}
	op, err3 := parsePort(v[colOrigP])
	rp, err4 := parsePort(v[colRespP])
	if err3 != nil || err4 != nil {
		return s, p.fail(flow.ReasonBadValue, "ports %q, %q", v[colOrigP], v[colRespP])
	}
	s.Orig, s.Resp = netip.AddrPortFrom(orig.Unmap(), op), netip.AddrPortFrom(resp.Unmap(), rp)
	s.Proto = protoNumber(string(v[colProto]), orig.Unmap().Is6())
	if v[colDuration] != nil {
		if s.Duration, ok = parseSeconds(v[colDuration]); !ok {
			return s, p.fail(flow.ReasonBadValue, "duration %q", v[colDuration])
		}
	}
	num := func(c int) uint64 {
		if v[c] == nil || err != nil {
			return 0
		}
		n, e := strconv.ParseUint(string(v[c]), 10, 64)
		if e != nil {
			err = p.fail(flow.ReasonBadValue, "count %q", v[c])
		}
		return n
	}
	s.OrigPackets, s.RespPackets = num(colOrigPkts), num(colRespPkts)
	pick := func(ip, payload int) uint64 {
		a, b := ip, payload
		if p.opts.PayloadBytes {
			a, b = payload, ip
		}
		if v[a] != nil {
			return num(a)
		}
		return num(b)
	}
	s.OrigBytes = pick(colOrigIPBytes, colOrigBytes)
	s.RespBytes = pick(colRespIPBytes, colRespBytes)
	if err != nil {
		return flow.Session{}, err
	}
	s.Service, s.State, s.UID = intern(v[colService]), intern(v[colState]), string(v[colUID])
	if l := v[colLabel]; len(l) > 0 {
		if d := v[colDetail]; len(d) > 0 {
			l = append(append(append([]byte{}, l...), ' '), d...)
		}
		s.Label = strings.Join(strings.Fields(string(l)), " ")
	}
	return s, nil
}

// common are values worth sharing rather than allocating per line.
var common = []string{"S0", "SF", "REJ", "RSTO", "RSTR", "SH", "SHR", "OTH", "S1", "S2", "S3", "RSTOS0", "RSTRH",
	"dns", "http", "ssl", "ntp", "dhcp", "ssh", "smtp", "ftp"}

// intern returns the string of b, sharing the common values.
func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	for _, c := range common {
		if string(b) == c {
			return c
		}
	}
	return string(b)
}

func parsePort(b []byte) (uint16, error) {
	if b == nil {
		return 0, nil
	}
	n, err := strconv.ParseUint(string(b), 10, 16)
	return uint16(n), err
}

// protoNumber maps Zeek's transport names; Zeek calls ICMPv6 "icmp" too.
func protoNumber(s string, v6 bool) uint8 {
	switch s {
	case "tcp":
		return flow.ProtoTCP
	case "udp":
		return flow.ProtoUDP
	case "icmp":
		if v6 {
			return flow.ProtoICMPv6
		}
		return flow.ProtoICMP
	case "icmp6":
		return flow.ProtoICMPv6
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n)
	}
	return 0
}

// parseSeconds parses a non-negative decimal number of seconds exactly
// ("3.139211") into a duration.
func parseSeconds(b []byte) (time.Duration, bool) {
	sec, ns, ok := decimal(b)
	if !ok || sec > int64(time.Duration(1<<62)/time.Second) {
		return 0, false
	}
	return time.Duration(sec)*time.Second + time.Duration(ns), true
}

// decimal splits "123.456" into whole seconds and nanoseconds, digits past
// the ninth decimal truncated.
func decimal(b []byte) (sec, ns int64, ok bool) {
	whole, frac, _ := bytes.Cut(b, []byte("."))
	if len(whole) == 0 || len(whole) > 18 {
		return 0, 0, false
	}
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		sec = sec*10 + int64(c-'0')
	}
	for i := range 9 {
		ns *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, 0, false
			}
			ns += int64(c - '0')
		}
	}
	for _, c := range frac[min(len(frac), 9):] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
	}
	return sec, ns, true
}

// parseTime parses ts: epoch seconds with a fraction, or ISO 8601.
func parseTime(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, false
	}
	if sec, ns, ok := decimal(b); ok {
		return time.Unix(sec, ns).UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// unescape decodes Zeek's \xNN escapes in a header value.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\x`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			n, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}
