// Package rbldnsd exports indicators as an rbldnsd zone: one "combined"
// dataset holding an ip4trie and an ip6trie, which rbldnsd serves as is:
//
//	rbldnsd -u rbldns -b 0.0.0.0/53 bl.example.org:combined:proxywatch.rbl
//
// Every entry carries the A record and TXT record proxywatch's own DNSBL
// server answers for it (the codes and TXT template of dnsblcode.go), so
// that rbldnsd and `proxywatch serve` answer every query alike; the
// differential test in internal/dnsbl holds them to it. Allowlisted ranges
// are carved out with rbldnsd's "!" exclusions, and the RFC 5782 test
// points are written as the server answers them.
//
// The package only formats; choosing what to export is the caller's.
package rbldnsd

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// SOA timers, as the DNSBL server writes them.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 604800
)

// Options says what to export and how.
type Options struct {
	// Now is when expiry is tested; the zero time means time.Now().
	Now time.Time
	// MinConfidence leaves out indicators below it, as the DNSBL does.
	MinConfidence uint8
	// Allowlist holds the ranges never listed. They become "!" exclusions,
	// and indicators inside them are left out.
	Allowlist []netip.Prefix
	// Kinds are the kinds exported; empty means every kind.
	Kinds []proxywatch.Kind
	// TXT is the zone's TXT template (proxywatch.DNSBLTemplate); empty
	// means proxywatch.DNSBLDefaultTXT.
	TXT string
	// Zone, when set (e.g. "bl.example.org."), adds $SOA and $NS lines
	// like the DNSBL server's, with Nameservers (default "localhost."),
	// Hostmaster (default "hostmaster." + Zone), TTL and NegativeTTL.
	Zone        string
	Nameservers []string
	Hostmaster  string
	// TTL is the time to live of answers ($TTL); zero leaves rbldnsd's -t.
	TTL time.Duration
	// NegativeTTL is the SOA minimum; zero means one minute.
	NegativeTTL time.Duration
}

// Stats counts what Write wrote.
type Stats struct {
	IPv4, IPv6 int // entries, besides the test points
	Exclusions int // allowlisted ranges written as "!" entries
	Skipped    int // indicators left out: expired, below the minimum, of another kind, not a prefix or allowlisted
}

// An entry is the indicator that answers for one prefix.
type entry struct {
	prefix netip.Prefix
	kind   proxywatch.Kind
	conf   uint8
	feed   string
}

// The RFC 5782 test points. Their IPv6 forms are IPv4-mapped, which
// rbldnsd looks up in the ip4trie, so they need no entries of their own.
var (
	testListed   = netip.MustParsePrefix("127.0.0.2/32")
	testUnlisted = netip.MustParsePrefix("127.0.0.1/32")
)

// Write writes inds as an rbldnsd combined dataset to w. Of the indicators
// whose subject is a prefix, it leaves out those expired at opts.Now,
// below opts.MinConfidence, of a kind not in opts.Kinds, or inside an
// allowlisted range; of those left with the same prefix, the one
// proxywatch.CompareDNSBL puts first answers. It reports ErrInvalid for
// invalid options and the writer's error, if any.
func Write(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts Options) (Stats, error) {
	var st Stats
	txt := opts.TXT
	if txt == "" {
		txt = proxywatch.DNSBLDefaultTXT
	}
	tmpl, err := proxywatch.ParseDNSBLTemplate(txt)
	if err != nil {
		return st, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	allow := normalize(opts.Allowlist)
	best := map[netip.Prefix]entry{}
	for ind := range inds {
		p := ind.Subject.Prefix
		if ind.Subject.Type() != proxywatch.SubjectPrefix || ind.ExpiredAt(now) ||
			ind.Confidence < opts.MinConfidence || !serves(opts.Kinds, ind.Kind) {
			st.Skipped++
			continue
		}
		p = unmap(p)
		if p == testListed || p == testUnlisted || inside(p, allow) {
			st.Skipped++
			continue
		}
		e := entry{prefix: p, kind: ind.Kind, conf: ind.Confidence, feed: ind.Source.Feed}
		if old, ok := best[p]; ok {
			st.Skipped++
			if proxywatch.CompareDNSBL(old.kind, old.conf, old.feed, e.kind, e.conf, e.feed) <= 0 {
				continue
			}
		}
		best[p] = e
	}
	var v4, v6 []line
	for _, e := range best {
		l := line{prefix: e.prefix, value: value(tmpl, &e)}
		if e.prefix.Addr().Is4() {
			v4 = append(v4, l)
		} else {
			v6 = append(v6, l)
		}
	}
	st.IPv4, st.IPv6 = len(v4), len(v6)

	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "# proxywatch DNSBL export at %s: %d IPv4 and %d IPv6 entries\n",
		now.UTC().Format(time.RFC3339), st.IPv4, st.IPv6)
	if opts.Zone != "" {
		writeSOA(bw, opts, now)
	}
	if opts.TTL > 0 {
		fmt.Fprintf(bw, "$TTL %d\n", int64(opts.TTL/time.Second))
	}
	bw.WriteString("$DATASET ip4trie @\n")
	testTXT := proxywatch.DNSBLTestTXT
	if tmpl.IsZero() {
		testTXT = ""
	}
	fmt.Fprintf(bw, "%s :%d:%s\n", entryText(testListed), proxywatch.DNSBLTestCode, testTXT)
	fmt.Fprintf(bw, "!%s\n", entryText(testUnlisted))
	for _, p := range allow {
		if p.Addr().Is4() && p != testListed && p != testUnlisted {
			fmt.Fprintf(bw, "!%s\n", entryText(p))
			st.Exclusions++
		}
	}
	writeLines(bw, v4)
	bw.WriteString("$DATASET ip6trie @\n")
	for _, p := range allow {
		if p.Addr().Is6() {
			fmt.Fprintf(bw, "!%s\n", entryText(p))
			st.Exclusions++
		}
	}
	writeLines(bw, v6)
	return st, bw.Flush()
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
func writeLines(bw *bufio.Writer, ls []line) {
	slices.SortFunc(ls, func(a, b line) int {
		if c := strings.Compare(a.value, b.value); c != 0 {
			return c
		}
		return cmpPrefix(a.prefix, b.prefix)
	})
	for i := 0; i < len(ls); {
		j := i + 1
		for j < len(ls) && ls[j].value == ls[i].value {
			j++
		}
		if j-i == 1 {
			bw.WriteString(entryText(ls[i].prefix))
			bw.WriteByte(' ')
			bw.WriteString(ls[i].value)
			bw.WriteByte('\n')
		} else {
			bw.WriteString(ls[i].value)
			bw.WriteByte('\n')
			for _, l := range ls[i:j] {
				bw.WriteString(entryText(l.prefix))
				bw.WriteByte('\n')
			}
		}
		i = j
	}
}

func cmpPrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// value returns the ":code:TXT" rbldnsd value of e, the TXT with "$" for
// the queried address and cut where rbldnsd cuts it.
func value(t proxywatch.DNSBLTemplate, e *entry) string {
	b := make([]byte, 0, 96)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(proxywatch.DNSBLCode(e.kind)), 10)
	b = append(b, ':')
	n := len(b)
	b = t.AppendTXT(b, []byte("$"), &proxywatch.DNSBLEntry{Kind: e.kind, Feed: e.feed, Prefix: e.prefix, Confidence: e.conf})
	if len(b)-n > proxywatch.DNSBLMaxTXT {
		b = b[:n+proxywatch.DNSBLMaxTXT]
	}
	return string(b)
}

// entryText writes a prefix as rbldnsd's tries read it: a bare address
// for a single address, CIDR otherwise.
func entryText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func writeSOA(bw *bufio.Writer, opts Options, now time.Time) {
	zone := strings.ToLower(opts.Zone)
	ns := opts.Nameservers
	if len(ns) == 0 {
		ns = []string{"localhost."}
	}
	mbox := opts.Hostmaster
	if mbox == "" {
		mbox = "hostmaster." + zone
	}
	ttl := int64(opts.TTL / time.Second)
	neg := int64(opts.NegativeTTL / time.Second)
	if neg == 0 {
		neg = 60
	}
	fmt.Fprintf(bw, "$SOA %d %s %s %d %d %d %d %d\n", ttl, ns[0], mbox, uint32(now.Unix()), soaRefresh, soaRetry, soaExpire, neg)
	fmt.Fprintf(bw, "$NS %d %s\n", ttl, strings.Join(ns, " "))
}

func serves(kinds []proxywatch.Kind, k proxywatch.Kind) bool {
	return len(kinds) == 0 || slices.Contains(kinds, k)
}

func unmap(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// normalize returns the valid prefixes of ps unmapped, masked, sorted
// and without duplicates.
func normalize(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.IsValid() {
			out = append(out, unmap(p))
		}
	}
	slices.SortFunc(out, cmpPrefix)
	return slices.Compact(out)
}

// inside reports whether p lies within one of the ranges in allow.
func inside(p netip.Prefix, allow []netip.Prefix) bool {
	for _, a := range allow {
		if a.Bits() <= p.Bits() && a.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
