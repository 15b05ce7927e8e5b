// Package ipset writes block lists in the format of `ipset restore`.
//
// The document defines two sets of type hash:net, NAME-v4 (family inet)
// and NAME-v6 (family inet6), NAME being Options.Name, holding the fewest
// prefixes that cover the disjoint ranges of [export.Collapse]. With
// Options.Timeout the sets support timeouts and each entry carries its
// remaining lifetime, capped at [MaxTimeout], or "timeout 0" (permanent)
// when it never expires.
//
// Loading is idempotent and replaces each set's contents atomically, so
// iptables or nftables rules that match the sets never see them half
// filled:
//
//	create NAME-v4 hash:net family inet hashsize H maxelem M timeout 0 -exist
//	destroy NAME-v4-new -exist
//	create NAME-v4-new hash:net family inet hashsize H maxelem M timeout 0
//	add NAME-v4-new 192.0.2.0/24 timeout 3600
//	swap NAME-v4-new NAME-v4
//	destroy NAME-v4-new
//
// The first line creates the set the first time and is a no-op after; the
// new contents are built under a temporary name and swapped in. hashsize
// is the power of two at or above half the entries (at least 64), and
// maxelem the smallest of 65536, 262144, 1048576, ... (powers of four)
// that leaves a quarter of room above the entries. ipset compares maxelem
// and the timeout setting, not hashsize, when "create -exist" meets an
// existing set, so an export whose maxelem class or timeout setting
// differs from the loaded set's fails at its first line, before anything
// changes; the set must then be destroyed (or renamed) once.
//
// The sets alone drop nothing; a rule matches them, e.g.
// "iptables -I INPUT -m set --match-set NAME-v4 src -j DROP" and the
// same with ip6tables and NAME-v6.
package ipset

import (
	"io"
	"iter"
	"math/bits"
	"net/netip"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// MaxTimeout is the longest timeout ipset accepts, 2147483 seconds (24
// days 20 h). A longer remaining lifetime is written as MaxTimeout, so an
// export must be reloaded within that time to keep such entries.
const MaxTimeout = 2147483 * time.Second

// Exporter writes ipset restore files. The zero Exporter is ready to use.
type Exporter struct{}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of an ipset restore file.
func (Exporter) ContentType() string { return "text/plain; charset=utf-8" }

// Export writes the restore file for inds; see the package documentation
// and [export.Exporter].
func (Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	rs, st, err := export.Collapse(inds, opts, MaxTimeout)
	if err != nil {
		return st, err
	}
	// Ranges are sorted IPv4 first; n4 is where IPv6 starts.
	n4 := 0
	for n4 < len(rs) && rs[n4].Is4() {
		n4++
	}
	var scratch []netip.Prefix
	st.V4 = eachPrefix(rs[:n4], &scratch, func(netip.Prefix, time.Duration) {})
	st.V6 = eachPrefix(rs[n4:], &scratch, func(netip.Prefix, time.Duration) {})
	st.Entries = st.V4 + st.V6
	name := opts.SetName()
	bw := export.NewWriter(w)
	bw.WriteString("# proxywatch block list taken at " + opts.Now.UTC().Format(time.RFC3339) + ": " +
		strconv.Itoa(st.V4) + " IPv4 and " + strconv.Itoa(st.V6) + " IPv6 entries.\n")
	bw.WriteString("# Load with ipset restore; loading again swaps in the new contents of " + name + "-v4 and " + name + "-v6.\n")
	header := func(set, family string, n int) string {
		s := set + " hash:net family " + family + " hashsize " + strconv.FormatUint(HashSize(n), 10) +
			" maxelem " + strconv.FormatUint(MaxElem(n), 10)
		if opts.Timeout {
			s += " timeout 0"
		}
		return s
	}
	for _, f := range []struct {
		set, family string
		rs          []export.Range
		n           int
	}{{name + "-v4", "inet", rs[:n4], st.V4}, {name + "-v6", "inet6", rs[n4:], st.V6}} {
		tmp := f.set + "-new"
		bw.WriteString("create " + header(f.set, f.family, f.n) + " -exist\n")
		bw.WriteString("destroy " + tmp + " -exist\n")
		bw.WriteString("create " + header(tmp, f.family, f.n) + "\n")
		prefix := "add " + tmp + " "
		var buf []byte
		eachPrefix(f.rs, &scratch, func(p netip.Prefix, timeout time.Duration) {
			buf = append(buf[:0], prefix...)
			buf = p.AppendTo(buf)
			if opts.Timeout {
				buf = append(buf, " timeout "...)
				buf = strconv.AppendInt(buf, int64(timeout/time.Second), 10)
			}
			buf = append(buf, '\n')
			bw.Write(buf)
		})
		bw.WriteString("swap " + tmp + " " + f.set + "\n")
		bw.WriteString("destroy " + tmp + "\n")
	}
	st.Bytes, err = bw.Finish()
	return st, err
}

// eachPrefix calls fn with each prefix of the ranges rs, and its timeout,
// and returns how many there were. hash:net takes no /0, so a /0 is given
// as its two halves.
func eachPrefix(rs []export.Range, scratch *[]netip.Prefix, fn func(netip.Prefix, time.Duration)) int {
	n := 0
	for _, r := range rs {
		*scratch = r.AppendPrefixes((*scratch)[:0])
		for _, p := range *scratch {
			if p.Bits() == 0 {
				fn(netip.PrefixFrom(p.Addr(), 1), r.Timeout)
				fn(netip.PrefixFrom(lastHalf(p.Addr()), 1), r.Timeout)
				n += 2
				continue
			}
			fn(p, r.Timeout)
			n++
		}
	}
	return n
}

// lastHalf returns the first address of the upper half of a's family.
func lastHalf(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom4([4]byte{0x80})
	}
	return netip.AddrFrom16([16]byte{0x80})
}

// HashSize returns the hashsize written for a set of n entries: the power
// of two at or above n/2, at least 64.
func HashSize(n int) uint64 {
	h := uint64(64)
	if half := uint64(n+1) / 2; half > h {
		h = 1 << bits.Len64(half-1)
	}
	return h
}

// MaxElem returns the maxelem written for a set of n entries: the
// smallest of 65536 times a power of four that is at least n + n/4, at
// most 2^32-1.
func MaxElem(n int) uint64 {
	m, want := uint64(65536), uint64(n)+uint64(n)/4
	for m < want && m < 1<<32 {
		m *= 4
	}
	return min(m, 1<<32-1)
}
