// Package rbldnsdset reads rbldnsd IP datasets, the format DroneBL and many
// other DNS block lists publish: ip4set, ip4trie, ip4tset, ip6trie and
// ip6tset, alone or as sections of a combined dataset.
//
// It follows rbldnsd(8) and rbldnsd's own parser. One entry a line:
//
//	192.0.2.1                 an address
//	192.0.2                   leading octets: 192.0.2.0/24 (also "192.0")
//	192.0.2.0/24  192/8       CIDR, also on leading octets
//	192.0.2.10-192.0.2.20     a range, yielding its prefixes one per Read
//	192.0.2.10-20             a range whose end gives only the last octet
//	198.51-52                 198.51.0.0-198.52.255.255
//	2001:db8::/32  ::1        IPv6 with "::" or all eight groups
//	2001:db8:1                leading IPv6 groups: 2001:db8:1::/48
//	!192.0.2.5                an exclusion
//
// A bare number ("10") is refused, as rbldnsd refuses it (write "10/8").
// Host bits of a CIDR are cleared (rbldnsd refuses them in the trie
// datasets unless told otherwise). IPv4-mapped IPv6 entries become IPv4.
//
// After an entry, a value ":127.0.0.3:Listed, see https://example.org/$"
// (A record and TXT template), ":3" (A only; "3" means 127.0.0.3) or a
// bare TXT template may follow; a line starting with ":" sets the default
// value for the entries after it. The entry's value, or the default, is
// kept as the indicator's Comment: "127.0.0.3 Listed, see ...", the TXT
// template as written ("$" is not expanded). A comment after "#" or ";"
// right after the entry keeps the default value.
//
// Special lines (starting with "$", "#$" or ":$"): $TTL and $TIMESTAMP
// are kept as reader state (TTL, Timestamp), and a $TIMESTAMP expiry sets
// Expires on every indicator read after it; $MAXRANGE4 is honoured (a
// wider IPv4 entry is refused as "maxrange"); $DATASET starts a section
// of a combined dataset, whose name becomes Source.Section (lines of
// non-IP datasets, such as dnset or generic, are refused as unsupported);
// $SOA, $NS, $0-$9 and $= are accepted and ignored. Another special is
// refused as unsupported.
//
// An exclusion ("!entry") is returned as an *intel.ParseError with
// Excluded set and reason "exclusion", and its prefixes are kept:
// rbldnsd excludes them from the whole dataset whatever their place in
// the file, so a caller must carve [Reader.Exclusions] out of every
// indicator once the reader is at io.EOF.
//
// The reader sets Subject, Source (feed, line and section), Comment and
// Expires; Kind and Confidence are left to the feed (a list's A codes say
// what an entry is, and mapping them is the feed's configuration).
//
// Params: "dataset" is "ip4set", "ip4trie", "ip4tset", "ip6trie",
// "ip6tset", or "auto" (the default): auto reads each line by its address
// family, IPv4 with ip4set's syntax. ip4trie accepts no ranges; ip4tset
// only single addresses; the IPv6 types no IPv4. Refusals: bad-address,
// bad-value (a value, $TTL, $TIMESTAMP or $MAXRANGE4 that does not parse),
// maxrange, unsupported, too-long (a line beyond 64 KiB).
package rbldnsdset

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// ReasonMaxRange refuses an entry wider than the dataset's $MAXRANGE4.
const ReasonMaxRange = "maxrange"

// dataset is an rbldnsd dataset type.
type dataset uint8

const (
	dsAuto dataset = iota
	dsIP4Set
	dsIP4Trie
	dsIP4TSet
	dsIP6Trie
	dsIP6TSet
	dsOther // a dataset type with no IP entries, in a combined dataset
)

var datasetNames = map[string]dataset{
	"auto": dsAuto, "ip4set": dsIP4Set, "ip4trie": dsIP4Trie, "ip4tset": dsIP4TSet,
	"ip6trie": dsIP6Trie, "ip6tset": dsIP6TSet,
}

// A Reader reads an rbldnsd dataset. Besides the indicators, it keeps the
// dataset's exclusions, TTL and timestamp for the caller.
type Reader struct {
	lr       *intel.LineReader
	feed     string
	param    dataset // from the params
	ds       dataset // in force; $DATASET changes it
	section  string
	def      value  // default value
	maxRange uint64 // $MAXRANGE4 in addresses; 0 for none
	ttl      time.Duration
	stamp    time.Time
	expires  time.Time
	excl     []netip.Prefix
	buf      []netip.Prefix // prefixes of the entry being read
	pending  []proxywatch.Indicator
	next     int
	err      error
}

// New returns a reader of the rbldnsd dataset in r. It reports an error
// only for unknown or invalid params.
func New(r io.Reader, opts intel.Options) (*Reader, error) {
	if err := intel.CheckParams(opts.Params, "dataset"); err != nil {
		return nil, err
	}
	rd := &Reader{lr: intel.NewLineReader(r), feed: opts.Name}
	if v, ok := opts.Params["dataset"]; ok {
		ds, known := datasetNames[strings.ToLower(strings.TrimSpace(v))]
		if !known {
			return nil, fmt.Errorf("param %q: %q is not auto, ip4set, ip4trie, ip4tset, ip6trie or ip6tset: %w",
				"dataset", v, proxywatch.ErrInvalid)
		}
		rd.param = ds
	}
	rd.ds = rd.param
	return rd, nil
}

// NewReader is New as an intel.Open.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	rd, err := New(r, opts)
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// Exclusions returns the prefixes of the exclusion entries read so far.
// The caller owns the slice.
func (r *Reader) Exclusions() []netip.Prefix {
	return append([]netip.Prefix(nil), r.excl...)
}

// TTL returns the last $TTL read, or 0 when there was none.
func (r *Reader) TTL() time.Duration { return r.ttl }

// Timestamp returns the $TIMESTAMP read, if any: when the data was made
// and when it expires; zero times when not given. rbldnsd refuses to load
// data stamped in the future and stops serving it after expiry; the
// caller decides what to do with a reader that reports either.
func (r *Reader) Timestamp() (stamp, expires time.Time) { return r.stamp, r.expires }

// Read returns the next indicator; see intel.Reader.
func (r *Reader) Read() (proxywatch.Indicator, error) {
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

// parse reads one line; ok is false for a line that is not an entry.
func (r *Reader) parse(line string) (ind proxywatch.Indicator, ok bool, perr *intel.ParseError) {
	s := strings.Trim(line, " \t")
	fail := func(reason string, err error) (proxywatch.Indicator, bool, *intel.ParseError) {
		return proxywatch.Indicator{}, false, intel.NewParseError(r.feed, r.lr.Line(), reason, line, err)
	}
	switch {
	case s == "":
		return ind, false, nil
	case s[0] == '$':
		return ind, false, r.special(s[1:], line)
	case len(s) > 1 && s[1] == '$' && (s[0] == '#' || s[0] == ':'):
		return ind, false, r.special(s[2:], line)
	case s[0] == '#' || s[0] == ';':
		return ind, false, nil
	case r.ds == dsOther:
		return fail(intel.ReasonUnsupported, fmt.Errorf("entry of a %q dataset", r.section))
	case s[0] == ':' && !strings.HasPrefix(s, "::"):
		v, err := parseValue(s, value{})
		if err != nil {
			return fail(intel.ReasonBadValue, err)
		}
		v.text = v.comment() // formatted once for every entry that uses it
		r.def = v
		return ind, false, nil
	}

	excluded := s[0] == '!'
	if excluded {
		s = strings.TrimLeft(s[1:], " \t")
	}
	ps, rest, reason, err := r.entry(s)
	if err != nil {
		return fail(reason, err)
	}
	if rest != "" && rest[0] != ':' && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '#' && rest[0] != ';' {
		return fail(intel.ReasonBadAddress, fmt.Errorf("unexpected %q after the entry", rest))
	}
	if excluded { // any value is ignored, as rbldnsd does
		r.excl = append(r.excl, ps...)
		return proxywatch.Indicator{}, false, intel.NewExclusion(r.feed, r.lr.Line(), intel.ReasonExclusion, line)
	}
	v := r.def
	if rest = strings.TrimLeft(rest, " \t"); rest != "" && rest[0] != '#' && rest[0] != ';' {
		if v, err = parseValue(rest, r.def); err != nil {
			return fail(intel.ReasonBadValue, err)
		}
	}
	ind = proxywatch.Indicator{
		Source:  proxywatch.Source{Feed: r.feed, Section: r.section, Line: r.lr.Line()},
		Comment: v.comment(),
		Expires: r.expires,
	}
	for _, p := range ps[1:] {
		more := ind
		more.Subject = proxywatch.PrefixSubject(p)
		r.pending = append(r.pending, more)
	}
	ind.Subject = proxywatch.PrefixSubject(ps[0])
	return ind, true, nil
}

// entry parses the address part of an entry for the dataset in force.
func (r *Reader) entry(s string) (ps []netip.Prefix, rest, reason string, err error) {
	ds := r.ds
	if ds == dsAuto {
		ds = dsIP4Set
		if isIP6(s) {
			ds = dsIP6Trie
		}
	}
	switch ds {
	case dsIP6Trie, dsIP6TSet:
		if !isIP6(s) {
			return nil, "", intel.ReasonBadAddress, fmt.Errorf("not an IPv6 entry in an %s dataset", dsName(ds))
		}
		p, rest, err := parseIP6(s)
		if err != nil {
			return nil, "", intel.ReasonBadAddress, err
		}
		r.buf = append(r.buf[:0], p)
		return r.buf, rest, "", nil
	}
	if isIP6(s) {
		return nil, "", intel.ReasonBadAddress, fmt.Errorf("IPv6 entry in an %s dataset", dsName(ds))
	}
	lo, hi, isRange, rest, err := parseIP4(s)
	if err != nil {
		return nil, "", intel.ReasonBadAddress, err
	}
	switch {
	case isRange && ds != dsIP4Set:
		return nil, "", intel.ReasonBadAddress, fmt.Errorf("range in an %s dataset", dsName(ds))
	case ds == dsIP4TSet && lo != hi:
		return nil, "", intel.ReasonBadAddress, fmt.Errorf("not a single address in an ip4tset dataset")
	case r.maxRange > 0 && uint64(hi-lo)+1 > r.maxRange:
		return nil, "", ReasonMaxRange, fmt.Errorf("%d addresses, $MAXRANGE4 is %d", uint64(hi-lo)+1, r.maxRange)
	}
	r.buf = appendPrefixes4(r.buf[:0], lo, hi)
	return r.buf, rest, "", nil
}

func dsName(ds dataset) string {
	for n, d := range datasetNames {
		if d == ds {
			return n
		}
	}
	return "other"
}
