// Package labels converts the labelled captures of the Stratosphere
// Laboratory (IoT-23 conn.log.labeled, its "|"-separated CSV conversion,
// and the newer labelled Zeek conn logs, TSV or JSON) into the answer keys
// `proxywatch eval` reads: one labelled flow per connection and, from
// them, the labelled addresses, so that detections can be scored by flow
// and by address. The lines are those of package truth's FlowLabel and
// AddrLabel (docs/simulator.md); the package keeps its own copy of the two
// types so as to depend on nothing but the vocabulary.
//
// Labels map as follows: "Malicious" flows are malicious and "Benign"
// flows benign; "Background" flows (unknown) are left out unless
// Options.Background says otherwise. A malicious flow whose detailed label
// names command and control ("C&C", "C&C-HeartBeat", "CC", ...) gives its
// originator the role bot and its responder the role c2, as IoT-23
// labels the infected device's connections; other malicious flows carry
// no roles. Options.Only narrows "malicious" to chosen detailed labels, to
// score a detector against one kind of label.
//
// The package reads and writes; it knows nothing of detectors or scoring.
package labels

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// The input formats.
const (
	FormatZeekTSV = "zeek-tsv" // #fields header, tab-separated (IoT-23's space-separated last columns too)
	FormatPipeCSV = "pipe-csv" // header row, "|"-separated (IoT-23's CSV conversion)
	FormatJSON    = "json"     // Zeek JSON lines with label fields
)

// Options says how labels become truth.
type Options struct {
	// Only, when not empty, keeps as malicious only the flows whose
	// detailed label contains one of these strings (case-insensitive);
	// other malicious flows count as benign. "C&C" selects command and
	// control.
	Only []string
	// Background says what to do with "Background" flows: "" or "skip"
	// leaves them out, "benign" counts them as benign.
	Background string
}

// The flow labels.
const (
	LabelBenign    = "benign"
	LabelMalicious = "malicious"
)

// A Flow is one labelled connection: a line of a labelled-flow file,
// field for field truth.FlowLabel.
type Flow struct {
	TS      time.Time       `json:"ts"`
	UID     string          `json:"uid,omitempty"`
	Src     netip.Addr      `json:"src"`
	SrcPort uint16          `json:"src_port,omitempty"`
	Dst     netip.Addr      `json:"dst"`
	DstPort uint16          `json:"dst_port,omitempty"`
	Proto   string          `json:"proto,omitempty"` // "tcp", "udp", "icmp"
	Label   string          `json:"label"`           // LabelBenign or LabelMalicious
	SrcRole proxywatch.Role `json:"src_role,omitempty"`
	DstRole proxywatch.Role `json:"dst_role,omitempty"`
	Detail  string          `json:"detail,omitempty"` // the capture's detailed label, e.g. "C&C-HeartBeat"
}

// An Addr is an address that plays a role from Start to End: a line of a
// labelled-address file, field for field truth.AddrLabel.
type Addr struct {
	Addr  netip.Addr      `json:"addr"`
	Role  proxywatch.Role `json:"role"`
	Start time.Time       `json:"start,omitzero"`
	End   time.Time       `json:"end,omitzero"`
}

// A ParseError reports a line that could not be converted.
type ParseError struct {
	Name string
	Line int // 1-based
	Err  error
}

// Error formats the error as "name:line: cause".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// A Reader reads labelled flows from one labelled capture. The format is
// detected from the first line.
type Reader struct {
	sc     *bufio.Scanner
	name   string
	opts   Options
	format string
	cols   map[string]int
	line   int
	bad    bool // the format was not recognised: nothing more is read
}

// NewReader returns a Reader of r; name labels its errors.
func NewReader(r io.Reader, name string, opts Options) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &Reader{sc: sc, name: name, opts: opts}
}

// Format returns the detected format, once the first record is read.
func (r *Reader) Format() string { return r.format }

// Read returns the next labelled flow. It returns io.EOF at the end, a
// *ParseError for a line it skips (Read may be called again; after an
// unrecognised first line it returns io.EOF), and other errors as final.
func (r *Reader) Read() (Flow, error) {
	for {
		if r.bad {
			return Flow{}, io.EOF
		}
		text, ok := r.next()
		if !ok {
			if err := r.sc.Err(); err != nil {
				return Flow{}, fmt.Errorf("read %s: %w", r.name, err)
			}
			return Flow{}, io.EOF
		}
		if r.format == "" {
			if err := r.detect(text); err != nil {
				r.bad = true
				return Flow{}, &ParseError{r.name, r.line, err}
			}
			if r.format == FormatPipeCSV {
				continue // the header row
			}
		}
		if text == "" {
			continue
		}
		var fields map[string]string
		switch r.format {
		case FormatZeekTSV:
			if strings.HasPrefix(text, "#") {
				if f, ok := strings.CutPrefix(text, "#fields"); ok {
					r.setColumns(splitTSV(strings.TrimPrefix(f, "\t")))
				}
				continue
			}
			if r.cols == nil {
				return Flow{}, &ParseError{r.name, r.line, errors.New("record before the #fields header")}
			}
			fields = r.byName(splitTSV(text))
		case FormatPipeCSV:
			fields = r.byName(strings.Split(text, "|"))
		case FormatJSON:
			var err error
			if fields, err = jsonFields(text); err != nil {
				return Flow{}, &ParseError{r.name, r.line, err}
			}
		}
		fl, keep, err := r.convert(fields)
		if err != nil {
			return Flow{}, &ParseError{r.name, r.line, err}
		}
		if keep {
			return fl, nil
		}
	}
}

func (r *Reader) next() (string, bool) {
	if !r.sc.Scan() {
		return "", false
	}
	r.line++
	return strings.TrimRight(r.sc.Text(), "\r"), true
}

func (r *Reader) detect(first string) error {
	switch {
	case strings.HasPrefix(first, "#"):
		r.format = FormatZeekTSV
		if f, ok := strings.CutPrefix(first, "#fields"); ok {
			r.setColumns(splitTSV(strings.TrimPrefix(f, "\t")))
		}
	case strings.HasPrefix(strings.TrimSpace(first), "{"):
		r.format = FormatJSON
	case strings.Contains(first, "|") && strings.Contains(first, "id.orig_h"):
		r.format = FormatPipeCSV
		r.setColumns(strings.Split(first, "|"))
	default:
		return errors.New("unknown format: want a Zeek log (#fields header), JSON lines, or a |-separated header row")
	}
	return nil
}

func (r *Reader) setColumns(names []string) {
	r.cols = make(map[string]int, len(names))
	for i, n := range names {
		r.cols[strings.TrimSpace(n)] = i
	}
}

// splitTSV splits a Zeek TSV line; IoT-23 separates its last columns by
// three spaces instead of tabs.
func splitTSV(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, "\t") {
		if strings.Contains(f, "   ") {
			for g := range strings.SplitSeq(f, "   ") {
				out = append(out, strings.TrimSpace(g))
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

func (r *Reader) byName(vals []string) map[string]string {
	m := make(map[string]string, len(r.cols))
	for name, i := range r.cols {
		if i < len(vals) {
			m[name] = vals[i]
		}
	}
	return m
}

func jsonFields(text string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			m[k] = s
			continue
		}
		m[k] = string(bytes.TrimSpace(v))
	}
	return m, nil
}

func unset(s string) bool { return s == "" || s == "-" || s == "(empty)" }

// convert turns one record's fields into a labelled flow; keep is false
// for records the options leave out.
func (r *Reader) convert(f map[string]string) (Flow, bool, error) {
	var fl Flow
	label, detail := splitLabel(f["label"])
	for _, k := range []string{"detailed-label", "detailedlabel", "detailed_label"} {
		if d := f[k]; !unset(d) {
			detail = strings.TrimSpace(strings.Join(strings.Fields(detail+" "+d), " "))
		}
	}
	switch strings.ToLower(label) {
	case "malicious":
		fl.Label = LabelMalicious
	case "benign":
		fl.Label = LabelBenign
	case "background":
		if r.opts.Background != "benign" {
			return fl, false, nil
		}
		fl.Label = LabelBenign
	case "":
		return fl, false, errors.New("no label")
	default:
		return fl, false, fmt.Errorf("label %q: want Malicious, Benign or Background", label)
	}
	fl.Detail = strings.ToValidUTF8(detail, "\uFFFD")
	ts, err := strconv.ParseFloat(f["ts"], 64)
	if err != nil || ts < 0 || ts > 1e11 || math.IsNaN(ts) {
		return fl, false, fmt.Errorf("ts %q: not a Unix time", f["ts"])
	}
	sec, frac := math.Modf(ts)
	fl.TS = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	if !unset(f["uid"]) {
		fl.UID = strings.ToValidUTF8(f["uid"], "\uFFFD")
	}
	if fl.Src, err = netip.ParseAddr(f["id.orig_h"]); err != nil {
		return fl, false, fmt.Errorf("id.orig_h: %w", err)
	}
	if fl.Dst, err = netip.ParseAddr(f["id.resp_h"]); err != nil {
		return fl, false, fmt.Errorf("id.resp_h: %w", err)
	}
	fl.Src, fl.Dst = fl.Src.Unmap().WithZone(""), fl.Dst.Unmap().WithZone("")
	for _, p := range []struct {
		name string
		dst  *uint16
	}{{"id.orig_p", &fl.SrcPort}, {"id.resp_p", &fl.DstPort}} {
		if v := f[p.name]; !unset(v) {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return fl, false, fmt.Errorf("%s %q: %w", p.name, v, err)
			}
			*p.dst = uint16(n)
		}
	}
	if v := strings.ToLower(f["proto"]); !unset(v) {
		fl.Proto = strings.ToValidUTF8(v, "\uFFFD")
	}
	if fl.Label == LabelMalicious && len(r.opts.Only) > 0 && !containsAny(detail, r.opts.Only) {
		fl.Label = LabelBenign
	}
	if fl.Label == LabelMalicious && commandAndControl(detail) {
		fl.SrcRole, fl.DstRole = proxywatch.RoleBot, proxywatch.RoleC2
	}
	return fl, true, nil
}

// splitLabel splits IoT-23's combined "Malicious   C&C" into label and
// detail.
func splitLabel(s string) (string, string) {
	fs := strings.Fields(s)
	if len(fs) == 0 {
		return "", ""
	}
	detail := strings.Join(fs[1:], " ")
	if unset(detail) {
		detail = ""
	}
	return fs[0], detail
}

func containsAny(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, x := range subs {
		if x != "" && strings.Contains(s, strings.ToLower(x)) {
			return true
		}
	}
	return false
}

// commandAndControl reports whether a detailed label names command and
// control: "C&C" anywhere, or "CC" as a word ("CC", "CC-HeartBeat").
func commandAndControl(detail string) bool {
	u := strings.ToUpper(detail)
	if strings.Contains(u, "C&C") {
		return true
	}
	for f := range strings.FieldsFuncSeq(u, func(r rune) bool { return r == '-' || r == ' ' || r == '_' || r == '/' }) {
		if f == "CC" {
			return true
		}
	}
	return false
}
