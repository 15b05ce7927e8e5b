package rbldnsdset

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxTXT is rbldnsd's limit on a TXT template, in bytes.
const maxTXT = 255

// value is an entry's A record and TXT template.
type value struct {
	a, txt string
	text   string // a and txt as Indicator.Comment, once formatted
}

// comment formats v for Indicator.Comment: "127.0.0.2 text".
func (v value) comment() string {
	if v.text != "" {
		return v.text
	}
	switch {
	case v.a == "":
		return v.txt
	case v.txt == "":
		return v.a
	}
	return v.a + " " + v.txt
}

// parseValue reads ":A:TXT", ":A:", ":A" or "TXT" after an entry, with
// def supplying what is left out: ":A" keeps the default TXT, ":A:" has
// none, and "TXT" keeps the default A. A is an IPv4 address, or its last
// octets after 127.0.0 ("2" is 127.0.0.2).
func parseValue(s string, def value) (value, error) {
	s = strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(s, ":") {
		return value{a: def.a, txt: truncTXT(s)}, nil
	}
	s = s[1:]
	end := strings.IndexAny(s, ": \t#")
	if end < 0 {
		end = len(s)
	}
	a, err := parseA(s[:end])
	if err != nil {
		return value{}, err
	}
	rest := strings.TrimLeft(s[end:], " \t")
	switch {
	case strings.HasPrefix(rest, ":"):
		return value{a: a, txt: truncTXT(strings.TrimLeft(rest[1:], " \t"))}, nil
	case rest == "" || rest[0] == '#':
		return value{a: a, txt: def.txt}, nil
	}
	return value{}, fmt.Errorf("value %q: text after the A value must follow a ':'", s)
}

// parseA reads an A value: "127.0.0.2", or fewer octets completing
// 127.0.0.0 from the right as inet_aton does ("2", "0.2").
func parseA(s string) (string, error) {
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 4 {
		return "", fmt.Errorf("a value %q: want an IPv4 address", s)
	}
	oct := [4]int{127, 0, 0, 0}
	zero := true
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || len(p) > 3 {
			return "", fmt.Errorf("a value %q: want an IPv4 address", s)
		}
		oct[4-len(parts)+i] = n
		zero = zero && n == 0
	}
	if zero { // rbldnsd checks before completing with 127.0.0
		return "", fmt.Errorf("a value %q: zero is not a result", s)
	}
	return fmt.Sprintf("%d.%d.%d.%d", oct[0], oct[1], oct[2], oct[3]), nil
}

func truncTXT(s string) string {
	s = strings.TrimRight(s, " \t")
	if len(s) > maxTXT {
		s = s[:maxTXT]
	}
	return s
}

// parseDuration reads rbldnsd time units: a number with an optional
// suffix s, m, h, d or w, or several run together ("1h30m").
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty time")
	}
	var total time.Duration
	for s != "" {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseUint(s[:j], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("time %q: want a number with an optional unit s, m, h, d or w", s)
		}
		unit := time.Second
		if j < len(s) {
			switch s[j] | 0x20 {
			case 's':
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			default:
				return 0, fmt.Errorf("time %q: unknown unit %q", s, s[j])
			}
			j++
		}
		total += time.Duration(n) * unit
		if total > 100*365*24*time.Hour {
			return 0, fmt.Errorf("time %q: too long", s)
		}
		s = s[j:]
	}
	return total, nil
}

// parseStamp reads a $TIMESTAMP time: yyyy:mm:dd[:hh[:mi[:ss]]], the
// ":" or "-" delimiters optional, in UTC. "0" or "-" is no time.
func parseStamp(s string) (time.Time, error) {
	if s == "0" || s == "-" {
		return time.Time{}, nil
	}
	digits := strings.NewReplacer(":", "", "-", "").Replace(s)
	layout := "20060102150405"
	switch len(digits) {
	case 8, 10, 12, 14:
		layout = layout[:len(digits)]
	default:
		return time.Time{}, fmt.Errorf("timestamp %q: want yyyy:mm:dd[:hh[:mi[:ss]]]", s)
	}
	t, err := time.Parse(layout, digits)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t, nil
}

// parseTimestamp reads the arguments of $TIMESTAMP: dstamp [expires],
// where expires may be "+rel", a time after dstamp.
func parseTimestamp(args string) (stamp, expires time.Time, err error) {
	f := strings.Fields(args)
	if len(f) == 0 || len(f) > 2 {
		return stamp, expires, errors.New("$TIMESTAMP: want dstamp [expires]")
	}
	if stamp, err = parseStamp(f[0]); err != nil {
		return stamp, expires, err
	}
	if len(f) == 1 {
		return stamp, expires, nil
	}
	if rel, ok := strings.CutPrefix(f[1], "+"); ok {
		if stamp.IsZero() {
			return stamp, expires, errors.New("$TIMESTAMP: a relative expiry needs a dstamp")
		}
		d, err := parseDuration(rel)
		if err != nil {
			return stamp, expires, err
		}
		return stamp, stamp.Add(d), nil
	}
	expires, err = parseStamp(f[1])
	return stamp, expires, err
}
