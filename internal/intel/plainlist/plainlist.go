// Package plainlist reads plain lists of addresses, prefixes, ranges and
// autonomous system numbers, one entry per line.
//
// It accepts the format shared by FireHOL .netset and .ipset files, ipsum's
// ipsum.txt and levels/*.txt, X4BNet's lists_vpn output/*.txt and
// input/*/ASN.txt, the Spamhaus DROP text files and most hand-made lists:
//
//	203.0.113.7                    an IPv4 or IPv6 address (/32 or /128)
//	198.51.100.0/24                a prefix; host bits are cleared
//	192.0.2.10-192.0.2.20          an inclusive range, spaces around "-"
//	                               allowed; it yields the fewest prefixes
//	                               that cover it, one per Read, same line
//	2001:db8::/32 ; note           a trailing comment, after "#" or ";",
//	                               is kept as the indicator's Comment
//	203.0.113.9<TAB>3              ipsum: address and count of source lists
//	AS64496 # Example Networks     an ASN ("AS" or "as" prefix)
//	64496                          a bare number, read as an ASN only with
//	                               the param asn=true
//
// Lines that are empty or hold only a comment (starting with "#" or ";")
// are not records. Defanged addresses ("192.0.2[.]1") are refanged. Every
// other line is refused with an *intel.ParseError: bad-address when the
// entry does not parse, syntax when text other than an ipsum count follows
// it, bad-value for a count below 1, too-long beyond 64 KiB.
//
// An ipsum count N (the number of public block lists that carry the
// address) becomes the tag "ipsum-count:N" and a confidence: 1 → 30,
// 2 → 50, 3 → 65, 4 → 75, 5 or more → 85. ipsum's README says higher
// counts mean fewer false positives; a count of 1 is noisy, and even many
// lists agreeing is aggregated public data, hence no 100.
//
// The reader sets Subject, Source (feed and line), Comment and, for ipsum
// lines, Confidence and Tags; Kind is left unknown, so the feed's default
// applies.
//
// Params: "asn" ("true" or "false", default "false") reads bare numbers as
// autonomous system numbers.
package plainlist

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Confidence by ipsum count; index 0 unused, counts above 5 use index 5.
var ipsumConfidence = [...]uint8{0, 30, 50, 65, 75, 85}

// ipsumTags caches the tag strings for common counts.
var ipsumTags = func() [16]string {
	var t [16]string
	for i := range t {
		t[i] = "ipsum-count:" + strconv.Itoa(i)
	}
	return t
}()

type reader struct {
	lr      *intel.LineReader
	feed    string
	asn     bool
	pending []proxywatch.Indicator // further prefixes of a range
	next    int                    // index into pending
	err     error                  // final error, returned again
}

// NewReader returns a reader of the plain list in r. It reports an error
// only for unknown or invalid params.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params, "asn"); err != nil {
		return nil, err
	}
	rd := &reader{lr: intel.NewLineReader(r), feed: opts.Name}
	if v, ok := opts.Params["asn"]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("param %q: %q is not true or false: %w", "asn", v, proxywatch.ErrInvalid)
		}
		rd.asn = b
	}
	return rd, nil
}

// Read returns the next indicator; see intel.Reader.
func (r *reader) Read() (proxywatch.Indicator, error) {
	if r.next < len(r.pending) {
		ind := r.pending[r.next]
		r.next++
		return ind, nil
	}
	r.pending, r.next = r.pending[:0], 0
	if r.err != nil {
		return proxywatch.Indicator{}, r.err
	}
	for {
		line, long, err := r.lr.Next()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("read %s: %w", r.feed, err)
			}
			r.err = err
			return proxywatch.Indicator{}, err
		}
		if long {
			return proxywatch.Indicator{}, intel.NewParseError(r.feed, r.lr.Line(), intel.ReasonTooLong, line,
				fmt.Errorf("line longer than %d bytes", intel.MaxLine))
		}
		ind, ok, perr := r.parse(line)
		if perr != nil {
			return proxywatch.Indicator{}, perr
		}
		if ok {
			return ind, nil
		}
	}
}

// parse reads one line. It returns ok false for a line that is not a
// record, and buffers further prefixes of a range in r.pending.
func (r *reader) parse(line string) (ind proxywatch.Indicator, ok bool, perr error) {
	body, comment := line, ""
	if i := strings.IndexAny(line, "#;"); i >= 0 {
		body = line[:i]
		comment = strings.TrimSpace(strings.TrimLeft(line[i:], "#; \t"))
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return ind, false, nil
	}
	ind.Source = proxywatch.Source{Feed: r.feed, Line: r.lr.Line()}
	ind.Comment = comment
	fail := func(reason string, err error) (proxywatch.Indicator, bool, error) {
		return proxywatch.Indicator{}, false, intel.NewParseError(r.feed, r.lr.Line(), reason, line, err)
	}

	tok, rest := cutSpace(body)
	if rest != "" && (rest[0] == '-' || tok[len(tok)-1] == '-') {
		// "a - b": a range written with spaces.
		ps, err := intel.ParseRange(intel.Refang(body))
		if err != nil {
			return fail(intel.ReasonBadAddress, err)
		}
		return r.emit(ind, ps), true, nil
	}
	if rest != "" {
		count, err := strconv.Atoi(rest)
		if err != nil {
			return fail(intel.ReasonSyntax, errors.New("unexpected text after the entry"))
		}
		if count < 1 {
			return fail(intel.ReasonBadValue, fmt.Errorf("count %d: want 1 or more", count))
		}
		ind.Confidence = ipsumConfidence[min(count, len(ipsumConfidence)-1)]
		if count < len(ipsumTags) {
			ind.Tags = []string{ipsumTags[count]}
		} else {
			ind.Tags = []string{"ipsum-count:" + strconv.Itoa(count)}
		}
	}

	if n, isASN, err := parseASN(tok, r.asn); isASN {
		if err != nil {
			return fail(intel.ReasonBadAddress, err)
		}
		ind.Subject = proxywatch.ASNSubject(n)
		return ind, true, nil
	}
	tok = intel.Refang(tok)
	if strings.IndexByte(tok, '-') > 0 && !strings.Contains(tok, "/") {
		ps, err := intel.ParseRange(tok)
		if err != nil {
			return fail(intel.ReasonBadAddress, err)
		}
		return r.emit(ind, ps), true, nil
	}
	p, err := intel.ParsePrefix(tok)
	if err != nil {
		return fail(intel.ReasonBadAddress, err)
	}
	ind.Subject = proxywatch.PrefixSubject(p)
	return ind, true, nil
}

// emit returns ind for the first prefix and queues copies for the rest.
func (r *reader) emit(ind proxywatch.Indicator, ps []netip.Prefix) proxywatch.Indicator {
	for _, p := range ps[1:] {
		more := ind
		more.Subject = proxywatch.PrefixSubject(p)
		if ind.Tags != nil {
			more.Tags = append([]string(nil), ind.Tags...)
		}
		r.pending = append(r.pending, more)
	}
	ind.Subject = proxywatch.PrefixSubject(ps[0])
	return ind
}

// parseASN reports whether tok is written as an ASN ("AS64496", or
// "64496" when bare numbers are ASNs) and parses it.
func parseASN(tok string, bare bool) (n uint32, isASN bool, err error) {
	digits := tok
	if len(tok) > 2 && tok[0]|0x20 == 'a' && tok[1]|0x20 == 's' {
		digits = tok[2:]
	} else if !bare {
		return 0, false, nil
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false, nil // not a number: left to the address parser
		}
	}
	v, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || v == 0 {
		return 0, true, fmt.Errorf("ASN %q: want 1 to 4294967295", tok)
	}
	return uint32(v), true, nil
}

// cutSpace splits s at its first run of spaces or tabs.
func cutSpace(s string) (tok, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}
