package stix

import (
	"fmt"
	"testing"

	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

// open returns a reader of the file at path.
func open(t testing.TB, path string) *Reader {
	t.Helper()
	return inteltest.OpenReader(t, NewReader, path, nil).(*Reader)
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
	for _, r := range inteltest.Results(t, rd) {
		if r.Err != nil {
			out = append(out, result{Line: r.Err.Line, Reason: r.Outcome()})
			continue
		}
		ind := r.Indicator
		out = append(out, result{Line: ind.Source.Line, Subject: ind.Subject.String(), Kind: ind.Kind.String(), Port: ind.Port, Proto: ind.Proto})
	}
	return out
}
