package iocreport

import (
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
	Section string
	Port    uint16
	First   string // FirstSeen as 2006-01-02, or ""
	Last    string
}

// results reads rd to the end in order, as results.
func results(t testing.TB, rd intel.Reader) []result {
	t.Helper()
	var out []result
	day := func(tm interface {
		IsZero() bool
		Format(string) string
	}) string {
		if tm.IsZero() {
			return ""
		}
		return tm.Format("2006-01-02")
	}
	for _, r := range inteltest.Results(t, rd) {
		if r.Err != nil {
			out = append(out, result{Line: r.Err.Line, Reason: r.Outcome()})
			continue
		}
		ind := r.Indicator
		out = append(out, result{Line: ind.Source.Line, Subject: ind.Subject.String(), Kind: ind.Kind.String(),
			Section: ind.Source.Section, Port: ind.Port, First: day(ind.FirstSeen), Last: day(ind.LastSeen)})
	}
	return out
}
