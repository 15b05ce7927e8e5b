package rbldnsdset

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// dataDir returns the shared real-data directory: $PROXYWATCH_TEST_DATA,
// else ../shared/data next to the module root. It skips the test when
// the directory is absent.
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

// drain reads rd to the end, returning the indicators and the parse
// errors in order. Any other error fails the test.
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

// openFile opens a file for a test and closes it at cleanup.
func openFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
