// Package iocreport reads free-text indicator-of-compromise reports, as
// Black Lotus Labs, Talos and most vendors publish them next to a blog
// post: section headers, defanged addresses and domains, URLs, ip:port,
// "ip - comment" lines, whitespace or comma tables with first-seen and
// last-seen dates, hashes with file names, and prose.
//
// The reader streams the document line by line, keeping only the current
// line's records (so that the lines annotating them can still amend
// them), and finds in each line every token that is an indicator:
//
//   - addresses and prefixes (IPv4 and IPv6, ranges), with a port from
//     "ip:port"; defanged forms ("1.2.3[.]4", the broken "1.2.3[.4",
//     "hxxp", "[:]") are undone first;
//   - URLs, scheme-less "host/path" included: the host is the subject (an
//     address as a prefix, a name as a domain), the port and scheme are
//     kept, the tag "url" is set and the URL is the Comment;
//   - domains: a defanged name is always one; a bare name only when its
//     line presents it as an indicator (it leads the line, alone or after
//     a "Label:", or sits in a table's indicator column) and its last
//     label is a country code or common top-level domain and not a file
//     extension (tld.go). Other bare names are excluded as "file-name"
//     ("x.exe", "libc.so") or "bare-name" ("api.googlemaps",
//     "Amazon.com, Inc." in an annotation);
//   - hashes (32, 40, 64 or 128 hex digits) are excluded as "hash",
//     e-mail addresses as "other-type"; a token shaped like an address
//     that does not parse is refused ("bad-address", "bad-port").
//
// Lines without indicators are, in order of the checks: table headers
// (table.go); annotations, the lines (at most 16) that directly follow a
// line with indicators ("First Seen: ...; Last Seen: ...; Description:
// C2", "Tier 1 Server"), whose dates, description kind and text amend
// those indicators; section headers (a line starting with "#", ending
// with ":", or short and without final punctuation, but not a "key:
// value" field such as "File name: x.sh" nor a bare hash name such as
// "SHA-256"); prose (sentences); and other text (code, paths,
// separators). [Reader.Skipped] counts each. Blank lines end an
// annotation run. A line that holds only excluded names ("bpf.test") is
// neither.
//
// A header names the section: it becomes Source.Section and, through the
// keyword table in kind.go, the kind of the section's indicators ("C2s
// used by the 5socks/anyproxy networks:" gives c2, "# Backconnect C2s"
// backconnect-c2, "Intermediary Proxies:" open-proxy). A header that
// directly follows another, or starts "Observed", "Seen", "Since",
// "Active since", "Active as of" or "(", qualifies the main section
// above it: the section becomes "Main / Sub" and keeps the main kind
// unless the sub-header names its own ("Command and Control Domains" then
// "Primary domain"). Lines starting with "#" are always main headers.
// Before any header, a first sentence that names a kind gives it to the
// document ("... IPs conducting brute force attacks ..."). On a line, a
// label before the indicator ("C2: ...", "Command and control IP
// address:...") gives the kind when it names one; the free text after an
// indicator ("ip - shares a key with the c2s") does not. A section,
// column or label naming victims ("Targeted IP", "Domains to DDoS") makes
// its indicators exclusions ("target"): a report's victims are never
// indicators.
//
// Dates on a record line, in a table's date columns or in its annotation
// ("First: January 3, 2024") give FirstSeen and LastSeen (date.go): the
// first date, and the second when there are two. Source.Line is the
// 1-based line number.
//
// The reader takes no params. Lines longer than 64 KiB are refused
// ("too-long").
package iocreport

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"strings"
	"unicode"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Reasons this format adds to intel's.
const (
	ReasonFileName = "file-name" // excluded: a bare name ending in a file extension ("x.exe", "libc.so")
	ReasonBareName = "bare-name" // excluded: a bare dotted name the report does not present as an indicator
	ReasonTarget   = "target"    // excluded: an address or domain the report names as a victim
)

// TagURL marks indicators taken from the host of a URL.
const TagURL = "url"

// maxLine bounds a line, and maxNotes the annotation lines one record
// line takes, so that the records held back for them stay few.
const (
	maxLine  = 64 << 10
	maxNotes = 16
)

// A Reader reads one report. It is not safe for concurrent use.
type Reader struct {
	br    *bufio.Reader
	feed  string
	line  int
	table *table

	main, cur section
	docKind   proxywatch.Kind
	sawHeader bool
	sawRecord bool
	open      bool   // the last non-blank line had records
	headerRun int    // how many lines in a row, up to the last, were headers
	notes     int    // annotation lines taken by the pending records
	pending   []item // that line's records, open to annotations
	ready     []item
	skipped   map[string]int
	eof       bool
	err       error
}

type section struct {
	name   string
	kind   proxywatch.Kind
	target bool
}

type item struct {
	ind proxywatch.Indicator
	err *intel.ParseError
}

var _ intel.Open = NewReader

// NewReader returns a reader of the report in r. It takes no params and
// reports an error for any.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params); err != nil {
		return nil, err
	}
	return &Reader{br: bufio.NewReaderSize(r, maxLine), feed: opts.Name, skipped: map[string]int{}}, nil
}

// Skipped returns how many lines of each sort that hold no record the
// reader has passed so far: "header", "table-header", "annotation",
// "prose" and "text". Blank lines are not counted. The map is a copy.
func (r *Reader) Skipped() map[string]int { return maps.Clone(r.skipped) }

// Read returns the next indicator; see intel.Reader.
func (r *Reader) Read() (proxywatch.Indicator, error) {
	for {
		if len(r.ready) > 0 {
			it := r.ready[0]
			r.ready = r.ready[1:]
			if it.err != nil {
				return proxywatch.Indicator{}, it.err
			}
			return it.ind, nil
		}
		if r.eof {
			if len(r.pending) > 0 {
				r.flush()
				continue
			}
			return proxywatch.Indicator{}, r.err
		}
		line, long, err := r.next()
		switch {
		case err != nil:
			r.eof, r.err = true, err
		case long:
			r.endBlock()
			r.ready = append(r.ready, item{err: intel.NewParseError(r.feed, r.line, intel.ReasonTooLong, "",
				fmt.Errorf("line longer than %d bytes", maxLine))})
		default:
			r.process(normalize(line, r.line == 1))
		}
	}
}

// next returns the next line, or long for a line beyond maxLine (which it
// skips).
func (r *Reader) next() (line string, long bool, err error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		for err == bufio.ErrBufferFull {
			_, err = r.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return "", false, fmt.Errorf("read report %q: %w", r.feed, err)
		}
		r.line++
		return "", true, nil
	case err == io.EOF && len(b) == 0:
		return "", false, io.EOF
	case err != nil && err != io.EOF:
		return "", false, fmt.Errorf("read report %q: %w", r.feed, err)
	}
	r.line++
	return string(b), false, nil
}

// normalize trims a line and turns Unicode spaces (no-break, line and
// paragraph separators, em spaces, zero-width) into plain spaces, keeping
// tabs, which separate table columns.
func normalize(s string, first bool) string {
	if first {
		s = strings.TrimPrefix(s, "\ufeff")
	}
	s = strings.Map(func(c rune) rune {
		switch {
		case c == '\t':
			return c
		case unicode.IsSpace(c), c == '\u200b', c == '\ufeff', c == '\u2060':
			return ' '
		}
		return c
	}, s)
	return strings.TrimSpace(s)
}

// flush releases the pending records.
func (r *Reader) flush() {
	r.ready = append(r.ready, r.pending...)
	r.pending = nil
}

// endBlock ends an annotation run.
func (r *Reader) endBlock() {
	r.flush()
	r.open = false
}

// process handles one normalised line.
func (r *Reader) process(s string) {
	run := r.headerRun
	r.headerRun = 0
	if !hasAlnum(s) {
		r.endBlock()
		return
	}
	if r.table != nil {
		if r.tableRow(s) {
			return
		}
		r.table = nil
	}
	toks := tokenize(s)
	first := firstRecord(toks)
	strong := false
	for i := range toks {
		strong = strong || toks[i].strong()
	}
	for i := range toks {
		t := &toks[i]
		if t.class != cWeak {
			continue
		}
		labelled := t.label != "" || i > 0 && toks[i-1].labelEnd
		lead := i == first && (i == 0 || labelled)
		if lead && (strong || !r.open || labelled || len(toks) == 1) {
			t.class = cDomain
		} else {
			t.class = cBareName
		}
	}
	if hasRecord(toks) {
		r.flush()
		r.pending = r.items(toks, r.lineKind(toks, first, false))
		r.open, r.sawRecord, r.notes = true, true, 0
		return
	}
	excl := r.items(toks, lineKind{})
	if len(excl) == len(toks) {
		// Only names excluded as file names or bare names: "bpf.test".
		r.endBlock()
		r.ready = append(r.ready, excl...)
		return
	}
	if t := parseTableHeader(s); t != nil {
		r.endBlock()
		r.ready = append(r.ready, excl...)
		r.table = t
		r.skipped["table-header"]++
		return
	}
	if r.open && r.notes < maxNotes && r.pendingIndicator() && !strings.HasPrefix(s, "#") && !strings.HasSuffix(s, ":") {
		r.annotate(s)
		r.pending = append(r.pending, excl...)
		r.notes++
		r.skipped["annotation"]++
		return
	}
	r.endBlock()
	r.ready = append(r.ready, excl...)
	r.text(s, run)
}

// pendingIndicator reports whether the pending records include an
// indicator, which an annotation could amend.
func (r *Reader) pendingIndicator() bool {
	for _, it := range r.pending {
		if it.err == nil {
			return true
		}
	}
	return false
}

// firstRecord returns the index of the first token that is not text, or
// -1.
func firstRecord(toks []tok) int {
	for i := range toks {
		if toks[i].isRecord() {
			return i
		}
	}
	return -1
}

// hasRecord reports whether a line's tokens make it a record line: an
// indicator, a hash, an e-mail address or a refusal; bare names that were
// not taken as domains do not.
func hasRecord(toks []tok) bool {
	for i := range toks {
		switch toks[i].class {
		case cText, cWeak, cFileName, cBareName:
		default:
			return true
		}
	}
	return false
}

// commentOf joins the text tokens of a line, trimmed of separators.
func commentOf(toks []tok) string {
	var words []string
	for i := range toks {
		if toks[i].class == cText {
			words = append(words, toks[i].raw)
		}
	}
	return strings.Trim(strings.Join(words, " "), " -–—:;,|")
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

func hasAlnum(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) }) >= 0
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// startsWord reports whether s starts with a letter, a digit or "(".
func startsWord(s string) bool {
	for _, c := range s {
		return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '('
	}
	return false
}
