package sim

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oschwald/maxminddb-golang/v2"
)

// geo is what enrichment reads, in the GeoLite2-ASN, GeoIP2-Country,
// GeoIP2-Connection-Type and GeoIP2-Enterprise layouts at once.
type geo struct {
	ASN      uint32 `maxminddb:"autonomous_system_number"`
	Org      string `maxminddb:"autonomous_system_organization"`
	ConnType string `maxminddb:"connection_type"`
	Country  struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Traits struct {
		ASN      uint32 `maxminddb:"autonomous_system_number"`
		UserType string `maxminddb:"user_type"`
		Hosting  bool   `maxminddb:"is_hosting_provider"`
	} `maxminddb:"traits"`
}

func TestMMDB(t *testing.T) {
	var b bytes.Buffer
	nets := buildNetworks()
	if err := writeMMDB(&b, nets, 1772409600); err != nil {
		t.Fatal(err)
	}
	db, err := maxminddb.OpenBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Metadata.DatabaseType != "ProxyWatch-Sim" {
		t.Errorf("database type %q", db.Metadata.DatabaseType)
	}
	res := nets[netResidential][0]
	tests := []struct {
		addr            string
		asn             uint32
		conn, cc, utype string
		hosting         bool
	}{
		{"198.18.3.4", asnInside, "Cable/DSL", "DE", "residential", false},
		{"198.18.130.9", asnInside, "Cellular", "DE", "cellular", false},
		{"2001:db8:1000::5:0:0:1", asnInside, "Cable/DSL", "DE", "residential", false},
		{"203.0.113.16", asnBotnet, "Corporate", "SC", "hosting", true},
		{"192.0.2.80", asnService, "Corporate", "DE", "business", false},
		{"198.51.100.66", asnVPS, "Corporate", "NL", "hosting", true},
		{hostIn(res.v4[1], 7).String(), res.asn, "Cable/DSL", res.country, "residential", false},
		{outside6Addr(res, 3, 9).String(), res.asn, "Cable/DSL", res.country, "residential", false},
		{"198.19.64.1", nets[netMobile][0].asn, "Cellular", nets[netMobile][0].country, "cellular", false},
		{"198.19.200.1", nets[netHosting][(200-128)/4].asn, "Corporate", nets[netHosting][(200-128)/4].country, "hosting", true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			var g geo
			if err := db.Lookup(netip.MustParseAddr(tc.addr)).Decode(&g); err != nil {
				t.Fatal(err)
			}
			got := []any{g.ASN, g.Traits.ASN, g.ConnType, g.Country.ISOCode, g.Traits.UserType, g.Traits.Hosting}
			want := []any{tc.asn, tc.asn, tc.conn, tc.cc, tc.utype, tc.hosting}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Lookup(%s) (-want +got):\n%s", tc.addr, diff)
			}
			if g.Org == "" {
				t.Errorf("Lookup(%s) has no organisation", tc.addr)
			}
		})
	}
	var g geo
	if r := db.Lookup(netip.MustParseAddr("8.8.8.8")); r.Found() {
		_ = r.Decode(&g)
		t.Errorf("8.8.8.8 is in the simulated database: %+v", g)
	}
}
