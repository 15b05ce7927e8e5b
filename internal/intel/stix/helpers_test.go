package stix

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// dataDir returns the shared real-data directory: $PROXYWATCH_TEST_DATA,
// else ../shared/data next to the module root. It skips the test when the
// directory is absent.
func dataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PROXYWATCH_TEST_DATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Skipf("real data: %v", err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "data")
				break
			}
			if filepath.Dir(d) == d {
				t.Skip("real data: module root (go.mod) not found")
			}
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not present (set PROXYWATCH_TEST_DATA): %v", err)
	}
	return dir
}

// drain reads rd to the end, returning the indicators and the parse errors
// in order. Any other error fails the test.
func drain(t testing.TB, rd intel.Reader) ([]proxywatch.Indicator, []*intel.ParseError) {
	t.Helper()
	var inds []proxywatch.Indicator
	var errs []*intel.ParseError
	for {
		ind, err := rd.Read()
		if err == io.EOF {
			return inds, errs
		}
		var pe *intel.ParseError
		if errors.As(err, &pe) {
			errs = append(errs, pe)
			continue
		}
		if err != nil {
			t.Fatalf("Read() = %v, want a *intel.ParseError or io.EOF", err)
		}
		inds = append(inds, ind)
	}
}

// open returns a reader of the file at path.
func open(t testing.TB, path string) *Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	rd, err := NewReader(f, intel.Options{Name: filepath.Base(path)})
	if err != nil {
		t.Fatalf("NewReader() = %v", err)
	}
	return rd.(*Reader)
}

// result is one Read result in a comparable form.
type result struct {
	Line    int
	Subject string // indicator subject, or "" for an error
	Reason  string // "excluded:<reason>" or "refused:<reason>" for an error
	Kind    string
	Port    uint16
	Proto   string
}

func (r result) String() string {
	if r.Reason != "" {
		return fmt.Sprintf("%d %s", r.Line, r.Reason)
	}
	return fmt.Sprintf("%d %s kind=%s port=%d proto=%s", r.Line, r.Subject, r.Kind, r.Port, r.Proto)
}

// results reads rd to the end in order, as results.
func results(t testing.TB, rd intel.Reader) []result {
	t.Helper()
	var out []result
	for {
		ind, err := rd.Read()
		if err == io.EOF {
			return out
		}
		var pe *intel.ParseError
		switch {
		case errors.As(err, &pe):
			what := "refused:"
			if pe.Excluded {
				what = "excluded:"
			}
			out = append(out, result{Line: pe.Line, Reason: what + pe.Reason})
		case err != nil:
			t.Fatalf("Read() = %v, want a *intel.ParseError or io.EOF", err)
		default:
			out = append(out, result{Line: ind.Source.Line, Subject: ind.Subject.String(), Kind: ind.Kind.String(), Port: ind.Port, Proto: ind.Proto})
		}
	}
}
