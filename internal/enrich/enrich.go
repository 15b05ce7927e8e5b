// Package enrich annotates addresses with what MaxMind-format databases
// say about them: autonomous system and organisation, country, connection
// type, and anonymiser or residential-proxy flags.
//
// It is for display (`proxywatch check`) and for matching ASN indicators
// against addresses: a caller looks up an address's ASN here and checks it
// against its own ASN indicator set. It is not a geolocation library; it
// decodes only the few fields proxywatch uses.
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Info is what the configured databases say about one address. The zero
// Info means nothing is known. Info is comparable.
type Info struct {
	ASN            uint32 `json:"asn,omitempty"`
	Org            string `json:"org,omitempty"`             // the AS organisation
	ISP            string `json:"isp,omitempty"`             // from an ISP database
	Country        string `json:"country,omitempty"`         // ISO 3166-1 alpha-2, e.g. "SE"
	ConnectionType string `json:"connection_type,omitempty"` // "Cable/DSL", "Cellular", "Corporate", "Satellite"
	Flags          Flags  `json:"flags,omitempty"`
	// ProxyProvider, ProxyConfidence (0-100) and ProxyLastSeen come from an
	// Anonymous-Plus or Residential-Proxy database, when it says.
	ProxyProvider   string    `json:"proxy_provider,omitempty"`
	ProxyConfidence uint8     `json:"proxy_confidence,omitempty"`
	ProxyLastSeen   time.Time `json:"proxy_last_seen,omitzero"`
}

// IsZero reports whether i says nothing.
func (i Info) IsZero() bool { return i == Info{} }

// An Enricher looks addresses up in the configured databases. It is safe
// for concurrent use. The databases are read into memory by Open, so
// replacing the files on disk never disturbs a running Enricher. A nil
// *Enricher, like one opened from an empty Config, returns the zero Info.
type Enricher struct {
	asn, geo, conn, anon, resi, isp *db
	closed                          atomic.Bool
	errs                            atomic.Uint64
}

// db is one open database.
type db struct {
	key, path string
	r         *maxminddb.Reader
	v4only    bool
}

// A Database describes one open database, for status displays.
type Database struct {
	Key   string    `json:"key"` // the Config field's YAML key, e.g. "asn"
	Path  string    `json:"path"`
	Type  string    `json:"type"` // the database's own type, e.g. "GeoLite2-ASN"
	Built time.Time `json:"built"`
}

// Open reads every database cfg names and checks that each is of a type
// its field accepts (an ASN or ISP database for asn, a City or Country
// database for geo, and so on). It reports every problem at once, each
// prefixed with the field's key.
func Open(cfg Config) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Enricher{}
	dst := []**db{&e.asn, &e.geo, &e.conn, &e.anon, &e.resi, &e.isp}
	var errs []error
	for i, s := range cfg.slots() {
		if s.path == "" {
			continue
		}
		d, err := openDB(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.key, err))
			continue
		}
		*dst[i] = d
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

func openDB(s slot) (*db, error) {
	buf, err := os.ReadFile(s.path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.path, err)
	}
	typ := r.Metadata.DatabaseType
	ok := false
	for _, t := range s.types {
		if strings.Contains(typ, t) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("open %s: database type %q, want one of %s", s.path, typ, strings.Join(s.types, ", "))
	}
	return &db{key: s.key, path: s.path, r: r, v4only: r.Metadata.IPVersion == 4}, nil
}

// Close marks the Enricher closed; later lookups return the zero Info.
// Lookups in progress finish safely: the memory is released when the last
// reference to the Enricher is dropped.
func (e *Enricher) Close() error {
	if e != nil {
		e.closed.Store(true)
	}
	return nil
}

// Databases lists the open databases in Config field order.
func (e *Enricher) Databases() []Database {
	if e == nil {
		return nil
	}
	var out []Database
	for _, d := range []*db{e.asn, e.geo, e.conn, e.anon, e.resi, e.isp} {
		if d != nil {
			out = append(out, Database{Key: d.key, Path: d.path, Type: d.r.Metadata.DatabaseType, Built: d.r.Metadata.BuildTime().UTC()})
		}
	}
	return out
}

// Errors returns how many lookups failed on a database error (a corrupt
// record, say). Such lookups leave the affected fields zero.
func (e *Enricher) Errors() uint64 {
	if e == nil {
		return 0
	}
	return e.errs.Load()
}

// asnRecord decodes ASN and ISP databases.
type asnRecord struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
	ISP string `maxminddb:"isp"`
}

type connRecord struct {
	ConnectionType string `maxminddb:"connection_type"`
}

// anonRecord decodes Anonymous-IP, Anonymous-Plus and Residential-Proxy
// databases.
type anonRecord struct {
	Anonymous   bool   `maxminddb:"is_anonymous"`
	VPN         bool   `maxminddb:"is_anonymous_vpn"`
	Hosting     bool   `maxminddb:"is_hosting_provider"`
	PublicProxy bool   `maxminddb:"is_public_proxy"`
	Residential bool   `maxminddb:"is_residential_proxy"`
	Tor         bool   `maxminddb:"is_tor_exit_node"`
	Provider    string `maxminddb:"provider_name"`
	Confidence  uint32 `maxminddb:"anonymizer_confidence"`
	LastSeen    string `maxminddb:"network_last_seen"`
}

// decode looks addr up in d and decodes the record into v. It reports
// whether a record was found and decoded.
func (e *Enricher) decode(d *db, addr netip.Addr, v any) bool {
	if d == nil || (d.v4only && !addr.Is4()) {
		return false
	}
	res := d.r.Lookup(addr)
	if !res.Found() {
		if res.Err() != nil {
			e.errs.Add(1)
		}
		return false
	}
	if err := res.Decode(v); err != nil {
		e.errs.Add(1)
		return false
	}
	return true
}

// scratch holds the records one Lookup decodes into. Decoding through an
// interface moves its target to the heap, so targets are pooled: Lookup
// drops from 4 allocations to 0 (BenchmarkLookup, 2026-09).
type scratch struct {
	asn    asnRecord
	conn   connRecord
	anon   anonRecord
	iso    string
	asnNum uint32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Lookup returns what the databases say about addr. IPv4-mapped IPv6
// addresses are looked up as IPv4, and zones are ignored. It returns the
// zero Info for an invalid address, when nothing is configured, or after
// Close.
func (e *Enricher) Lookup(addr netip.Addr) Info {
	var info Info
	if e == nil || !addr.IsValid() || e.closed.Load() {
		return info
	}
	addr = addr.Unmap().WithZone("")
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if s.asn = (asnRecord{}); e.decode(e.asn, addr, &s.asn) {
		info.ASN, info.Org, info.ISP = s.asn.ASN, s.asn.Org, s.asn.ISP
	}
	if s.asn = (asnRecord{}); e.decode(e.isp, addr, &s.asn) {
		info.ISP = s.asn.ISP
		if info.ASN == 0 {
			info.ASN, info.Org = s.asn.ASN, s.asn.Org
		}
	}
	info.Country = e.country(addr, &s.iso)
	if s.conn = (connRecord{}); e.decode(e.conn, addr, &s.conn) {
		info.ConnectionType = s.conn.ConnectionType
	}
	if s.anon = (anonRecord{}); e.decode(e.anon, addr, &s.anon) {
		info.Flags |= s.anon.flags()
		info.setProxy(&s.anon)
	}
	if s.anon = (anonRecord{}); e.decode(e.resi, addr, &s.anon) {
		// Every network in a Residential-Proxy database is one.
		info.Flags |= s.anon.flags() | FlagResidentialProxy
		info.setProxy(&s.anon)
	}
	return info
}

// countryPaths are the paths to a country code in City and Country
// records, in order of preference. They are built once, since a variadic
// call would allocate them on every lookup.
var countryPaths = [][]any{{"country", "iso_code"}, {"registered_country", "iso_code"}}

// country returns the ISO code of the country of addr, else of its
// registered country. City records are large, so the two fields are
// decoded by path: 2.5x faster than decoding a struct (2026-09).
func (e *Enricher) country(addr netip.Addr, iso *string) string {
	d := e.geo
	if d == nil || (d.v4only && !addr.Is4()) {
		return ""
	}
	res := d.r.Lookup(addr)
	if !res.Found() {
		if res.Err() != nil {
			e.errs.Add(1)
		}
		return ""
	}
	for _, path := range countryPaths {
		*iso = ""
		if err := res.DecodePath(iso, path...); err != nil {
			e.errs.Add(1)
			return ""
		}
		if *iso != "" {
			return *iso
		}
	}
	return ""
}

// ASN returns the autonomous system number of addr, or 0 when unknown. It
// reads only the ASN (or ISP) database, so it is cheaper than Lookup; use
// it to match ASN indicators.
func (e *Enricher) ASN(addr netip.Addr) uint32 {
	if e == nil || !addr.IsValid() || e.closed.Load() {
		return 0
	}
	addr = addr.Unmap().WithZone("")
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	for _, d := range [...]*db{e.asn, e.isp} {
		if d == nil || d.v4only && !addr.Is4() {
			continue
		}
		res := d.r.Lookup(addr)
		if !res.Found() {
			continue
		}
		s.asnNum = 0
		if err := res.DecodePath(&s.asnNum, asnPath...); err != nil {
			e.errs.Add(1)
			continue
		}
		if s.asnNum != 0 {
			return s.asnNum
		}
	}
	return 0
}

var asnPath = []any{"autonomous_system_number"}

func (r *anonRecord) flags() Flags {
	var f Flags
	set := func(b bool, flag Flags) {
		if b {
			f |= flag
		}
	}
	set(r.Anonymous, FlagAnonymous)
	set(r.VPN, FlagAnonymousVPN)
	set(r.Hosting, FlagHostingProvider)
	set(r.PublicProxy, FlagPublicProxy)
	set(r.Residential, FlagResidentialProxy)
	set(r.Tor, FlagTorExitNode)
	return f
}

func (i *Info) setProxy(r *anonRecord) {
	if r.Provider != "" {
		i.ProxyProvider = r.Provider
	}
	if r.Confidence != 0 {
		i.ProxyConfidence = uint8(min(r.Confidence, 100))
	}
	if r.LastSeen != "" {
		if t, err := time.Parse(time.DateOnly, r.LastSeen); err == nil {
			i.ProxyLastSeen = t
		}
	}
}
