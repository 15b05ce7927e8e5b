package export

import (
	"bufio"
	"cmp"
	"io"
	"iter"
	"net/netip"
	"slices"
	"strings"

	"github.com/proxywatch/proxywatch"
)

// Select returns the indicators of inds that opts selects (see [Options]),
// one by one, for the formats that describe each indicator (CSV, STIX)
// rather than the addresses they cover. The allowlist is carved out: an
// indicator that overlaps it is replaced by copies of itself, one per
// prefix of the fewest that cover what remains, and one wholly inside it
// is left out. Subjects are masked and unmapped, and confidences above
// proxywatch.MaxConfidence lowered to it. The result is sorted by
// [Compare]. It reports an error only for invalid options.
//
// Stats.Entries, V4, V6 and Bytes are left for the caller.
func Select(inds iter.Seq[proxywatch.Indicator], opts Options) ([]proxywatch.Indicator, Stats, error) {
	var st Stats
	if err := opts.Validate(); err != nil {
		return nil, st, err
	}
	al := newAllowlist(opts.Allowlist)
	var out []proxywatch.Indicator
	var parts []netip.Prefix
	for ind := range inds {
		p, ok := selected(&ind, &opts, &st)
		if !ok {
			continue
		}
		ind.Confidence = min(ind.Confidence, proxywatch.MaxConfidence)
		v6 := !p.Addr().Is4()
		s := prefixSpan(p)
		any, whole := overlap(al.family(v6), s)
		switch {
		case whole:
			st.Allowlisted++
			continue
		case !any:
			ind.Subject = proxywatch.PrefixSubject(p)
			out = append(out, ind)
			continue
		}
		st.Carved++
		parts = parts[:0]
		subtract(al.family(v6), s, func(r span) { parts = appendPrefixes(parts, r, v6) })
		for _, q := range parts {
			c := ind
			c.Subject = proxywatch.PrefixSubject(q)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b proxywatch.Indicator) int { return Compare(&a, &b) })
	return out, st, nil
}

// Compare orders indicators for export: by prefix (IPv4 before IPv6, then
// address, then shorter prefix first), kind, feed, port, protocol,
// confidence, then the remaining fields, so that indicators that differ
// in anything an export writes never compare equal.
func Compare(a, b *proxywatch.Indicator) int {
	pa, pb := a.Subject.Prefix, b.Subject.Prefix
	if c := pa.Addr().Compare(pb.Addr()); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(pa.Bits(), pb.Bits()),
		cmp.Compare(a.Kind, b.Kind),
		strings.Compare(a.Source.Feed, b.Source.Feed),
		cmp.Compare(a.Port, b.Port),
		strings.Compare(a.Proto, b.Proto),
		cmp.Compare(a.Confidence, b.Confidence),
		a.FirstSeen.Compare(b.FirstSeen),
		a.LastSeen.Compare(b.LastSeen),
		a.Expires.Compare(b.Expires),
		slices.Compare(a.Tags, b.Tags),
		strings.Compare(a.Comment, b.Comment),
		strings.Compare(a.Source.Section, b.Source.Section),
		cmp.Compare(a.Source.Line, b.Source.Line),
	)
}

// A Writer buffers an export's output and counts the bytes that reach
// the underlying writer. Its write methods never fail: the first error of
// the underlying writer is kept and returned by Finish, and writing
// after it does nothing. The zero Writer is not usable; see NewWriter.
type Writer struct {
	*bufio.Writer
	c *counter
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	c := &counter{w: w}
	return &Writer{Writer: bufio.NewWriterSize(c, 64<<10), c: c}
}

// Finish flushes the buffer and returns the number of bytes written to
// the underlying writer and its first error.
func (w *Writer) Finish() (int64, error) {
	err := w.Flush()
	return w.c.n, err
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Values adapts a sequence of indicators and errors, such as a store's
// Indicators, to the sequence an Exporter reads. It ends at the first
// error and stores it in *errp, which the caller must check after Export:
// an export whose input failed is incomplete and must be discarded.
func Values(seq iter.Seq2[proxywatch.Indicator, error], errp *error) iter.Seq[proxywatch.Indicator] {
	return func(yield func(proxywatch.Indicator) bool) {
		for ind, err := range seq {
			if err != nil {
				*errp = err
				return
			}
			if !yield(ind) {
				return
			}
		}
	}
}
