package nftables_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
	"github.com/proxywatch/proxywatch/internal/export/nftables"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// decode reads the elements of a script back.
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	var es []exporttest.Entry
	in := false
	for n, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "elements = {":
			in = true
		case in && line == "}":
			in = false
		case in:
			e, err := parseElement(strings.TrimSuffix(line, ","))
			if err != nil {
				t.Fatalf("line %d %q: %v", n+1, line, err)
			}
			es = append(es, e)
		}
	}
	return es
}

func parseElement(s string) (exporttest.Entry, error) {
	var e exporttest.Entry
	s, timeout, ok := strings.Cut(s, " timeout ")
	if ok {
		secs, err := strconv.Atoi(strings.TrimSuffix(timeout, "s"))
		if err != nil || !strings.HasSuffix(timeout, "s") {
			return e, err
		}
		e.Timeout = time.Duration(secs) * time.Second
	}
	if from, to, ok := strings.Cut(s, "-"); ok {
		var err error
		if e.From, err = netip.ParseAddr(from); err != nil {
			return e, err
		}
		e.To, err = netip.ParseAddr(to)
		return e, err
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return e, err
		}
		r := export.Range{From: p.Addr(), To: lastAddr(p)}
		e.From, e.To = r.From, r.To
		return e, nil
	}
	a, err := netip.ParseAddr(s)
	e.From, e.To = a, a
	return e, err
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func suite() exporttest.Suite {
	return exporttest.Suite{
		Exporter: nftables.Exporter{}, Decode: decode, Timeouts: true, MaxTimeout: nftables.MaxTimeout, Disjoint: true,
	}
}

func TestConformance(t *testing.T) { exporttest.Run(t, suite()) }

// TestConformanceNftCheck runs the conformance suite with every script
// checked by nft -c inside a test namespace.
func TestConformanceNftCheck(t *testing.T) {
	itest.Need(t, "nft")
	ns := exporttest.NewNamespace(t)
	s := suite()
	s.Check = func(t *testing.T, doc []byte) {
		t.Helper()
		if _, err := ns.Run(t.Context(), doc, "nft", "-c", "-f", "-"); err != nil {
			t.Errorf("nft -c rejects the export: %v\n%s", err, doc)
		}
	}
	exporttest.Run(t, s)
}

func TestScript(t *testing.T) {
	inds := []proxywatch.Indicator{
		exporttest.Ind("192.0.2.0/24", proxywatch.KindC2, 90, time.Hour),
		exporttest.Ind("192.0.2.7", proxywatch.KindC2, 90, 0),
		exporttest.Ind("198.51.100.0/25", proxywatch.KindOpenProxy, 50, 0),
		exporttest.Ind("198.51.100.128/26", proxywatch.KindOpenProxy, 50, 0),
		exporttest.Ind("2001:db8::/32", proxywatch.KindOpenProxy, 50, 40*24*time.Hour),
	}
	var b bytes.Buffer
	st, err := nftables.Exporter{}.Export(&b, slices.Values(inds), export.Options{Now: exporttest.Now, Timeout: true, Name: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	want := `#!/usr/sbin/nft -f
# proxywatch block list taken at 2026-03-01T12:00:00Z: 4 IPv4 and 1 IPv6 elements.
# Load with nft -f; loading again replaces table inet pw atomically.
table inet pw
delete table inet pw
table inet pw {
	set v4 {
		type ipv4_addr
		flags interval, timeout
		elements = {
			192.0.2.0-192.0.2.6 timeout 3600s,
			192.0.2.7,
			192.0.2.8-192.0.2.255 timeout 3600s,
			198.51.100.0-198.51.100.191
		}
	}
	set v6 {
		type ipv6_addr
		flags interval, timeout
		elements = {
			2001:db8::/32 timeout 2147483s
		}
	}
	chain prerouting {
		type filter hook prerouting priority -300; policy accept;
		ip saddr @v4 counter drop
		ip6 saddr @v6 counter drop
	}
}
`
	if got := b.String(); got != want {
		t.Errorf("Export() =\n%s\nwant\n%s", got, want)
	}
	if st.Entries != 5 || st.V4 != 4 || st.V6 != 1 || st.Bytes != int64(b.Len()) {
		t.Errorf("Export() stats = %+v", st)
	}
}

// TestLoadAndDrop loads an export into a namespace behind a veth pair and
// checks that listed sources are dropped and others pass, then that
// loading a second export replaces the first.
func TestLoadAndDrop(t *testing.T) {
	itest.Need(t, "nft")
	l := exporttest.NewLink(t)
	listed4, other4 := netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("198.51.100.5")
	listed6, other6 := netip.MustParseAddr("2001:db8:1::5"), netip.MustParseAddr("2001:db8:2::5")
	for _, a := range []netip.Addr{listed4, other4, listed6, other6} {
		l.AddClient(t, a)
		if l.Blocked(t, a) {
			t.Fatalf("connect from %v fails before any rule is loaded", a)
		}
	}
	inds := []proxywatch.Indicator{
		exporttest.Ind("203.0.113.0/24", proxywatch.KindOpenProxy, 80, time.Hour),
		exporttest.Ind("203.0.113.5", proxywatch.KindC2, 90, 0),
		exporttest.Ind("2001:db8:1::/48", proxywatch.KindOpenProxy, 80, 2*time.Hour),
		exporttest.Ind("198.51.100.0/24", proxywatch.KindOpenProxy, 80, 0), // allowlisted below
	}
	opts := export.Options{Now: exporttest.Now, Timeout: true, Name: "pwtest",
		Allowlist: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	load := func(inds []proxywatch.Indicator) {
		t.Helper()
		var b bytes.Buffer
		if _, err := (nftables.Exporter{}).Export(&b, slices.Values(inds), opts); err != nil {
			t.Fatal(err)
		}
		l.Server.MustRun(t, b.Bytes(), "nft", "-f", "-")
	}
	load(inds)
	load(inds) // idempotent
	for _, c := range []struct {
		src     netip.Addr
		blocked bool
	}{{listed4, true}, {other4, false}, {listed6, true}, {other6, false}} {
		if got := l.Blocked(t, c.src); got != c.blocked {
			t.Errorf("connect from %v blocked = %v, want %v", c.src, got, c.blocked)
		}
	}
	if n := dropped(t, l.Server); n == 0 {
		t.Errorf("drop counters = 0 after blocked connections")
	}
	if got := setElements(t, l.Server, "pwtest", "v4"); len(got) != 3 {
		t.Errorf("set v4 holds %v, want 3 elements", got)
	}
	// A new export without the IPv4 listings replaces the table.
	load(inds[2:])
	if l.Blocked(t, listed4) {
		t.Errorf("connect from %v blocked after its listing was withdrawn", listed4)
	}
	if !l.Blocked(t, listed6) {
		t.Errorf("connect from %v not blocked after reload", listed6)
	}
}

var counterRE = regexp.MustCompile(`counter packets (\d+)`)

// dropped returns the sum of the drop rules' packet counters.
func dropped(t *testing.T, ns *exporttest.Namespace) int {
	t.Helper()
	out := ns.MustRun(t, nil, "nft", "list", "chain", "inet", "pwtest", "prerouting")
	n := 0
	for _, m := range counterRE.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// setElements returns the elements of a loaded set, as nft -j lists them.
func setElements(t *testing.T, ns *exporttest.Namespace, table, set string) []string {
	t.Helper()
	out := ns.MustRun(t, nil, "nft", "-j", "list", "set", "inet", table, set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j list set: %v", err)
	}
	var elems []string
	for _, o := range doc.Nftables {
		if o.Set != nil {
			for _, e := range o.Set.Elem {
				elems = append(elems, string(e))
			}
		}
	}
	return elems
}
