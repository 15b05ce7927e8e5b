// Package rbldnsd exports indicators as an rbldnsd zone: one "combined"
// dataset holding an ip4trie and an ip6trie, which rbldnsd serves as is:
//
//	rbldnsd -u rbldns -b 0.0.0.0/53 bl.example.org:combined:proxywatch.rbl
//
// Every entry carries the A record and the TXT record proxywatch's own
// DNSBL server answers for it (the codes and the TXT template of
// dnsblcode.go), so that rbldnsd and `proxywatch serve` answer every query
// alike; the differential test in internal/dnsbl holds them to it.
//
// rbldnsd answers from the longest prefix that matches, as the DNSBL
// server does. Each prefix is written once, with the value of the
// indicator that answers for it (proxywatch.CompareDNSBL). The allowlist
// is carved out as in every export: an indicator overlapping it is cut
// into the prefixes around it, each keeping the indicator's value (its
// TXT names the indicator's own prefix), and where two cut pieces
// coincide the one cut from the more specific indicator wins, so that the
// longest match is still the most specific indicator. The RFC 5782 test
// points are written as the server answers them: 127.0.0.2 listed with
// code 2, 127.0.0.1 excluded ("!"); their IPv6 forms are IPv4-mapped,
// which rbldnsd answers from the ip4trie.
package rbldnsd

import (
	"fmt"
	"io"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// SOA timers, as the DNSBL server writes them.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 604800
)

// Exporter writes rbldnsd zones. Its fields are the DNSBL zone's settings
// (internal/dnsbl's Zone), so that the export answers as that zone does.
// The zero Exporter writes the default TXT template and no $SOA, $NS or
// $TTL (rbldnsd's -t then applies).
type Exporter struct {
	// TXT is the zone's TXT template (proxywatch.DNSBLTemplate); empty
	// means proxywatch.DNSBLDefaultTXT.
	TXT string
	// Zone, when set (e.g. "bl.example.org."), adds $SOA and $NS lines
	// like the DNSBL server's: Nameservers (default "localhost."),
	// Hostmaster (default "hostmaster." + Zone), NegativeTTL (the SOA
	// minimum, default one minute). The serial is Options.Now.
	Zone        string
	Nameservers []string
	Hostmaster  string
	NegativeTTL time.Duration
	// TTL, when set, is the time to live of answers ($TTL).
	TTL time.Duration
}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of an rbldnsd zone.
func (Exporter) ContentType() string { return "text/plain; charset=utf-8" }

// The RFC 5782 test points.
var (
	testListed   = netip.MustParsePrefix("127.0.0.2/32")
	testUnlisted = netip.MustParsePrefix("127.0.0.1/32")
)

// An entry is what answers for one prefix of the zone: the indicator's
// own prefix (orig; the written prefix is a piece of it when carved), its
// kind, confidence and feed.
type entry struct {
	orig netip.Prefix
	kind proxywatch.Kind
	conf uint8
	feed string
}

// better reports whether a answers in preference to b for the same
// written prefix: the more specific indicator, then CompareDNSBL.
func (a *entry) better(b *entry) bool {
	if a.orig.Bits() != b.orig.Bits() {
		return a.orig.Bits() > b.orig.Bits()
	}
	return proxywatch.CompareDNSBL(a.kind, a.conf, a.feed, b.kind, b.conf, b.feed) < 0
}

// Export writes the zone for inds; see the package documentation and
// [export.Exporter]. Stats.Entries counts the prefixes written, not the
// test points.
func (e Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	var st export.Stats
	if err := opts.Validate(); err != nil {
		return st, err
	}
	txt := e.TXT
	if txt == "" {
		txt = proxywatch.DNSBLDefaultTXT
	}
	tmpl, err := proxywatch.ParseDNSBLTemplate(txt)
	if err != nil {
		return st, err
	}
	allow := normalize(opts.Allowlist)
	best := map[netip.Prefix]entry{}
	put := func(p netip.Prefix, en entry) {
		if p == testListed || p == testUnlisted {
			return // the zone's own answer
		}
		if old, ok := best[p]; !ok || en.better(&old) {
			best[p] = en
		}
	}
	for ind := range inds {
		p, ok := selected(&ind, &opts, &st)
		if !ok {
			continue
		}
		en := entry{orig: p, kind: ind.Kind, conf: min(ind.Confidence, proxywatch.MaxConfidence), feed: ind.Source.Feed}
		over := overlapping(p, allow)
		if len(over) == 0 {
			put(p, en)
			continue
		}
		pieces := intel.Carve(p, over)
		if len(pieces) == 0 {
			st.Allowlisted++
			continue
		}
		st.Carved++
		for _, q := range pieces {
			put(q, en)
		}
	}
	var v4, v6 []line
	for p, en := range best {
		l := line{prefix: p, value: value(tmpl, &en)}
		if p.Addr().Is4() {
			v4 = append(v4, l)
		} else {
			v6 = append(v6, l)
		}
	}
	st.V4, st.V6 = len(v4), len(v6)
	st.Entries = st.V4 + st.V6

	bw := export.NewWriter(w)
	fmt.Fprintf(bw, "# proxywatch DNSBL zone at %s: %d IPv4 and %d IPv6 entries\n",
		opts.Now.UTC().Format(time.RFC3339), st.V4, st.V6)
	if e.Zone != "" {
		e.writeSOA(bw, opts.Now)
	}
	if e.TTL > 0 {
		fmt.Fprintf(bw, "$TTL %d\n", int64(e.TTL/time.Second))
	}
	bw.WriteString("$DATASET ip4trie @\n")
	testTXT := proxywatch.DNSBLTestTXT
	if tmpl.IsZero() {
		testTXT = ""
	}
	fmt.Fprintf(bw, "%s :%d:%s\n", entryText(testListed), proxywatch.DNSBLTestCode, testTXT)
	fmt.Fprintf(bw, "!%s\n", entryText(testUnlisted))
	writeLines(bw, v4)
	bw.WriteString("$DATASET ip6trie @\n")
	writeLines(bw, v6)
	st.Bytes, err = bw.Finish()
	return st, err
}

// selected reports whether opts selects ind, as every export selects
// (export.Options), counting why not in st, and returns ind's prefix,
// masked and unmapped.
func selected(ind *proxywatch.Indicator, opts *export.Options, st *export.Stats) (netip.Prefix, bool) {
	st.Indicators++
	p := ind.Subject.Prefix
	switch {
	case ind.Subject.Type() != proxywatch.SubjectPrefix || !p.IsValid() || p.Addr().Is4In6() && p.Bits() < 96:
		// A mapped prefix shorter than /96 mixes families; the verdict
		// table refuses it too.
		st.NotPrefix++
		return p, false
	case ind.ExpiredAt(opts.Now):
		st.Expired++
		return p, false
	case ind.Confidence < opts.MinConfidence:
		st.BelowConfidence++
		return p, false
	case len(opts.Kinds) > 0 && !slices.Contains(opts.Kinds, ind.Kind):
		st.OtherKind++
		return p, false
	}
	st.Selected++
	return unmap(p), true
}

// A line is one entry to write: its prefix and its ":code:TXT" value.
type line struct {
	prefix netip.Prefix
	value  string
}

// writeLines writes ls grouped by value: a group of several entries
// becomes a default-value line (":8:...") followed by the bare prefixes,
// which keeps a list of one kind from one feed near rbldnsd's own size; a
// lone entry carries its value on its line.
func writeLines(bw *export.Writer, ls []line) {
	slices.SortFunc(ls, func(a, b line) int {
		if c := strings.Compare(a.value, b.value); c != 0 {
			return c
		}
		return cmpPrefix(a.prefix, b.prefix)
	})
	var buf []byte
	for i := 0; i < len(ls); {
		j := i + 1
		for j < len(ls) && ls[j].value == ls[i].value {
			j++
		}
		buf = buf[:0]
		if j-i == 1 {
			buf = appendEntry(buf, ls[i].prefix)
			buf = append(buf, ' ')
			buf = append(buf, ls[i].value...)
			buf = append(buf, '\n')
		} else {
			buf = append(buf, ls[i].value...)
			buf = append(buf, '\n')
			for _, l := range ls[i:j] {
				buf = appendEntry(buf, l.prefix)
				buf = append(buf, '\n')
			}
		}
		bw.Write(buf)
		i = j
	}
}

func cmpPrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// value returns the ":code:TXT" rbldnsd value of en, the TXT with "$" for
// the queried address and cut where rbldnsd cuts it.
func value(t proxywatch.DNSBLTemplate, en *entry) string {
	b := make([]byte, 0, 96)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(proxywatch.DNSBLCode(en.kind)), 10)
	b = append(b, ':')
	n := len(b)
	b = t.AppendTXT(b, []byte("$"), &proxywatch.DNSBLEntry{Kind: en.kind, Feed: en.feed, Prefix: en.orig, Confidence: en.conf})
	if len(b)-n > proxywatch.DNSBLMaxTXT {
		b = b[:n+proxywatch.DNSBLMaxTXT]
	}
	return string(b)
}

// appendEntry writes a prefix as rbldnsd's tries read it: a bare address
// for a single address, CIDR otherwise.
func appendEntry(b []byte, p netip.Prefix) []byte {
	if p.IsSingleIP() {
		return p.Addr().AppendTo(b)
	}
	return p.AppendTo(b)
}

func entryText(p netip.Prefix) string { return string(appendEntry(nil, p)) }

func (e Exporter) writeSOA(bw *export.Writer, now time.Time) {
	zone := strings.ToLower(e.Zone)
	ns := e.Nameservers
	if len(ns) == 0 {
		ns = []string{"localhost."}
	}
	mbox := e.Hostmaster
	if mbox == "" {
		mbox = "hostmaster." + zone
	}
	ttl := int64(e.TTL / time.Second)
	neg := int64(e.NegativeTTL / time.Second)
	if neg == 0 {
		neg = 60
	}
	fmt.Fprintf(bw, "$SOA %d %s %s %d %d %d %d %d\n", ttl, strings.ToLower(ns[0]), strings.ToLower(mbox),
		uint32(now.Unix()), soaRefresh, soaRetry, soaExpire, neg)
	fmt.Fprintf(bw, "$NS %d %s\n", ttl, strings.ToLower(strings.Join(ns, " ")))
}

func unmap(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return netip.PrefixFrom(p.Addr().WithZone(""), p.Bits()).Masked()
}

// normalize returns the valid prefixes of ps unmapped and masked.
func normalize(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.IsValid() {
			out = append(out, unmap(p))
		}
	}
	return out
}

// overlapping returns the ranges of allow that overlap p.
func overlapping(p netip.Prefix, allow []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range allow {
		if a.Overlaps(p) {
			out = append(out, a)
		}
	}
	return out
}
