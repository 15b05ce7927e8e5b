// Package csvfeed reads CSV and TSV indicator feeds whose column layout is
// declared in the feed's params.
//
// Params (all optional):
//
//	delimiter       ",", "tab" (or "\t"), ";" or "|"; default ","
//	header          "true" or "false": the first record names the columns;
//	                default true when a column is given by name, else false
//	comment_prefix  lines starting with it (after blanks) are comments;
//	                default "#"; "none" turns comments off
//	ip              the column of the address, prefix or range
//	port, proto, kind, confidence, first_seen, last_seen, expires,
//	comment, tags   the columns of the other indicator fields
//
// A column is named as in the header (case and surrounding blanks do not
// matter) or given as a 1-based index. Without "ip", each row's subject is
// its first cell that holds an address, a prefix, a range ("a-b"), an
// ip:port or a URL whose host is an address, and a row without one is
// refused (empty-record). Host names, in URLs or alone, are not read.
//
// Cell values: ip as above (defanged forms are refanged; an ip:port or a
// URL's port sets the port; a range yields its prefixes, one per Read);
// port 0-65535 (0: none); proto free text, lower-cased;
// kind a proxywatch kind name ("c2", "open-proxy", ...); confidence a
// number 0-100; times in RFC 3339, "2006-01-02 15:04:05" (UTC),
// "2006-01-02", or Unix seconds or milliseconds; tags separated by ",",
// ";" or "|". Empty cells, and cells holding only "-" (Zeek's mark for
// an unset field), leave the field zero. Kind and confidence come
// only from their columns; otherwise the feed's defaults apply.
//
// Records are parsed with encoding/csv (LazyQuotes, any number of fields
// per row), so quoted cells may hold the delimiter, quotes and line
// breaks. Lines are read with a bound of 64 KiB, and a record (a quoted
// cell may span lines) with the same bound; beyond it the record is
// refused as too-long. Source.Line is the line where the record starts.
// Blank lines and comments are not records; the header is not a record.
// Refusals: empty-record (no ip cell or a row without an address), syntax
// (a row too short to have the ip column), bad-address, bad-port,
// bad-value (kind, confidence, a time), too-long. A column named in the
// params but missing from the header is a final error.
package csvfeed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// The columns a feed may map, in param order.
const (
	colIP = iota
	colPort
	colProto
	colKind
	colConfidence
	colFirstSeen
	colLastSeen
	colExpires
	colComment
	colTags
	numCols
)

var colParams = [numCols]string{
	colIP: "ip", colPort: "port", colProto: "proto", colKind: "kind",
	colConfidence: "confidence", colFirstSeen: "first_seen", colLastSeen: "last_seen",
	colExpires: "expires", colComment: "comment", colTags: "tags",
}

type reader struct {
	lr            *intel.LineReader
	feed          string
	comma         rune
	header        bool // a header record is still to be read
	commentPrefix string
	names         [numCols]string // columns given by name, until the header resolves them
	cols          [numCols]int    // 0-based column, or -1
	in            feeder
	cr            *csv.Reader
	fed           int64           // bytes handed to cr
	rec           strings.Builder // the record being assembled
	pending       []proxywatch.Indicator
	next          int
	err           error
}

// NewReader returns a reader of the CSV feed in r, with the column layout
// in opts.Params. It reports an error for unknown or invalid params.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	known := append([]string{"delimiter", "header", "comment_prefix"}, colParams[:]...)
	if err := intel.CheckParams(opts.Params, known...); err != nil {
		return nil, err
	}
	rd := &reader{lr: intel.NewLineReader(r), feed: opts.Name, comma: ',', commentPrefix: "#"}
	var errs []error
	bad := func(key, val, want string) {
		errs = append(errs, fmt.Errorf("param %q: %q: want %s: %w", key, val, want, proxywatch.ErrInvalid))
	}
	p := opts.Params
	if v, ok := p["delimiter"]; ok {
		switch v {
		case ",", ";", "|":
			rd.comma = rune(v[0])
		case "tab", "\t", `\t`:
			rd.comma = '\t'
		default:
			bad("delimiter", v, `",", "tab", ";" or "|"`)
		}
	}
	if v, ok := p["comment_prefix"]; ok {
		switch {
		case v == "none":
			rd.commentPrefix = ""
		case strings.TrimSpace(v) == "":
			bad("comment_prefix", v, `a prefix or "none"`)
		default:
			rd.commentPrefix = strings.TrimSpace(v)
		}
	}
	byName := false
	for c, key := range colParams {
		rd.cols[c] = -1
		v, ok := p[key]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if n, err := strconv.Atoi(v); err == nil {
			if n < 1 {
				bad(key, v, "a column name or a 1-based index")
			}
			rd.cols[c] = n - 1
			continue
		}
		if v == "" {
			bad(key, v, "a column name or a 1-based index")
			continue
		}
		rd.names[c] = strings.ToLower(v)
		byName = true
	}
	rd.header = byName
	if v, ok := p["header"]; ok {
		h, err := strconv.ParseBool(v)
		switch {
		case err != nil:
			bad("header", v, `"true" or "false"`)
		case !h && byName:
			errs = append(errs, fmt.Errorf("param %q: columns are named but there is no header: %w", "header", proxywatch.ErrInvalid))
		default:
			rd.header = h
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rd.newCSV()
	return rd, nil
}

// newCSV starts a csv.Reader over the record feeder.
func (r *reader) newCSV() {
	r.cr = csv.NewReader(&r.in)
	r.cr.Comma = r.comma
	r.cr.FieldsPerRecord = -1
	r.cr.LazyQuotes = true
	r.cr.ReuseRecord = true
	r.fed = 0
}

// feeder hands the csv.Reader one assembled record at a time.
type feeder struct{ s string }

func (f *feeder) Read(p []byte) (int, error) {
	if f.s == "" {
		return 0, io.EOF
	}
	n := copy(p, f.s)
	f.s = f.s[n:]
	return n, nil
}

// Read returns the next indicator; see intel.Reader.
func (r *reader) Read() (proxywatch.Indicator, error) {
	if r.next < len(r.pending) {
		ind := r.pending[r.next]
		r.next++
		return ind, nil
	}
	r.pending, r.next = r.pending[:0], 0
	for r.err == nil {
		text, line, perr, err := r.record()
		if err != nil {
			r.fail(err)
			break
		}
		if perr != nil {
			return proxywatch.Indicator{}, perr
		}
		if text == "" {
			continue // a blank line or a comment
		}
		r.in.s = text
		r.fed += int64(len(text))
		fields, err := r.cr.Read()
		if r.in.s != "" || r.cr.InputOffset() != r.fed {
			// The csv.Reader did not end the record where the quote
			// scan did; start afresh so no text leaks into the next one.
			r.in.s = ""
			r.newCSV()
		}
		if err == io.EOF {
			continue
		}
		if err != nil { // not expected with LazyQuotes; refuse the record
			return proxywatch.Indicator{}, intel.NewParseError(r.feed, line, intel.ReasonSyntax, text, err)
		}
		if r.header {
			r.header = false
			if err := r.resolve(fields); err != nil {
				r.fail(err)
				break
			}
			continue
		}
		ind, perr := r.row(fields, line, text)
		if perr != nil {
			return proxywatch.Indicator{}, perr
		}
		return ind, nil
	}
	return proxywatch.Indicator{}, r.err
}

func (r *reader) fail(err error) {
	if err != io.EOF {
		err = fmt.Errorf("read %s: %w", r.feed, err)
	}
	r.err = err
}

// resolve maps the named columns through the header record.
func (r *reader) resolve(header []string) error {
	var missing []string
	for c, name := range r.names {
		if name == "" {
			continue
		}
		r.cols[c] = -1
		for i, h := range header {
			if strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) == name {
				r.cols[c] = i
				break
			}
		}
		if r.cols[c] < 0 {
			missing = append(missing, fmt.Sprintf("%s=%q", colParams[c], name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("header %q lacks the columns %s: %w", header, strings.Join(missing, ", "), proxywatch.ErrInvalid)
	}
	return nil
}
