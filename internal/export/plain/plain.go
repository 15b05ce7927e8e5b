// Package plain writes block lists as plain text: one address or prefix
// per line, nothing else.
//
// The lines are the fewest prefixes that cover the selected indicators'
// addresses outside the allowlist (see [export.Collapse]), IPv4 first,
// each family in address order. A single address (/32 or /128) is written
// bare. There are no comments and no timeouts, so any tool that reads one
// address or CIDR per line can load the list; Options.Timeout is ignored,
// and an empty selection gives an empty file.
package plain

import (
	"io"
	"iter"
	"net/netip"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// Exporter writes plain lists. The zero Exporter is ready to use.
type Exporter struct{}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of a plain list.
func (Exporter) ContentType() string { return "text/plain; charset=utf-8" }

// Export writes the list for inds; see the package documentation and
// [export.Exporter].
func (Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	opts.Timeout = false
	rs, st, err := export.Collapse(inds, opts, 0)
	if err != nil {
		return st, err
	}
	bw := export.NewWriter(w)
	var ps []netip.Prefix
	var buf []byte
	for _, r := range rs {
		ps = r.AppendPrefixes(ps[:0])
		for _, p := range ps {
			if p.IsSingleIP() {
				buf = p.Addr().AppendTo(buf[:0])
			} else {
				buf = p.AppendTo(buf[:0])
			}
			buf = append(buf, '\n')
			bw.Write(buf)
			if p.Addr().Is4() {
				st.V4++
			} else {
				st.V6++
			}
		}
	}
	st.Entries = st.V4 + st.V6
	st.Bytes, err = bw.Finish()
	return st, err
}
