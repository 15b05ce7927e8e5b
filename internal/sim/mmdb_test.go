package sim

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// The records as the GeoLite2-ASN, GeoLite2-Country and
// GeoIP2-Connection-Type layouts define them.
type (
	asnRec struct {
		ASN uint32 `maxminddb:"autonomous_system_number"`
		Org string `maxminddb:"autonomous_system_organization"`
	}
	place struct {
		ISOCode string            `maxminddb:"iso_code"`
		Code    string            `maxminddb:"code"`
		Names   map[string]string `maxminddb:"names"`
		EU      bool              `maxminddb:"is_in_european_union"`
	}
	countryRec struct {
		Continent  place `maxminddb:"continent"`
		Country    place `maxminddb:"country"`
		Registered place `maxminddb:"registered_country"`
	}
	connRec struct {
		ConnType string `maxminddb:"connection_type"`
	}
)

// mmdbWant is what the databases must say about one address.
type mmdbWant struct {
	addr      string
	asn       uint32
	org       string
	cc, conn  string
	continent string
}

// mmdbCases returns addresses across the plan with what is known of them.
func mmdbCases(nets [numNetTypes][]*network) []mmdbWant {
	res, mob := nets[netResidential][0], nets[netMobile][0]
	host := nets[netHosting][(200-128)/4]
	cont := func(n *network) string { return countryInfo[n.country].continent }
	return []mmdbWant{
		{"198.18.3.4", asnInside, "Simnet Broadband", "DE", "Cable/DSL", "EU"},
		{"198.18.130.9", asnInside, "Simnet Broadband", "DE", "Cellular", "EU"},
		{"198.18.201.7", asnInside, "Simnet Broadband", "DE", "Corporate", "EU"},
		{"2001:db8:1000::5:0:0:1", asnInside, "Simnet Broadband", "DE", "Cable/DSL", "EU"},
		{"203.0.113.16", asnBotnet, "Simhost Offshore", "SC", "Corporate", "AF"},
		{"192.0.2.80", asnService, "Example Shop", "DE", "Corporate", "EU"},
		{"198.51.100.66", asnVPS, "Simhost VPS", "NL", "Corporate", "EU"},
		{hostIn(res.v4[1], 7).String(), res.asn, res.org, res.country, "Cable/DSL", cont(res)},
		{outside6Addr(res, 3, 9).String(), res.asn, res.org, res.country, "Cable/DSL", cont(res)},
		{"198.19.64.1", mob.asn, mob.org, mob.country, "Cellular", cont(mob)},
		{"198.19.200.1", host.asn, host.org, host.country, "Corporate", cont(host)},
	}
}

// writeMMDBs writes every database output into a temporary directory and
// returns its paths by output name.
func writeMMDBs(t *testing.T, nets [numNetTypes][]*network) map[string]string {
	t.Helper()
	dir := t.TempDir()
	paths := map[string]string{}
	for _, o := range mmdbOutputs {
		var b bytes.Buffer
		if err := writeMMDB(&b, o, nets, 1772409600); err != nil {
			t.Fatalf("writeMMDB(%s) = %v", o, err)
		}
		paths[o] = filepath.Join(dir, OutputFiles[o])
		if err := os.WriteFile(paths[o], b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

func TestMMDBLayouts(t *testing.T) {
	nets := buildNetworks()
	paths := writeMMDBs(t, nets)
	cases := mmdbCases(nets)
	tests := []struct {
		name, out, typ string
		decode         func(r maxminddb.Result, tc mmdbWant) (got, want any, err error)
	}{
		{"asn", OutMMDBASN, "GeoLite2-ASN", func(r maxminddb.Result, tc mmdbWant) (any, any, error) {
			var g asnRec
			err := r.Decode(&g)
			return g, asnRec{tc.asn, tc.org}, err
		}},
		{"country", OutMMDBCountry, "GeoLite2-Country", func(r maxminddb.Result, tc mmdbWant) (any, any, error) {
			var g countryRec
			err := r.Decode(&g)
			ci := countryInfo[tc.cc]
			c := place{ISOCode: tc.cc, Names: map[string]string{"en": ci.name}, EU: ci.eu}
			return g, countryRec{place{Code: tc.continent, Names: map[string]string{"en": continentNames[tc.continent]}}, c, c}, err
		}},
		{"connection type", OutMMDBConn, "GeoIP2-Connection-Type", func(r maxminddb.Result, tc mmdbWant) (any, any, error) {
			var g connRec
			err := r.Decode(&g)
			return g, connRec{tc.conn}, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := maxminddb.Open(paths[tt.out])
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Metadata.DatabaseType != tt.typ {
				t.Errorf("database type %q, want %q", db.Metadata.DatabaseType, tt.typ)
			}
			if d := db.Metadata.Description["en"]; !strings.Contains(d, "synthetic") {
				t.Errorf("description %q does not say the data is synthetic", d)
			}
			for _, tc := range cases {
				r := db.Lookup(netip.MustParseAddr(tc.addr))
				if !r.Found() {
					t.Errorf("Lookup(%s) found nothing", tc.addr)
					continue
				}
				got, want, err := tt.decode(r, tc)
				if err != nil {
					t.Errorf("Lookup(%s).Decode() = %v", tc.addr, err)
					continue
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Lookup(%s) (-want +got):\n%s", tc.addr, diff)
				}
			}
			if r := db.Lookup(netip.MustParseAddr("8.8.8.8")); r.Found() {
				t.Errorf("Lookup(8.8.8.8) found a record outside the plan")
			}
		})
	}
}

func TestMMDBUnknownOutput(t *testing.T) {
	var b bytes.Buffer
	if err := writeMMDB(&b, OutSSHD, buildNetworks(), 0); err == nil {
		t.Errorf("writeMMDB(%q) = nil error, want one", OutSSHD)
	}
}

// TestMMDBEnrich opens the databases as the daemon does, each under the
// configuration key that names its kind, and checks what Lookup says.
func TestMMDBEnrich(t *testing.T) {
	nets := buildNetworks()
	paths := writeMMDBs(t, nets)
	e, err := enrich.Open(enrich.Config{ASN: paths[OutMMDBASN], Geo: paths[OutMMDBCountry], ConnectionType: paths[OutMMDBConn]})
	if err != nil {
		t.Fatalf("enrich.Open() = %v", err)
	}
	defer e.Close()
	for _, tc := range mmdbCases(nets) {
		a := netip.MustParseAddr(tc.addr)
		got := e.Lookup(a)
		want := enrich.Info{ASN: tc.asn, Org: tc.org, Country: tc.cc, ConnectionType: tc.conn}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Lookup(%s) (-want +got):\n%s", tc.addr, diff)
		}
		if got := e.ASN(a); got != tc.asn {
			t.Errorf("ASN(%s) = %d, want %d", tc.addr, got, tc.asn)
		}
	}
	if n := e.Errors(); n != 0 {
		t.Errorf("Errors() = %d, want 0", n)
	}
	// Each database is refused under a key that wants another kind.
	wrong := []struct {
		name string
		cfg  enrich.Config
	}{
		{"country as asn", enrich.Config{ASN: paths[OutMMDBCountry]}},
		{"asn as geo", enrich.Config{Geo: paths[OutMMDBASN]}},
		{"connection type as geo", enrich.Config{Geo: paths[OutMMDBConn]}},
		{"asn as connection type", enrich.Config{ConnectionType: paths[OutMMDBASN]}},
	}
	for _, tc := range wrong {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := enrich.Open(tc.cfg); err == nil {
				t.Errorf("enrich.Open(%+v) = nil error, want a database type error", tc.cfg)
			}
		})
	}
}

// TestMMDBLookupTool reads the databases with libmaxminddb's mmdblookup
// (Debian package mmdb-bin), a reader that shares no code with ours.
func TestMMDBLookupTool(t *testing.T) {
	bin := itest.Need(t, "mmdblookup")
	nets := buildNetworks()
	paths := writeMMDBs(t, nets)
	lookup := func(t *testing.T, out, addr string, path ...string) string {
		t.Helper()
		args := append([]string{"--file", paths[out], "--ip", addr}, path...)
		b, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("mmdblookup %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return strings.Join(strings.Fields(string(b)), " ")
	}
	for _, tc := range mmdbCases(nets)[:8] {
		t.Run(tc.addr, func(t *testing.T) {
			got := []string{
				lookup(t, OutMMDBASN, tc.addr, "autonomous_system_number"),
				lookup(t, OutMMDBCountry, tc.addr, "country", "iso_code"),
				lookup(t, OutMMDBConn, tc.addr, "connection_type"),
			}
			want := []string{
				itoa(int(tc.asn)) + " <uint32>",
				`"` + tc.cc + `" <utf8_string>`,
				`"` + tc.conn + `" <utf8_string>`,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mmdblookup --ip %s (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
	for _, o := range mmdbOutputs {
		b, err := exec.Command(bin, "--file", paths[o], "--verbose", "--ip", "192.0.2.22").CombinedOutput()
		if err != nil {
			t.Fatalf("mmdblookup --file %s --verbose: %v\n%s", paths[o], err, b)
		}
		want := "Type: " + mmdbLayouts[o].typ + " "
		if got := strings.Join(strings.Fields(string(b)), " "); !strings.Contains(got, want) {
			t.Errorf("mmdblookup --file %s --verbose does not say %q:\n%s", paths[o], want, b)
		}
	}
}
