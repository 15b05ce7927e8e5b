package sim

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var countryNames = map[string]string{
	"US": "United States", "DE": "Germany", "FR": "France", "GB": "United Kingdom", "NL": "Netherlands",
	"BR": "Brazil", "IN": "India", "ID": "Indonesia", "VN": "Vietnam", "RU": "Russia", "CN": "China",
	"JP": "Japan", "KR": "South Korea", "TR": "Türkiye", "PL": "Poland", "ES": "Spain", "IT": "Italy",
	"MX": "Mexico", "AR": "Argentina", "ZA": "South Africa", "NG": "Nigeria", "EG": "Egypt",
	"UA": "Ukraine", "TH": "Thailand", "PH": "Philippines", "CA": "Canada", "AU": "Australia",
	"SE": "Sweden", "RO": "Romania", "PK": "Pakistan", "BD": "Bangladesh", "CO": "Colombia",
	"SC": "Seychelles",
}

var userTypes = [numNetTypes]string{netResidential: "residential", netMobile: "cellular",
	netCorporate: "business", netHosting: "hosting"}

// geoRecord returns a record that carries the fields of the GeoLite2-ASN,
// GeoIP2-Country, GeoIP2-Connection-Type and GeoIP2-Enterprise layouts at
// once, so a reader written for any of them finds what it looks for.
func geoRecord(asn uint32, org, country, connType, userType string, hosting bool) mmdbtype.Map {
	c := mmdbtype.Map{
		"iso_code": mmdbtype.String(country),
		"names":    mmdbtype.Map{"en": mmdbtype.String(countryNames[country])},
	}
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(asn),
		"autonomous_system_organization": mmdbtype.String(org),
		"isp":                            mmdbtype.String(org),
		"organization":                   mmdbtype.String(org),
		"connection_type":                mmdbtype.String(connType),
		"country":                        c,
		"registered_country":             c,
		"traits": mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(asn),
			"autonomous_system_organization": mmdbtype.String(org),
			"isp":                            mmdbtype.String(org),
			"organization":                   mmdbtype.String(org),
			"connection_type":                mmdbtype.String(connType),
			"user_type":                      mmdbtype.String(userType),
			"is_hosting_provider":            mmdbtype.Bool(hosting),
		},
	}
}

// geoEntry is one network of the database.
type geoEntry struct {
	prefix netip.Prefix
	rec    mmdbtype.Map
}

// geoEntries returns every simulated network with its record, the inside
// ISP first and more specific networks after the ones they refine.
func geoEntries(nets [numNetTypes][]*network) []geoEntry {
	isp := geoRecord(asnInside, "Simnet Broadband", "DE", "Cable/DSL", "residential", false)
	var es []geoEntry
	es = append(es,
		geoEntry{inside4, isp},
		geoEntry{inside6, isp},
		geoEntry{cgnatPool, geoRecord(asnInside, "Simnet Broadband", "DE", "Cellular", "cellular", false)},
		geoEntry{serverPool, geoRecord(asnInside, "Simnet Broadband", "DE", "Corporate", "hosting", true)},
		geoEntry{botnetNet, geoRecord(asnBotnet, "Simhost Offshore", "SC", "Corporate", "hosting", true)},
		geoEntry{serviceNet, geoRecord(asnService, "Example Shop", "DE", "Corporate", "business", false)},
		geoEntry{vpsNet, geoRecord(asnVPS, "Simhost VPS", "NL", "Corporate", "hosting", true)},
	)
	for t := netType(0); t < numNetTypes; t++ {
		for _, n := range nets[t] {
			rec := geoRecord(n.asn, n.org, n.country, n.conn, userTypes[t], t == netHosting)
			for _, p := range n.v4 {
				es = append(es, geoEntry{p, rec})
			}
			es = append(es, geoEntry{n.v6, rec})
		}
	}
	return es
}

// writeMMDB writes the enrichment database for the address plan.
func writeMMDB(w io.Writer, nets [numNetTypes][]*network, epoch int64) error {
	t, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "ProxyWatch-Sim",
		Description:             map[string]string{"en": "proxywatch simulator: ASN, country and connection type of the simulated address plan"},
		IncludeReservedNetworks: true,
		IPVersion:               6,
		RecordSize:              28,
		BuildEpoch:              epoch,
		Languages:               []string{"en"},
	})
	if err != nil {
		return fmt.Errorf("mmdb: %w", err)
	}
	for _, e := range geoEntries(nets) {
		ipn := &net.IPNet{IP: net.IP(e.prefix.Addr().AsSlice()), Mask: net.CIDRMask(e.prefix.Bits(), e.prefix.Addr().BitLen())}
		if err := t.Insert(ipn, e.rec); err != nil {
			return fmt.Errorf("mmdb insert %s: %w", e.prefix, err)
		}
	}
	if _, err := t.WriteTo(w); err != nil {
		return fmt.Errorf("mmdb write: %w", err)
	}
	return nil
}
