// Package intel defines how threat-intelligence documents are read: the
// Reader contract every format implements, the typed error a reader returns
// for a record it refuses or excludes, and the small address helpers the
// formats share.
//
// One subpackage per format implements Reader (plainlist, ipport, csvfeed,
// drop, rbldnsdset, stix, misp, iocreport). This package knows none of
// them; the composition root picks readers from a map of [Open] functions
// by format name, and [Detect] guesses a name from a file's first bytes.
// Fetching, scheduling and the poisoning guard are the feed package's job.
package intel

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/proxywatch/proxywatch"
)

// A Reader streams indicators from one document, in the manner of
// encoding/csv.Reader.
//
// Read returns the next indicator and a nil error; an indicator's zero
// fields mean the document did not say (see [proxywatch.Indicator]). When
// a record is refused or deliberately excluded, Read returns a *ParseError
// and the caller may call Read again for the next record. Read returns
// io.EOF at the end of the document, and any other error (I/O, a document
// that cannot be read at all) is final. Read never panics on any input.
type Reader interface {
	Read() (proxywatch.Indicator, error)
}

// Options configures a reader.
type Options struct {
	// Name identifies the document in errors and in each indicator's
	// Source.Feed, e.g. the feed name or the imported file's base name.
	Name string
	// Params holds format-specific settings, such as a CSV column
	// mapping; each format documents its keys and rejects unknown ones.
	Params map[string]string
}

// An Open function makes a Reader of one format over r. It reports an
// error only for invalid options; errors in the document come from Read.
type Open func(r io.Reader, opts Options) (Reader, error)

// Reasons for refusing or excluding a record. Formats may add their own
// short, fixed, lower-case reasons; these are the common ones, used as
// metric labels and in import reports, so the set must stay small.
const (
	ReasonSyntax      = "syntax"       // the record is not in the format's syntax
	ReasonBadAddress  = "bad-address"  // an address, prefix or range that does not parse
	ReasonBadPort     = "bad-port"     // a port outside 1-65535
	ReasonUnsupported = "unsupported"  // a valid construct proxywatch does not evaluate
	ReasonTooLong     = "too-long"     // a line or field beyond the reader's limit
	ReasonHash        = "hash"         // excluded: a file hash, not a network indicator
	ReasonNotIDS      = "not-to-ids"   // excluded: MISP attribute with to_ids false
	ReasonDeleted     = "deleted"      // excluded: MISP attribute marked deleted
	ReasonOtherType   = "other-type"   // excluded: an observable of a type that is not an indicator here
	ReasonExclusion   = "exclusion"    // excluded: an rbldnsd "!" exclusion entry
	ReasonDuplicate   = "duplicate"    // excluded: repeated within the document
	ReasonBadValue    = "bad-value"    // a field (date, confidence, kind) that does not parse
	ReasonEmptyRecord = "empty-record" // a record with no indicator in it
)

// A ParseError reports a record that a reader refused (malformed) or
// excluded (well-formed, deliberately not an indicator: a hash, a MISP
// attribute with to_ids false). Reading may continue after it.
type ParseError struct {
	Feed     string // Options.Name
	Line     int    // 1-based line or record number; 0 when not known
	Reason   string // one of the Reason constants or a format's own
	Excluded bool   // true for deliberate exclusions, false for refusals
	Text     string // the offending text, truncated to 120 bytes
	Err      error  // what was wrong; may be nil for exclusions
}

func (e *ParseError) Error() string {
	what := "refused"
	if e.Excluded {
		what = "excluded"
	}
	msg := e.Feed + ":" + strconv.Itoa(e.Line) + ": " + what + " (" + e.Reason + ")"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Text != "" {
		msg += ": " + strconv.Quote(e.Text)
	}
	return msg
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// NewParseError returns a refusal of text at line for reason, with cause
// err (which may be nil). Text is truncated.
func NewParseError(feed string, line int, reason, text string, err error) *ParseError {
	return &ParseError{Feed: feed, Line: line, Reason: reason, Text: Truncate(text, 120), Err: err}
}

// NewExclusion returns an exclusion of text at line for reason.
func NewExclusion(feed string, line int, reason, text string) *ParseError {
	return &ParseError{Feed: feed, Line: line, Reason: reason, Excluded: true, Text: Truncate(text, 120)}
}

// Truncate returns s cut to at most n bytes, on a rune boundary where
// possible, with "..." appended when cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "..."
}

// A Tally counts the outcome of reading one document.
type Tally struct {
	Accepted int            `json:"accepted"`
	Refused  map[string]int `json:"refused,omitempty"`  // by reason
	Excluded map[string]int `json:"excluded,omitempty"` // by reason
	// Errors keeps the first few refusals for the report; bounded.
	Errors []*ParseError `json:"-"`
}

// maxTallyErrors bounds Tally.Errors.
const maxTallyErrors = 20

// Count records err from Read. It returns true when err is a *ParseError
// (counted, reading may go on) and false for any other error, which the
// caller must treat as final.
func (t *Tally) Count(err error) bool {
	var pe *ParseError
	if !errors.As(err, &pe) {
		return false
	}
	if pe.Excluded {
		if t.Excluded == nil {
			t.Excluded = map[string]int{}
		}
		t.Excluded[pe.Reason]++
		return true
	}
	if t.Refused == nil {
		t.Refused = map[string]int{}
	}
	t.Refused[pe.Reason]++
	if len(t.Errors) < maxTallyErrors {
		t.Errors = append(t.Errors, pe)
	}
	return true
}

// RefusedTotal returns the number of refused records.
func (t *Tally) RefusedTotal() int { return sum(t.Refused) }

// ExcludedTotal returns the number of excluded records.
func (t *Tally) ExcludedTotal() int { return sum(t.Excluded) }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ReadAll reads r to the end, calling fn for each indicator and counting
// refusals and exclusions in the returned Tally. It stops at the first
// final error from Read or the first error from fn.
func ReadAll(r Reader, fn func(proxywatch.Indicator) error) (Tally, error) {
	var t Tally
	for {
		ind, err := r.Read()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			if t.Count(err) {
				continue
			}
			return t, err
		}
		t.Accepted++
		if err := fn(ind); err != nil {
			return t, err
		}
	}
}

// CheckParams returns an error naming every key of params not in known, so
// formats reject misspelt settings.
func CheckParams(params map[string]string, known ...string) error {
	var errs []error
	for k := range params {
		ok := false
		for _, n := range known {
			if k == n {
				ok = true
				break
			}
		}
		if !ok {
			errs = append(errs, fmt.Errorf("param %q: unknown (known: %v): %w", k, known, proxywatch.ErrInvalid))
		}
	}
	return errors.Join(errs...)
}
