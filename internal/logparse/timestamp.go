package logparse

import "time"

// parseISO parses "YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM|±HHMM]" (a space
// may stand for the T); without an offset the time is in loc. The result
// is in UTC.
func parseISO(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	y, ok0 := atoi(b[0:4])
	mo, ok1 := atoi2(b[5:7])
	d, ok2 := atoi2(b[8:10])
	hh, ok3 := atoi2(b[11:13])
	mm, ok4 := atoi2(b[14:16])
	ss, ok5 := atoi2(b[17:19])
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	rest := b[19:]
	ns := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		ns = fraction(rest[:i])
		rest = rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 0:
		return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc).UTC(), true
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && rest[3] == ':' || len(rest) == 5:
		oh, ok1 := atoi2(rest[1:3])
		om, ok2 := atoi2(rest[len(rest)-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		switch rest[0] {
		case '+':
		case '-':
			offset = -offset
		default:
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, ns, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// fraction converts ".123456" (or ",123") to nanoseconds; "" is 0.
func fraction(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	ns, scale := 0, 100000000
	for _, c := range b[1:] {
		if !isDigit(c) {
			return 0
		}
		ns += int(c-'0') * scale
		scale /= 10
	}
	return ns
}

// A yearGuess infers the year of RFC 3164 timestamps, which carry none.
// The first line takes the reference clock's year, or the year before when
// its month lies more than a month ahead of the clock (a December log read
// in January). Later lines follow the log: a month far below the last one
// (December to January) starts the next year, and a month far above it is
// an old straggler of the year before.
type yearGuess struct {
	fixed int
	now   func() time.Time
	cur   int
	last  time.Month
}

func (y *yearGuess) year(m time.Month) int {
	if y.fixed != 0 {
		return y.fixed
	}
	if y.cur == 0 {
		ref := y.now()
		y.cur = ref.Year()
		if m > ref.Month()+1 {
			y.cur--
		}
		y.last = m
		return y.cur
	}
	switch {
	case m+6 < y.last:
		y.cur++
	case m > y.last+6:
		return y.cur - 1
	}
	y.last = m
	if ref := y.now(); y.cur*12+int(m) > ref.Year()*12+int(ref.Month())+1 {
		return y.cur - 1 // never months in the future
	}
	return y.cur
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// month returns the month abbreviated as b, or 0.
func month(b []byte) time.Month {
	for i, m := range months {
		if string(b) == m {
			return time.Month(i + 1)
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func atoi2(b []byte) (int, bool) {
	if len(b) != 2 || !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

func atoi(b []byte) (int, bool) {
	v, ok := parseUint(b)
	if !ok || len(b) > 9 {
		return 0, false
	}
	return int(v), true
}
