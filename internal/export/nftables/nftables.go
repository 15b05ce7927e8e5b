// Package nftables writes block lists as nftables scripts for `nft -f`.
//
// The script is complete and idempotent: it creates (if missing), deletes
// and recreates one table of family inet, named Options.Name, holding
//
//   - two interval sets, v4 (ipv4_addr) and v6 (ipv6_addr), whose
//     elements are the disjoint ranges of [export.Collapse]: a range is
//     written as an address, a prefix, or first-last, and nft accepts the
//     sets because no two elements overlap;
//   - with Options.Timeout, the sets carry the timeout flag and each
//     expiring element its remaining lifetime ("timeout 3600s"), capped
//     at [MaxTimeout]; elements that never expire have no timeout;
//   - one chain hooked at prerouting with priority -300 (raw, before
//     connection tracking) that counts and drops packets whose source
//     address is in either set, for the host and for what it forwards.
//
// nft applies a script in one transaction, so loading a new export
// replaces the old table atomically, and a script that fails to load
// changes nothing. The script touches no other table.
package nftables

import (
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// MaxTimeout is the longest element timeout written: 2^31-1 ms rounded
// down to a second (24 days 20 h), the limit ipset has and that every
// kernel with set timeouts accepts. A longer remaining lifetime is
// written as MaxTimeout, so an export must be reloaded within that time
// to keep such elements.
const MaxTimeout = 2147483 * time.Second

// Exporter writes nftables scripts. The zero Exporter is ready to use.
type Exporter struct{}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of an nftables script.
func (Exporter) ContentType() string { return "text/plain; charset=utf-8" }

// Export writes the script for inds; see the package documentation and
// [export.Exporter].
func (Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	rs, st, err := export.Collapse(inds, opts, MaxTimeout)
	if err != nil {
		return st, err
	}
	for _, r := range rs {
		if r.Is4() {
			st.V4++
		} else {
			st.V6++
		}
	}
	st.Entries = len(rs)
	name := opts.SetName()
	bw := export.NewWriter(w)
	bw.WriteString("#!/usr/sbin/nft -f\n")
	bw.WriteString("# proxywatch block list taken at " + opts.Now.UTC().Format(time.RFC3339) + ": " +
		strconv.Itoa(st.V4) + " IPv4 and " + strconv.Itoa(st.V6) + " IPv6 elements.\n")
	bw.WriteString("# Load with nft -f; loading again replaces table inet " + name + " atomically.\n")
	bw.WriteString("table inet " + name + "\ndelete table inet " + name + "\n")
	bw.WriteString("table inet " + name + " {\n")
	writeSet(bw, "v4", "ipv4_addr", rs[:st.V4], opts.Timeout)
	writeSet(bw, "v6", "ipv6_addr", rs[st.V4:], opts.Timeout)
	bw.WriteString("\tchain prerouting {\n")
	bw.WriteString("\t\ttype filter hook prerouting priority -300; policy accept;\n")
	bw.WriteString("\t\tip saddr @v4 counter drop\n")
	bw.WriteString("\t\tip6 saddr @v6 counter drop\n")
	bw.WriteString("\t}\n}\n")
	st.Bytes, err = bw.Finish()
	return st, err
}

func writeSet(bw *export.Writer, name, typ string, rs []export.Range, timeout bool) {
	bw.WriteString("\tset " + name + " {\n\t\ttype " + typ + "\n\t\tflags interval")
	if timeout {
		bw.WriteString(", timeout")
	}
	bw.WriteString("\n")
	if len(rs) > 0 {
		bw.WriteString("\t\telements = {\n")
		var buf []byte
		for i, r := range rs {
			buf = append(buf[:0], "\t\t\t"...)
			buf = AppendElement(buf, r)
			if i < len(rs)-1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
			bw.Write(buf)
		}
		bw.WriteString("\t\t}\n")
	}
	bw.WriteString("\t}\n")
}

// AppendElement appends r as an nftables set element: an address, a
// prefix or a first-last range, followed by " timeout Ns" when r has a
// timeout.
func AppendElement(dst []byte, r export.Range) []byte {
	switch p, ok := r.Prefix(); {
	case r.From == r.To:
		dst = r.From.AppendTo(dst)
	case ok:
		dst = p.AppendTo(dst)
	default:
		dst = r.From.AppendTo(dst)
		dst = append(dst, '-')
		dst = r.To.AppendTo(dst)
	}
	if r.Timeout > 0 {
		dst = append(dst, " timeout "...)
		dst = strconv.AppendInt(dst, int64(r.Timeout/time.Second), 10)
		dst = append(dst, 's')
	}
	return dst
}
