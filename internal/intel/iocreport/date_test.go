package iocreport

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScanDates(t *testing.T) {
	d := func(y, m, day int) time.Time { return time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in   string
		want []time.Time
	}{
		{"2024-06-11   2024-10-18", []time.Time{d(2024, 6, 11), d(2024, 10, 18)}},
		{"2024-11-1 until 2025-02-19", []time.Time{d(2024, 11, 1), d(2025, 2, 19)}},
		{"2020-11-27 20:50; 2020-12-14 1:43", []time.Time{d(2020, 11, 27).Add(20*time.Hour + 50*time.Minute), d(2020, 12, 14).Add(time.Hour + 43*time.Minute)}},
		{"5/31/2021", []time.Time{d(2021, 5, 31)}},
		{"May 19,2025	     March 31, 2026", []time.Time{d(2025, 5, 19), d(2026, 3, 31)}},
		{"Sept 9,2025; Sept 9, 2025", []time.Time{d(2025, 9, 9), d(2025, 9, 9)}},
		{"Dec 5, 2023 - Jan 3, 2024", []time.Time{d(2023, 12, 5), d(2024, 1, 3)}},
		{"Feb. 7 – May 6 2022", []time.Time{d(2022, 2, 7), d(2022, 5, 6)}},
		{"May – Nov. 2 2022", []time.Time{d(2022, 5, 1), d(2022, 11, 2)}},
		{"Nov. 15 – 20, 2023", []time.Time{d(2023, 11, 15)}},
		{"December 1 2022, August 2023", []time.Time{d(2022, 12, 1), d(2023, 8, 1)}},
		{"First: January 3, 2024", []time.Time{d(2024, 1, 3)}},
		{"Active as of November 3rd 2023", []time.Time{d(2023, 11, 3)}},
		{"Last Seen: Present", nil},
		{"we may see it in march", nil},      // lower case: not month names
		{"Feb 30, 2024", nil},                // no such day
		{"June 5", nil},                      // no year anywhere
		{"version 1.2.3 on 2024-13-01", nil}, // no month 13
		{"", nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, scanDates(tc.in)); diff != "" {
			t.Errorf("scanDates(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}
