package enrich

import (
	"errors"
	"fmt"
	"os"
)

// Config names the MaxMind-format databases to read. Every path is
// optional; an empty Config enriches nothing and Lookup returns the zero
// Info.
type Config struct {
	// ASN is an ASN database (GeoLite2-ASN, GeoIP2-ASN) or an ISP
	// database, which also carries ASNs.
	ASN string `yaml:"asn"`
	// Geo is a City or Country database; only the country is used.
	Geo string `yaml:"geo"`
	// ConnectionType is a GeoIP2-Connection-Type database.
	ConnectionType string `yaml:"connection_type"`
	// Anonymous is a GeoIP2-Anonymous-IP or GeoIP-Anonymous-Plus database.
	Anonymous string `yaml:"anonymous"`
	// ResidentialProxy is a GeoIP-Residential-Proxy database.
	ResidentialProxy string `yaml:"residential_proxy"`
	// ISP is a GeoIP2-ISP database, for the ISP name (and the ASN when
	// ASN is not set).
	ISP string `yaml:"isp"`
}

// DefaultConfig returns the configuration used when the section is absent:
// no databases.
func DefaultConfig() Config { return Config{} }

// slot describes one configurable database: its YAML key, its path, and
// the database types it accepts (substrings of the metadata's
// database_type).
type slot struct {
	key   string
	path  string
	types []string
}

func (c Config) slots() []slot {
	return []slot{
		{"asn", c.ASN, []string{"ASN", "ISP"}},
		{"geo", c.Geo, []string{"City", "Country", "Enterprise"}},
		{"connection_type", c.ConnectionType, []string{"Connection-Type"}},
		{"anonymous", c.Anonymous, []string{"Anonymous"}},
		{"residential_proxy", c.ResidentialProxy, []string{"Residential-Proxy"}},
		{"isp", c.ISP, []string{"ISP"}},
	}
}

// Validate reports every configured path that does not name a readable
// regular file, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	for _, s := range c.slots() {
		if s.path == "" {
			continue
		}
		fi, err := os.Stat(s.path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", s.key, err))
		case !fi.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s: %s: not a regular file", s.key, s.path))
		}
	}
	return errors.Join(errs...)
}
