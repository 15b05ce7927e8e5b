package sim

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// The enrichment databases. Readers choose a MaxMind-format database by
// its type and expect the record layout that type names (internal/enrich
// takes an ASN database for its asn key and a Country or City database
// for geo; geoip2 readers refuse a type they do not know), so the
// simulator writes one database per layout, each typed like the product
// whose layout it copies. The description says the data is synthetic.

// mmdbLayout describes one database the simulator writes.
type mmdbLayout struct {
	typ    string // the metadata's database_type
	holds  string // for the description
	record func(*geoNet) mmdbtype.Map
}

var mmdbLayouts = map[string]mmdbLayout{
	OutMMDBASN:     {"GeoLite2-ASN", "autonomous system numbers and organisations", asnRecord},
	OutMMDBCountry: {"GeoLite2-Country", "countries", countryRecord},
	OutMMDBConn:    {"GeoIP2-Connection-Type", "connection types", connRecord},
}

// mmdbOutputs lists the database outputs in the order they are written.
var mmdbOutputs = []string{OutMMDBASN, OutMMDBCountry, OutMMDBConn}

// countryInfo gives each country of the plan its English name, its
// continent and whether it is in the European Union, as GeoLite2-Country
// records carry them.
var countryInfo = map[string]struct {
	name, continent string
	eu              bool
}{
	"US": {"United States", "NA", false}, "DE": {"Germany", "EU", true}, "FR": {"France", "EU", true},
	"GB": {"United Kingdom", "EU", false}, "NL": {"Netherlands", "EU", true}, "BR": {"Brazil", "SA", false},
	"IN": {"India", "AS", false}, "ID": {"Indonesia", "AS", false}, "VN": {"Vietnam", "AS", false},
	"RU": {"Russia", "EU", false}, "CN": {"China", "AS", false}, "JP": {"Japan", "AS", false},
	"KR": {"South Korea", "AS", false}, "TR": {"Türkiye", "AS", false}, "PL": {"Poland", "EU", true},
	"ES": {"Spain", "EU", true}, "IT": {"Italy", "EU", true}, "MX": {"Mexico", "NA", false},
	"AR": {"Argentina", "SA", false}, "ZA": {"South Africa", "AF", false}, "NG": {"Nigeria", "AF", false},
	"EG": {"Egypt", "AF", false}, "UA": {"Ukraine", "EU", false}, "TH": {"Thailand", "AS", false},
	"PH": {"Philippines", "AS", false}, "CA": {"Canada", "NA", false}, "AU": {"Australia", "OC", false},
	"SE": {"Sweden", "EU", true}, "RO": {"Romania", "EU", true}, "PK": {"Pakistan", "AS", false},
	"BD": {"Bangladesh", "AS", false}, "CO": {"Colombia", "SA", false}, "SC": {"Seychelles", "AF", false},
}

var continentNames = map[string]string{
	"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania", "SA": "South America",
}

// geoNet is what the databases say about one simulated network.
type geoNet struct {
	asn                uint32
	org, country, conn string
}

func asnRecord(g *geoNet) mmdbtype.Map {
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(g.asn),
		"autonomous_system_organization": mmdbtype.String(g.org),
	}
}

func countryRecord(g *geoNet) mmdbtype.Map {
	ci := countryInfo[g.country]
	c := mmdbtype.Map{
		"iso_code": mmdbtype.String(g.country),
		"names":    mmdbtype.Map{"en": mmdbtype.String(ci.name)},
	}
	if ci.eu {
		c["is_in_european_union"] = mmdbtype.Bool(true)
	}
	return mmdbtype.Map{
		"continent": mmdbtype.Map{
			"code":  mmdbtype.String(ci.continent),
			"names": mmdbtype.Map{"en": mmdbtype.String(continentNames[ci.continent])},
		},
		"country":            c,
		"registered_country": c,
	}
}

func connRecord(g *geoNet) mmdbtype.Map {
	return mmdbtype.Map{"connection_type": mmdbtype.String(g.conn)}
}

// geoEntry is one network of the databases.
type geoEntry struct {
	prefix netip.Prefix
	net    *geoNet
}

// geoEntries returns every simulated network, the inside ISP first and
// more specific networks after the ones they refine.
func geoEntries(nets [numNetTypes][]*network) []geoEntry {
	isp := &geoNet{asnInside, "Simnet Broadband", "DE", "Cable/DSL"}
	es := []geoEntry{
		{inside4, isp},
		{inside6, isp},
		{cgnatPool, &geoNet{asnInside, "Simnet Broadband", "DE", "Cellular"}},
		{serverPool, &geoNet{asnInside, "Simnet Broadband", "DE", "Corporate"}},
		{botnetNet, &geoNet{asnBotnet, "Simhost Offshore", "SC", "Corporate"}},
		{serviceNet, &geoNet{asnService, "Example Shop", "DE", "Corporate"}},
		{vpsNet, &geoNet{asnVPS, "Simhost VPS", "NL", "Corporate"}},
	}
	for t := netType(0); t < numNetTypes; t++ {
		for _, n := range nets[t] {
			g := &geoNet{n.asn, n.org, n.country, n.conn}
			for _, p := range n.v4 {
				es = append(es, geoEntry{p, g})
			}
			es = append(es, geoEntry{n.v6, g})
		}
	}
	return es
}

// writeMMDB writes the database of output out (one of mmdbOutputs) for
// the address plan.
func writeMMDB(w io.Writer, out string, nets [numNetTypes][]*network, epoch int64) error {
	l, ok := mmdbLayouts[out]
	if !ok {
		return fmt.Errorf("mmdb output %q: unknown", out)
	}
	t, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: l.typ,
		Description: map[string]string{"en": "proxywatch simulator: " + l.holds +
			" of the simulated address plan, in the " + l.typ + " layout; synthetic, not MaxMind data"},
		IncludeReservedNetworks: true,
		IPVersion:               6,
		RecordSize:              28,
		BuildEpoch:              epoch,
		Languages:               []string{"en"},
	})
	if err != nil {
		return fmt.Errorf("mmdb %s: %w", l.typ, err)
	}
	recs := map[*geoNet]mmdbtype.Map{}
	for _, e := range geoEntries(nets) {
		rec, ok := recs[e.net]
		if !ok {
			rec = l.record(e.net)
			recs[e.net] = rec
		}
		ipn := &net.IPNet{IP: net.IP(e.prefix.Addr().AsSlice()), Mask: net.CIDRMask(e.prefix.Bits(), e.prefix.Addr().BitLen())}
		if err := t.Insert(ipn, rec); err != nil {
			return fmt.Errorf("mmdb %s: insert %s: %w", l.typ, e.prefix, err)
		}
	}
	if _, err := t.WriteTo(w); err != nil {
		return fmt.Errorf("mmdb %s: write: %w", l.typ, err)
	}
	return nil
}
