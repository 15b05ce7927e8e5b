package iocreport

import (
	"strconv"
	"strings"
	"time"
)

// scanDates returns the dates written in s, in order, in the forms IoC
// reports use: "2024-06-11" (with an optional "20:50" after it),
// "5/31/2021" (month first), and month names with an optional day and
// year: "May 19,2025", "Feb. 7 2022", "Sept 9, 2025", "December 2020",
// "November 3rd". A date without a year takes the year of the next date
// or bare year in s, as in the range "Feb. 7 – May 6 2022"; when there is
// none it is dropped. A date without a day is the first of its month.
// Month names count only when capitalised, so that "may" in a sentence is
// not a date. Times are UTC.
func scanDates(s string) []time.Time {
	words := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', '\t', ',', ';', '(', ')', '–', '—':
			return true
		}
		return false
	})
	type partial struct {
		y, m, d int
		clock   time.Duration
		at      int // word index, for year borrowing
	}
	var found []partial
	var years []int // word index of each bare year
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case isISODate(w):
			y, m, d := isoParts(w)
			p := partial{y: y, m: m, d: d, at: i}
			if i+1 < len(words) {
				if c, ok := clock(words[i+1]); ok {
					p.clock = c
					i++
				}
			}
			found = append(found, p)
		case strings.Count(w, "/") == 2:
			parts := strings.Split(w, "/")
			m, err1 := strconv.Atoi(parts[0])
			d, err2 := strconv.Atoi(parts[1])
			y, err3 := strconv.Atoi(parts[2])
			if err1 == nil && err2 == nil && err3 == nil && len(parts[2]) == 4 {
				found = append(found, partial{y: y, m: m, d: d, at: i})
			}
		case monthOf(w) > 0:
			p := partial{m: monthOf(w), d: 1, at: i}
			if i+1 < len(words) {
				if d, ok := dayOf(words[i+1]); ok {
					p.d = d
					i++
				}
			}
			if i+1 < len(words) {
				if y, ok := yearOf(words[i+1]); ok {
					p.y = y
					i++
				}
			}
			found = append(found, p)
		default:
			if _, ok := yearOf(w); ok {
				years = append(years, i)
			}
		}
	}
	var out []time.Time
	for k, p := range found {
		if p.y == 0 {
			for _, q := range found[k+1:] {
				if q.y != 0 {
					p.y = q.y
					break
				}
			}
		}
		if p.y == 0 {
			for _, at := range years {
				if at > p.at {
					p.y, _ = yearOf(words[at])
					break
				}
			}
		}
		if p.y == 0 || p.m < 1 || p.m > 12 || p.d < 1 || p.d > 31 {
			continue
		}
		t := time.Date(p.y, time.Month(p.m), p.d, 0, 0, 0, 0, time.UTC)
		if t.Day() != p.d { // February 30th
			continue
		}
		out = append(out, t.Add(p.clock))
	}
	return out
}

func isISODate(w string) bool {
	parts := strings.Split(w, "-")
	return len(parts) == 3 && len(parts[0]) == 4 && isDigits(parts[0]) &&
		len(parts[1]) <= 2 && isDigits(parts[1]) && len(parts[2]) <= 2 && isDigits(parts[2])
}

func isoParts(w string) (y, m, d int) {
	parts := strings.Split(w, "-")
	y, _ = strconv.Atoi(parts[0])
	m, _ = strconv.Atoi(parts[1])
	d, _ = strconv.Atoi(parts[2])
	return y, m, d
}

// clock parses "20:50" or "20:50:07" as a duration since midnight.
func clock(w string) (time.Duration, bool) {
	parts := strings.Split(w, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var d time.Duration
	limits := []int{24, 60, 60}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) > 2 || n < 0 || n >= limits[i] {
			return 0, false
		}
		d += time.Duration(n) * units[i]
	}
	return d, true
}

var months = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
	"october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

// monthOf returns the month a capitalised month name (optionally
// abbreviated, with a trailing ".") names, or 0.
func monthOf(w string) int {
	w = strings.TrimSuffix(w, ".")
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return 0
	}
	return months[strings.ToLower(w)]
}

// dayOf parses a day of the month: "7", "19", "3rd", "21st".
func dayOf(w string) (int, bool) {
	for _, suffix := range []string{"st", "nd", "rd", "th"} {
		w = strings.TrimSuffix(w, suffix)
	}
	if len(w) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(w)
	return n, err == nil && n >= 1 && n <= 31
}

// yearOf parses a four-digit year from 1990 to 2099.
func yearOf(w string) (int, bool) {
	if len(w) != 4 {
		return 0, false
	}
	n, err := strconv.Atoi(w)
	return n, err == nil && n >= 1990 && n <= 2099
}
