package csvfeed

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// row turns one record into an indicator, queueing further prefixes of a
// range.
func (r *reader) row(fields []string, line int, text string) (proxywatch.Indicator, *intel.ParseError) {
	fail := func(reason string, err error) (proxywatch.Indicator, *intel.ParseError) {
		return proxywatch.Indicator{}, intel.NewParseError(r.feed, line, reason, strings.TrimSuffix(text, "\n"), err)
	}
	cell := func(c int) string {
		if i := r.cols[c]; i >= 0 && i < len(fields) {
			if v := strings.TrimSpace(fields[i]); v != "-" {
				return v
			}
		}
		return ""
	}
	var (
		ps   []netip.Prefix
		port uint16
	)
	if i := r.cols[colIP]; i >= 0 {
		if i >= len(fields) {
			return fail(intel.ReasonSyntax, fmt.Errorf("row has %d fields, the ip column is %d", len(fields), i+1))
		}
		v := cell(colIP)
		if v == "" {
			return fail(intel.ReasonEmptyRecord, errors.New("ip cell is empty"))
		}
		var err error
		if ps, port, err = parseAddr(v); err != nil {
			return fail(intel.ReasonBadAddress, err)
		}
	} else {
		for _, f := range fields {
			var err error
			if ps, port, err = parseAddr(strings.TrimSpace(f)); err == nil {
				break
			}
			ps = nil
		}
		if ps == nil {
			return fail(intel.ReasonEmptyRecord, errors.New("no cell holds an address"))
		}
	}

	ind := proxywatch.Indicator{
		Source:  proxywatch.Source{Feed: r.feed, Line: line},
		Port:    port,
		Proto:   strings.ToLower(cell(colProto)),
		Comment: cell(colComment),
	}
	if v := cell(colPort); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return fail(intel.ReasonBadPort, fmt.Errorf("port %q: want 0 to 65535", v))
		}
		ind.Port = uint16(n) // 0: none, as flow exports write it for ICMP
	}
	if v := cell(colKind); v != "" {
		k, err := proxywatch.ParseKind(v)
		if err != nil {
			return fail(intel.ReasonBadValue, err)
		}
		ind.Kind = k
	}
	if v := cell(colConfidence); v != "" {
		c, err := parseConfidence(v)
		if err != nil {
			return fail(intel.ReasonBadValue, err)
		}
		ind.Confidence = c
	}
	for _, t := range []struct {
		col int
		dst *time.Time
	}{{colFirstSeen, &ind.FirstSeen}, {colLastSeen, &ind.LastSeen}, {colExpires, &ind.Expires}} {
		if v := cell(t.col); v != "" {
			tm, err := parseTime(v)
			if err != nil {
				return fail(intel.ReasonBadValue, fmt.Errorf("%s: %w", colParams[t.col], err))
			}
			*t.dst = tm
		}
	}
	if v := cell(colTags); v != "" {
		for t := range strings.FieldsFuncSeq(v, func(c rune) bool { return c == ',' || c == ';' || c == '|' }) {
			if t = strings.TrimSpace(t); t != "" {
				ind.Tags = append(ind.Tags, t)
			}
		}
	}

	for _, p := range ps[1:] {
		more := ind
		more.Subject = proxywatch.PrefixSubject(p)
		more.Tags = append([]string(nil), ind.Tags...)
		r.pending = append(r.pending, more)
	}
	ind.Subject = proxywatch.PrefixSubject(ps[0])
	return ind, nil
}

// parseAddr reads an address, prefix, range, "ip:port", "[v6]:port" or
// a URL whose host is an address ("http://192.0.2.1:8080/path").
func parseAddr(s string) ([]netip.Prefix, uint16, error) {
	s = intel.Refang(s)
	if ps, err := intel.ParseAny(s); err == nil {
		return ps, 0, nil
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			rest = rest[i+1:]
		}
		if a, err := netip.ParseAddr(strings.Trim(rest, "[]")); err == nil {
			p, err := intel.ParsePrefix(a.String())
			if err != nil {
				return nil, 0, err
			}
			return []netip.Prefix{p}, 0, nil
		}
		s = rest
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, 0, fmt.Errorf("%q: not an address, prefix, range or address:port", s)
	}
	if ap.Port() == 0 {
		return nil, 0, fmt.Errorf("%q: port 0", s)
	}
	p, err := intel.ParsePrefix(ap.Addr().String())
	if err != nil {
		return nil, 0, err
	}
	return []netip.Prefix{p}, ap.Port(), nil
}

// parseConfidence reads a number from 0 to 100, rounding fractions.
func parseConfidence(s string) (uint8, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > proxywatch.MaxConfidence {
		return 0, fmt.Errorf("confidence %q: want 0 to 100", s)
	}
	return uint8(math.Round(f)), nil
}

// timeLayouts are tried in order; layouts without a zone are UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// parseTime reads the forms in timeLayouts, or Unix seconds (up to 10
// digits, at least 9, with an optional fraction) or milliseconds (13
// digits).
func parseTime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	if n, err := strconv.ParseUint(sec, 10, 63); err == nil && n > 0 {
		switch {
		case len(sec) < 9:
			// Too short for a Unix time of this century; try the layouts.
		case len(sec) <= 10 && frac == "":
			return time.Unix(int64(n), 0).UTC(), nil
		case len(sec) <= 10:
			if f, err := strconv.ParseUint(frac, 10, 63); err == nil && len(frac) <= 9 {
				for range 9 - len(frac) {
					f *= 10
				}
				return time.Unix(int64(n), int64(f)).UTC(), nil
			}
		case len(sec) == 13 && frac == "":
			return time.UnixMilli(int64(n)).UTC(), nil
		}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not RFC 3339, a date or Unix time", s)
}
