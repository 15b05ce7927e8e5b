package enrich

import (
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdbDir returns the MaxMind test-data directory, or skips t.
func mmdbDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("PROXYWATCH_TEST_DATA")
	if root == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skip("test data unavailable: no go.mod above the package and PROXYWATCH_TEST_DATA not set")
			}
			dir = parent
		}
		root = filepath.Join(dir, "..", "shared", "data")
	}
	d := filepath.Join(root, "mmdb", "maxmind")
	if _, err := os.Stat(filepath.Join(d, "test-data")); err != nil {
		t.Skipf("test data unavailable: %v (set PROXYWATCH_TEST_DATA)", err)
	}
	return d
}

func testDB(t testing.TB, name string) string {
	return filepath.Join(mmdbDir(t), "test-data", name)
}

// sourceEntry is one network of a MaxMind source-data JSON file.
type sourceEntry struct {
	Prefix netip.Prefix
	Record map[string]any
}

// readSource reads source-data/name and returns the entries whose network
// overlaps no other entry, so a lookup of their first address must return
// exactly their record. Networks written as IPv4 inside ::/96 are
// returned as IPv4 prefixes, as the databases serve them.
func readSource(t *testing.T, name string) []sourceEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mmdbDir(t), "source-data", name))
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	var all []sourceEntry
	for _, m := range raw {
		for k, v := range m {
			p, err := netip.ParsePrefix(k)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if b := p.Addr().As16(); p.Addr().Is6() && p.Bits() >= 96 && [12]byte(b[:12]) == [12]byte{} {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte(b[12:])), p.Bits()-96)
			}
			all = append(all, sourceEntry{p.Masked(), v})
		}
	}
	var out []sourceEntry
	for i, e := range all {
		alone := true
		for j, o := range all {
			if i != j && e.Prefix.Overlaps(o.Prefix) {
				alone = false
				break
			}
		}
		if alone {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no usable entries", name)
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }
func num(m map[string]any, k string) uint32 { f, _ := m[k].(float64); return uint32(f) }
func flag(m map[string]any, k string) bool  { b, _ := m[k].(bool); return b }

func open(t *testing.T, cfg Config) *Enricher {
	t.Helper()
	e, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestLookupSourceData(t *testing.T) {
	anonFlags := func(m map[string]any) Flags {
		var f Flags
		for i, k := range []string{"is_anonymous", "is_anonymous_vpn", "is_hosting_provider", "is_public_proxy", "is_residential_proxy", "is_tor_exit_node"} {
			if flag(m, k) {
				f |= 1 << i
			}
		}
		return f
	}
	proxy := func(m map[string]any, want *Info) {
		want.ProxyProvider = str(m, "provider_name")
		want.ProxyConfidence = uint8(num(m, "anonymizer_confidence"))
		if s := str(m, "network_last_seen"); s != "" {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				t.Fatal(err)
			}
			want.ProxyLastSeen = d
		}
	}
	tests := []struct {
		name   string
		cfg    func(db string) Config
		db     string
		source string
		want   func(m map[string]any) Info
	}{
		{"asn", func(db string) Config { return Config{ASN: db} }, "GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN-Test.json",
			func(m map[string]any) Info {
				return Info{ASN: num(m, "autonomous_system_number"), Org: str(m, "autonomous_system_organization")}
			}},
		{"isp", func(db string) Config { return Config{ISP: db} }, "GeoIP2-ISP-Test.mmdb", "GeoIP2-ISP-Test.json",
			func(m map[string]any) Info {
				return Info{ASN: num(m, "autonomous_system_number"), Org: str(m, "autonomous_system_organization"), ISP: str(m, "isp")}
			}},
		{"isp-as-asn", func(db string) Config { return Config{ASN: db} }, "GeoIP2-ISP-Test.mmdb", "GeoIP2-ISP-Test.json",
			func(m map[string]any) Info {
				return Info{ASN: num(m, "autonomous_system_number"), Org: str(m, "autonomous_system_organization"), ISP: str(m, "isp")}
			}},
		{"connection-type", func(db string) Config { return Config{ConnectionType: db} }, "GeoIP2-Connection-Type-Test.mmdb", "GeoIP2-Connection-Type-Test.json",
			func(m map[string]any) Info { return Info{ConnectionType: str(m, "connection_type")} }},
		{"anonymous-ip", func(db string) Config { return Config{Anonymous: db} }, "GeoIP2-Anonymous-IP-Test.mmdb", "GeoIP2-Anonymous-IP-Test.json",
			func(m map[string]any) Info { return Info{Flags: anonFlags(m)} }},
		{"anonymous-plus", func(db string) Config { return Config{Anonymous: db} }, "GeoIP-Anonymous-Plus-Test.mmdb", "GeoIP-Anonymous-Plus-Test.json",
			func(m map[string]any) Info { w := Info{Flags: anonFlags(m)}; proxy(m, &w); return w }},
		{"residential-proxy", func(db string) Config { return Config{ResidentialProxy: db} }, "GeoIP-Residential-Proxy-Test.mmdb", "GeoIP-Residential-Proxy-Test.json",
			func(m map[string]any) Info { w := Info{Flags: FlagResidentialProxy}; proxy(m, &w); return w }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := open(t, tc.cfg(testDB(t, tc.db)))
			entries := readSource(t, tc.source)
			for _, en := range entries {
				want := tc.want(en.Record)
				for _, a := range []netip.Addr{en.Prefix.Addr(), lastAddr(en.Prefix)} {
					if got := e.Lookup(a); got != want {
						t.Errorf("Lookup(%v) = %+v, want %+v", a, got, want)
					}
				}
				if got := e.ASN(en.Prefix.Addr()); got != want.ASN {
					t.Errorf("ASN(%v) = %d, want %d", en.Prefix.Addr(), got, want.ASN)
				}
			}
			t.Logf("%d networks checked", len(entries))
			if n := e.Errors(); n != 0 {
				t.Errorf("Errors() = %d, want 0", n)
			}
		})
	}
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestLookupCountry checks the country against a generic decode of the
// same City and Country databases (no source JSON ships for them).
func TestLookupCountry(t *testing.T) {
	for _, name := range []string{"GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb", "GeoLite2-City-Test.mmdb"} {
		t.Run(name, func(t *testing.T) {
			path := testDB(t, name)
			e := open(t, Config{Geo: path})
			r, err := maxminddb.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			n := 0
			for res := range r.Networks() {
				var m map[string]any
				if err := res.Decode(&m); err != nil {
					t.Fatal(err)
				}
				iso := func(k string) string {
					c, _ := m[k].(map[string]any)
					s, _ := c["iso_code"].(string)
					return s
				}
				want := iso("country")
				if want == "" {
					want = iso("registered_country")
				}
				a := res.Prefix().Addr()
				if got := e.Lookup(a).Country; got != want {
					t.Errorf("Lookup(%v).Country = %q, want %q", a, got, want)
				}
				if want != "" {
					n++
				}
			}
			if n == 0 {
				t.Fatal("no network with a country")
			}
		})
	}
}

// writeFixture builds a small ASN database over documentation ranges.
func writeFixture(t testing.TB, typ string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typ, IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		cidr string
		rec  mmdbtype.Map
	}{
		{"192.0.2.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64496), "autonomous_system_organization": mmdbtype.String("Example Transit")}},
		{"203.0.113.128/25", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64511)}},
		{"2001:db8::/32", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64497), "autonomous_system_organization": mmdbtype.String("Example v6")}},
	} {
		_, n, err := net.ParseCIDR(r.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(n, r.rec); err != nil {
			t.Fatalf("insert %s: %v", r.cidr, err)
		}
	}
	path := filepath.Join(t.TempDir(), "fixture.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLookupFixture(t *testing.T) {
	e := open(t, Config{ASN: writeFixture(t, "Fixture-ASN")})
	tests := []struct {
		name string
		addr netip.Addr
		want Info
	}{
		{"v4", netip.MustParseAddr("192.0.2.77"), Info{ASN: 64496, Org: "Example Transit"}},
		{"v4-mapped", netip.MustParseAddr("::ffff:192.0.2.1"), Info{ASN: 64496, Org: "Example Transit"}},
		{"v4-no-org", netip.MustParseAddr("203.0.113.200"), Info{ASN: 64511}},
		{"v4-outside", netip.MustParseAddr("203.0.113.7"), Info{}},
		{"v6", netip.MustParseAddr("2001:db8:1::5"), Info{ASN: 64497, Org: "Example v6"}},
		{"v6-zoned", netip.MustParseAddr("2001:db8::1%eth0"), Info{ASN: 64497, Org: "Example v6"}},
		{"unlisted", netip.MustParseAddr("198.51.100.1"), Info{}},
		{"invalid", netip.Addr{}, Info{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Lookup(tc.addr); got != tc.want {
				t.Errorf("Lookup(%v) = %+v, want %+v", tc.addr, got, tc.want)
			}
			if got := e.ASN(tc.addr); got != tc.want.ASN {
				t.Errorf("ASN(%v) = %d, want %d", tc.addr, got, tc.want.ASN)
			}
		})
	}
	dbs := e.Databases()
	if len(dbs) != 1 || dbs[0].Key != "asn" || dbs[0].Type != "Fixture-ASN" {
		t.Errorf("Databases() = %+v, want one asn database of type Fixture-ASN", dbs)
	}
	e.Close()
	if got := e.Lookup(netip.MustParseAddr("192.0.2.1")); !got.IsZero() {
		t.Errorf("Lookup after Close = %+v, want zero", got)
	}
}

func TestZeroEnricher(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.1")
	var nilE *Enricher
	if got := nilE.Lookup(a); !got.IsZero() {
		t.Errorf("(*Enricher)(nil).Lookup(%v) = %+v, want zero", a, got)
	}
	if got := nilE.ASN(a); got != 0 {
		t.Errorf("(*Enricher)(nil).ASN(%v) = %d, want 0", a, got)
	}
	e := open(t, DefaultConfig())
	if got := e.Lookup(a); !got.IsZero() {
		t.Errorf("Lookup(%v) with no databases = %+v, want zero", a, got)
	}
	if got := e.Databases(); got != nil {
		t.Errorf("Databases() = %v, want nil", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	fixture := writeFixture(t, "Fixture-ASN")
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error, one per problem
	}{
		{"missing", Config{ASN: filepath.Join(dir, "nope.mmdb"), Geo: filepath.Join(dir, "nope2.mmdb")},
			[]string{"asn: ", "geo: ", "no such file"}},
		{"directory", Config{ConnectionType: dir}, []string{"connection_type: ", "not a regular file"}},
		{"wrong-type", Config{Geo: fixture, ResidentialProxy: fixture}, []string{"geo: ", "residential_proxy: ", `"Fixture-ASN"`}},
		{"not-mmdb", Config{ISP: writeFile(t, dir, "junk.mmdb", "hello")}, []string{"isp: open "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Open(tc.cfg)
			if err == nil {
				e.Close()
				t.Fatalf("Open(%+v) = nil error, want one", tc.cfg)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%+v) = %v, want it to mention %q", tc.cfg, err, w)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		f    Flags
		json string
	}{
		{"zero", 0, `[]`},
		{"one", FlagResidentialProxy, `["residential-proxy"]`},
		{"many", FlagAnonymous | FlagTorExitNode | FlagHostingProvider, `["anonymous","hosting-provider","tor-exit-node"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.f)
			if err != nil || string(b) != tc.json {
				t.Fatalf("json.Marshal(%v) = %s, %v, want %s", tc.f, b, err, tc.json)
			}
			var got Flags
			if err := json.Unmarshal(b, &got); err != nil || got != tc.f {
				t.Errorf("json.Unmarshal(%s) = %v, %v, want %v", b, got, err, tc.f)
			}
			if p, err := ParseFlags(tc.f.String()); err != nil || p != tc.f {
				t.Errorf("ParseFlags(%q) = %v, %v, want %v", tc.f.String(), p, err, tc.f)
			}
		})
	}
	if _, err := ParseFlags("anonymous,bogus"); err == nil {
		t.Error(`ParseFlags("anonymous,bogus") = nil error, want one`)
	}
	b, err := json.Marshal(Info{ASN: 64496, Flags: FlagPublicProxy})
	if err != nil {
		t.Fatal(err)
	}
	var back Info
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Info{ASN: 64496, Flags: FlagPublicProxy}, back); diff != "" {
		t.Errorf("Info JSON round trip (-want +got):\n%s", diff)
	}
}

// allConfig opens every kind of test database at once.
func allConfig(t testing.TB) Config {
	return Config{
		ASN:              testDB(t, "GeoLite2-ASN-Test.mmdb"),
		Geo:              testDB(t, "GeoIP2-City-Test.mmdb"),
		ConnectionType:   testDB(t, "GeoIP2-Connection-Type-Test.mmdb"),
		Anonymous:        testDB(t, "GeoIP2-Anonymous-IP-Test.mmdb"),
		ResidentialProxy: testDB(t, "GeoIP-Residential-Proxy-Test.mmdb"),
		ISP:              testDB(t, "GeoIP2-ISP-Test.mmdb"),
	}
}

func TestConcurrentLookup(t *testing.T) {
	e := open(t, allConfig(t))
	addrs := []netip.Addr{
		netip.MustParseAddr("81.2.69.160"), netip.MustParseAddr("1.128.0.1"),
		netip.MustParseAddr("2001:1700::1"), netip.MustParseAddr("192.0.2.1"),
	}
	want := make([]Info, len(addrs))
	for i, a := range addrs {
		want[i] = e.Lookup(a)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				for i, a := range addrs {
					if got := e.Lookup(a); got != want[i] {
						t.Errorf("concurrent Lookup(%v) = %+v, want %+v", a, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkLookup(b *testing.B) {
	e, err := Open(allConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	addrs := []netip.Addr{
		netip.MustParseAddr("81.2.69.160"), netip.MustParseAddr("1.128.0.1"),
		netip.MustParseAddr("2001:1700::1"), netip.MustParseAddr("203.0.113.9"),
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e.Lookup(addrs[i%len(addrs)])
			i++
		}
	})
	b.Run("asn", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			e.ASN(addrs[i%len(addrs)])
			i++
		}
	})
}

func TestLookupAllocs(t *testing.T) {
	e := open(t, allConfig(t))
	for _, s := range []string{"81.2.69.160", "2001:1700::1", "203.0.113.9"} {
		a := netip.MustParseAddr(s)
		if n := testing.AllocsPerRun(100, func() { e.Lookup(a) }); n != 0 {
			t.Errorf("Lookup(%v) allocates %v times, want 0", a, n)
		}
		if n := testing.AllocsPerRun(100, func() { e.ASN(a) }); n != 0 {
			t.Errorf("ASN(%v) allocates %v times, want 0", a, n)
		}
	}
}
