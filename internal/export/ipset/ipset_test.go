package ipset_test

import (
	"bytes"
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
	"github.com/proxywatch/proxywatch/internal/export/ipset"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// decode reads the add lines of a restore file back, checking that each
// set is created, filled under its temporary name and swapped in.
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	var es []exporttest.Entry
	var ops []string
	for n, line := range strings.Split(strings.TrimSuffix(string(doc), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		ops = append(ops, f[0]+" "+f[1])
		if f[0] != "add" {
			continue
		}
		if len(f) != 3 && !(len(f) == 5 && f[3] == "timeout") {
			t.Fatalf("line %d %q: want add SET PREFIX [timeout N]", n+1, line)
		}
		p, err := netip.ParsePrefix(f[2])
		if err != nil || p != p.Masked() || p.Bits() == 0 {
			t.Fatalf("line %d %q: bad prefix: %v", n+1, line, err)
		}
		e := exporttest.Entry{From: p.Addr(), To: lastAddr(p)}
		if len(f) == 5 {
			secs, err := strconv.Atoi(f[4])
			if err != nil || secs < 0 || secs > 2147483 {
				t.Fatalf("line %d %q: bad timeout", n+1, line)
			}
			e.Timeout = time.Duration(secs) * time.Second
		}
		es = append(es, e)
	}
	ops = slices.Compact(ops)
	want := []string{
		"create pwx-v4", "destroy pwx-v4-new", "create pwx-v4-new", "add pwx-v4-new", "swap pwx-v4-new", "destroy pwx-v4-new",
		"create pwx-v6", "destroy pwx-v6-new", "create pwx-v6-new", "add pwx-v6-new", "swap pwx-v6-new", "destroy pwx-v6-new",
	}
	for i, w := range want {
		want[i] = strings.ReplaceAll(w, "pwx", export.DefaultName)
	}
	got := slices.DeleteFunc(slices.Clone(ops), func(s string) bool { return strings.HasPrefix(s, "add ") })
	want = slices.DeleteFunc(want, func(s string) bool { return strings.HasPrefix(s, "add ") })
	if !slices.Equal(got, want) {
		t.Errorf("restore commands = %v, want %v", got, want)
	}
	return es
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
	return exporttest.Suite{Exporter: ipset.Exporter{}, Decode: decode, Timeouts: true, MaxTimeout: ipset.MaxTimeout, Disjoint: true}
}

func TestConformance(t *testing.T) { exporttest.Run(t, suite()) }

var entriesRE = regexp.MustCompile(`(?m)^Number of entries: (\d+)$`)

// setSize returns the number of entries of a loaded set.
func setSize(t *testing.T, ns *exporttest.Namespace, set string) int {
	t.Helper()
	m := entriesRE.FindSubmatch(ns.MustRun(t, nil, "ipset", "list", "-t", set))
	if m == nil {
		t.Fatalf("ipset list -t %s: no entry count", set)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestConformanceRestore runs the conformance suite with every document
// loaded twice by ipset restore inside a test namespace, and the loaded
// sets' sizes checked.
func TestConformanceRestore(t *testing.T) {
	itest.Need(t, "ipset")
	ns := exporttest.NewNamespace(t)
	s := suite()
	s.Check = func(t *testing.T, doc []byte) {
		t.Helper()
		ns.MustRun(t, nil, "ipset", "destroy")
		for range 2 {
			if _, err := ns.Run(t.Context(), doc, "ipset", "restore"); err != nil {
				t.Fatalf("ipset restore rejects the export: %v\n%s", err, doc)
			}
		}
		v4 := strings.Count(string(doc), "\nadd "+export.DefaultName+"-v4-new ")
		v6 := strings.Count(string(doc), "\nadd "+export.DefaultName+"-v6-new ")
		if got := setSize(t, ns, export.DefaultName+"-v4"); got != v4 {
			t.Errorf("loaded set v4 has %d entries, want %d", got, v4)
		}
		if got := setSize(t, ns, export.DefaultName+"-v6"); got != v6 {
			t.Errorf("loaded set v6 has %d entries, want %d", got, v6)
		}
	}
	exporttest.Run(t, s)
}

func TestRestoreFile(t *testing.T) {
	inds := []proxywatch.Indicator{
		exporttest.Ind("192.0.2.0/24", proxywatch.KindC2, 90, time.Hour),
		exporttest.Ind("192.0.2.7", proxywatch.KindC2, 90, 0),
		exporttest.Ind("2001:db8::/32", proxywatch.KindOpenProxy, 50, 40*24*time.Hour),
	}
	var b bytes.Buffer
	st, err := ipset.Exporter{}.Export(&b, slices.Values(inds), export.Options{Now: exporttest.Now, Timeout: true, Name: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	want := `# proxywatch block list taken at 2026-03-01T12:00:00Z: 9 IPv4 and 1 IPv6 entries.
# Load with ipset restore; loading again swaps in the new contents of pw-v4 and pw-v6.
create pw-v4 hash:net family inet hashsize 64 maxelem 65536 timeout 0 -exist
destroy pw-v4-new -exist
create pw-v4-new hash:net family inet hashsize 64 maxelem 65536 timeout 0
add pw-v4-new 192.0.2.0/30 timeout 3600
add pw-v4-new 192.0.2.4/31 timeout 3600
add pw-v4-new 192.0.2.6/32 timeout 3600
add pw-v4-new 192.0.2.7/32 timeout 0
add pw-v4-new 192.0.2.8/29 timeout 3600
add pw-v4-new 192.0.2.16/28 timeout 3600
add pw-v4-new 192.0.2.32/27 timeout 3600
add pw-v4-new 192.0.2.64/26 timeout 3600
add pw-v4-new 192.0.2.128/25 timeout 3600
swap pw-v4-new pw-v4
destroy pw-v4-new
create pw-v6 hash:net family inet6 hashsize 64 maxelem 65536 timeout 0 -exist
destroy pw-v6-new -exist
create pw-v6-new hash:net family inet6 hashsize 64 maxelem 65536 timeout 0
add pw-v6-new 2001:db8::/32 timeout 2147483
swap pw-v6-new pw-v6
destroy pw-v6-new
`
	if got := b.String(); got != want {
		t.Errorf("Export() =\n%s\nwant\n%s", got, want)
	}
	if st.Entries != 10 || st.V4 != 9 || st.V6 != 1 {
		t.Errorf("Export() stats = %+v", st)
	}
}

func TestWholeSpace(t *testing.T) {
	inds := []proxywatch.Indicator{exporttest.Ind("0.0.0.0/0", proxywatch.KindC2, 90, 0), exporttest.Ind("::/0", proxywatch.KindC2, 90, 0)}
	var b bytes.Buffer
	if _, err := (ipset.Exporter{}).Export(&b, slices.Values(inds), export.Options{Now: exporttest.Now}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" 0.0.0.0/1\n", " 128.0.0.0/1\n", " ::/1\n", " 8000::/1\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Export(0.0.0.0/0, ::/0) lacks %q:\n%s", want, b.String())
		}
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		n             int
		hash, maxelem uint64
	}{
		{0, 64, 65536}, {128, 64, 65536}, {129, 128, 65536}, {52428, 32768, 65536}, {52429, 32768, 65536}, {52430, 32768, 262144},
		{1000000, 524288, 4194304}, {120430, 65536, 262144},
	}
	for _, tc := range tests {
		if got := ipset.HashSize(tc.n); got != tc.hash {
			t.Errorf("HashSize(%d) = %d, want %d", tc.n, got, tc.hash)
		}
		if got := ipset.MaxElem(tc.n); got != tc.maxelem {
			t.Errorf("MaxElem(%d) = %d, want %d", tc.n, got, tc.maxelem)
		}
	}
}

// TestLoadAndDrop loads an export into a namespace behind a veth pair,
// matches the sets with iptables and ip6tables, and checks that listed
// sources are dropped and others pass; then that a reload swaps in the new
// contents under the live rules, and that an export of another maxelem
// class fails before changing anything.
func TestLoadAndDrop(t *testing.T) {
	itest.Need(t, "ipset")
	itest.Need(t, "iptables")
	l := exporttest.NewLink(t)
	listed4, other4 := netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("198.51.100.5")
	listed6, other6 := netip.MustParseAddr("2001:db8:1::5"), netip.MustParseAddr("2001:db8:2::5")
	for _, a := range []netip.Addr{listed4, other4, listed6, other6} {
		l.AddClient(t, a)
	}
	inds := []proxywatch.Indicator{
		exporttest.Ind("203.0.113.0/24", proxywatch.KindOpenProxy, 80, time.Hour),
		exporttest.Ind("203.0.113.5", proxywatch.KindC2, 90, 0),
		exporttest.Ind("2001:db8:1::/48", proxywatch.KindOpenProxy, 80, 2*time.Hour),
		exporttest.Ind("198.51.100.0/24", proxywatch.KindOpenProxy, 80, 0),
	}
	opts := export.Options{Now: exporttest.Now, Timeout: true, Name: "pwtest",
		Allowlist: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}
	load := func(inds []proxywatch.Indicator) error {
		var b bytes.Buffer
		if _, err := (ipset.Exporter{}).Export(&b, slices.Values(inds), opts); err != nil {
			t.Fatal(err)
		}
		_, err := l.Server.Run(t.Context(), b.Bytes(), "ipset", "restore")
		return err
	}
	if err := load(inds); err != nil {
		t.Fatal(err)
	}
	l.Server.MustRun(t, nil, "iptables", "-I", "INPUT", "-m", "set", "--match-set", "pwtest-v4", "src", "-j", "DROP")
	l.Server.MustRun(t, nil, "ip6tables", "-I", "INPUT", "-m", "set", "--match-set", "pwtest-v6", "src", "-j", "DROP")
	if err := load(inds); err != nil { // idempotent, and swaps under live rules
		t.Fatal(err)
	}
	for _, c := range []struct {
		src     netip.Addr
		blocked bool
	}{{listed4, true}, {other4, false}, {listed6, true}, {other6, false}} {
		if got := l.Blocked(t, c.src); got != c.blocked {
			t.Errorf("connect from %v blocked = %v, want %v", c.src, got, c.blocked)
		}
	}
	if got := setSize(t, l.Server, "pwtest-v4"); got != 9 {
		t.Errorf("pwtest-v4 holds %d entries, want 9 (203.0.113.0/24 split around .5)", got)
	}
	if err := load(inds[2:]); err != nil {
		t.Fatal(err)
	}
	if l.Blocked(t, listed4) || !l.Blocked(t, listed6) {
		t.Errorf("after reloading without the IPv4 listings: %v blocked %v, %v blocked %v, want false, true",
			listed4, l.Blocked(t, listed4), listed6, l.Blocked(t, listed6))
	}
	// 70,000 entries need the next maxelem class: the load must fail at
	// its first line and leave the loaded sets as they were.
	many := make([]proxywatch.Indicator, 70000)
	for i := range many { // every other address, so nothing merges
		many[i] = exporttest.Ind("10.0.0.0", proxywatch.KindC2, 90, 0)
		many[i].Subject = proxywatch.AddrSubject(netip.AddrFrom4([4]byte{10, byte(i >> 15), byte(i >> 7), byte(i << 1)}))
	}
	var b bytes.Buffer
	if _, err := (ipset.Exporter{}).Export(&b, slices.Values(many), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Server.Run(t.Context(), b.Bytes(), "ipset", "restore"); err == nil {
		t.Errorf("restore of another maxelem class succeeded, want the documented refusal")
	}
	if got := setSize(t, l.Server, "pwtest-v6"); got != 1 {
		t.Errorf("after the refused load pwtest-v6 holds %d entries, want 1", got)
	}
}
