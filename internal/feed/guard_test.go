package feed

import (
	"slices"
	"testing"

	"github.com/proxywatch/proxywatch/internal/intel"
)

func seq(from, n int) []uint64 {
	var out []uint64
	for i := range n {
		out = append(out, uint64(from+i))
	}
	return out
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name           string
		old, next      []uint64
		added, removed int
	}{
		{"same", seq(0, 10), seq(0, 10), 0, 0},
		{"disjoint", seq(0, 10), seq(100, 5), 5, 10},
		{"shifted", seq(0, 10), seq(5, 10), 5, 5},
		{"empty-old", nil, seq(0, 3), 3, 0},
		{"empty-new", seq(0, 3), nil, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if a, r := diff(tc.old, tc.next); a != tc.added || r != tc.removed {
				t.Errorf("diff() = %d, %d, want %d, %d", a, r, tc.added, tc.removed)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	g := Guard{MaxChurn: 0.5, MinEntries: 20, MaxRefusedShare: 0.5}
	clean := func(n int) *Report { return &Report{Read: intel.Tally{Accepted: n}} }
	refused := func(ok, bad int) *Report {
		return &Report{Read: intel.Tally{Accepted: ok, Refused: map[string]int{"syntax": bad}}}
	}
	tests := []struct {
		name      string
		g         Guard
		first     bool
		old, next []uint64
		rep       *Report
		want      string
	}{
		{"first-load-any-change", g, true, nil, seq(0, 100), clean(100), ""},
		{"quarter-replaced", g, false, seq(0, 100), seq(25, 100), clean(100), ""},     // churn 0.25
		{"half-replaced", g, false, seq(0, 100), seq(50, 100), clean(100), ""},        // churn 0.5, at the bound
		{"most-replaced", g, false, seq(0, 100), seq(60, 100), clean(100), HoldChurn}, // churn 0.6
		{"emptied", g, false, seq(0, 100), nil, clean(0), HoldChurn},                  // churn 1
		{"doubled", g, false, seq(0, 100), seq(0, 200), clean(200), ""},               // churn 1/3
		{"tripled", g, false, seq(0, 100), seq(0, 400), clean(400), HoldChurn},        // churn 0.6
		{"small-list", g, false, seq(0, 10), seq(100, 19), clean(19), ""},             // below min_entries
		{"old-empty", g, false, nil, seq(0, 100), clean(100), ""},                     // no baseline
		{"churn-off", Guard{MaxChurn: 1, MinEntries: 1}, false, seq(0, 100), seq(500, 100), clean(100), ""},
		{"refused-share", g, true, nil, seq(0, 10), refused(10, 11), HoldRefusedShare},
		{"refused-at-bound", g, true, nil, seq(0, 10), refused(10, 10), ""},
		{"refused-before-churn", g, false, seq(0, 100), nil, refused(0, 100), HoldRefusedShare},
		{"guard-refusals-count", g, true, nil, seq(0, 4), &Report{Read: intel.Tally{Accepted: 10}, GuardRefused: map[string]int{ReasonTooWideV4: 6}}, HoldRefusedShare},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := judge(tc.g, tc.first, tc.old, tc.next, tc.rep)
			if h.reason != tc.want {
				t.Errorf("judge() = %q (%s), want %q", h.reason, h.detail, tc.want)
			}
			if (h.reason == "") != (h.detail == "") {
				t.Errorf("judge() = %+v: a reason needs a detail", h)
			}
		})
	}
	if !slices.IsSorted(seq(0, 3)) {
		t.Fatal("seq not sorted")
	}
}
