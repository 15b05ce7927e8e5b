// Package inteltest helps the tests of the intel readers: it opens their
// fixtures, reads an intel.Reader to its end in the forms the tests
// compare, and holds the checks their fuzz targets share. It is imported
// only from _test.go files; tests find the shared real-world data with
// itest.Data.
package inteltest

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Open opens the file at path for reading and closes it when tb ends. It
// fails tb when the file cannot be opened.
func Open(tb testing.TB, path string) *os.File {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// OpenReader returns the reader that newReader (a format's NewReader or
// New) makes of the file at path, opened with Open, under the feed name of
// the file's base name and with params. It fails tb when newReader
// returns an error.
func OpenReader[R intel.Reader](tb testing.TB, newReader func(io.Reader, intel.Options) (R, error), path string, params map[string]string) R {
	tb.Helper()
	rd, err := newReader(Open(tb, path), intel.Options{Name: filepath.Base(path), Params: params})
	if err != nil {
		tb.Fatalf("NewReader(%s) = %v", path, err)
	}
	return rd
}

// Input returns what a table-driven test reads: the file named file in
// the package's testdata directory, opened with Open, or text when file
// is "".
func Input(tb testing.TB, file, text string) io.Reader {
	tb.Helper()
	if file == "" {
		return strings.NewReader(text)
	}
	return Open(tb, filepath.Join("testdata", file))
}

// Seeds returns the contents of the files in the package's testdata
// directory whose names match pattern (in filepath.Match syntax), in
// lexical order of their names, to seed a fuzz target. It fails tb when a
// file cannot be read.
func Seeds(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// A Script is an intel.Reader that returns its Items in turn, each a
// proxywatch.Indicator or an error, and then Final (io.EOF when Final is
// nil) for ever.
type Script struct {
	Items []any
	Final error
}

// Read returns the next item.
func (s *Script) Read() (proxywatch.Indicator, error) {
	if len(s.Items) == 0 {
		if s.Final == nil {
			return proxywatch.Indicator{}, io.EOF
		}
		return proxywatch.Indicator{}, s.Final
	}
	it := s.Items[0]
	s.Items = s.Items[1:]
	if err, ok := it.(error); ok {
		return proxywatch.Indicator{}, err
	}
	return it.(proxywatch.Indicator), nil
}

// A Result is one outcome of Read: an indicator, or, when Err is not nil,
// the parse error that stood in its place.
type Result struct {
	Indicator proxywatch.Indicator
	Err       *intel.ParseError
}

// Outcome returns "excluded:<reason>" or "refused:<reason>" for a parse
// error, and "" for an indicator.
func (r Result) Outcome() string {
	switch {
	case r.Err == nil:
		return ""
	case r.Err.Excluded:
		return "excluded:" + r.Err.Reason
	default:
		return "refused:" + r.Err.Reason
	}
}

// Results reads rd to io.EOF and returns every outcome in order. An error
// other than an *intel.ParseError fails tb.
func Results(tb testing.TB, rd intel.Reader) []Result {
	tb.Helper()
	var out []Result
	each(tb, rd, func(ind proxywatch.Indicator, pe *intel.ParseError) {
		out = append(out, Result{Indicator: ind, Err: pe})
	})
	return out
}

// Drain reads rd to io.EOF and returns the indicators and the parse
// errors, each in the order read. An error other than an
// *intel.ParseError fails tb.
func Drain(tb testing.TB, rd intel.Reader) ([]proxywatch.Indicator, []*intel.ParseError) {
	tb.Helper()
	var inds []proxywatch.Indicator
	var errs []*intel.ParseError
	each(tb, rd, func(ind proxywatch.Indicator, pe *intel.ParseError) {
		if pe != nil {
			errs = append(errs, pe)
			return
		}
		inds = append(inds, ind)
	})
	return inds, errs
}

// each calls fn with every indicator, or with the parse error in its
// place, until rd returns io.EOF. Any other error fails tb.
func each(tb testing.TB, rd intel.Reader, fn func(proxywatch.Indicator, *intel.ParseError)) {
	tb.Helper()
	for {
		ind, err := rd.Read()
		if err == io.EOF {
			return
		}
		var pe *intel.ParseError
		if errors.As(err, &pe) {
			fn(proxywatch.Indicator{}, pe)
			continue
		}
		if err != nil {
			tb.Fatalf("Read() = %v, want a *intel.ParseError or io.EOF", err)
		}
		fn(ind, nil)
	}
}

// ReadCount reads rd to io.EOF and returns the number of indicators it
// gave. Any error, a parse error included, fails tb. Benchmarks use it on
// inputs that hold no bad record.
func ReadCount(tb testing.TB, rd intel.Reader) int {
	tb.Helper()
	n := 0
	for {
		_, err := rd.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
}

// First returns the first of errs, or nil when there is none, for failure
// messages.
func First(errs []*intel.ParseError) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// Counts is what reading a document gave, counted as intel.Tally counts
// it: Excluded and Refused are nil when nothing was excluded or refused.
type Counts struct {
	Accepted int
	Excluded map[string]int // by reason
	Refused  map[string]int // by reason
}

// Count counts the indicators and parse errors that reading gave.
func Count(inds []proxywatch.Indicator, errs []*intel.ParseError) Counts {
	tally := intel.Tally{Accepted: len(inds)}
	for _, e := range errs {
		tally.Count(e)
	}
	return Counts{Accepted: tally.Accepted, Excluded: tally.Excluded, Refused: tally.Refused}
}

// CheckReads reads rd to its end as the fuzz targets of the document
// readers do, and calls check with each indicator. It fails tb when rd
// gives more than limit results, when a parse error has no reason or no
// line, or when the error that ends reading (io.EOF included) is not given
// again by the next Read.
func CheckReads(tb testing.TB, rd intel.Reader, limit int, check func(proxywatch.Indicator)) {
	tb.Helper()
	for i := 0; ; i++ {
		if i > limit {
			tb.Fatalf("Read() called %d times without an end (limit %d)", i, limit)
		}
		ind, err := rd.Read()
		var pe *intel.ParseError
		switch {
		case errors.As(err, &pe):
			if pe.Reason == "" || pe.Line <= 0 {
				tb.Fatalf("ParseError %v has no reason or line", pe)
			}
			continue
		case err != nil:
			if _, again := rd.Read(); again != err {
				tb.Fatalf("Read() after final %v = %v, want the same error", err, again)
			}
			return
		}
		check(ind)
	}
}
