package dnsbl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/proxywatch/proxywatch"
)

// Config configures the DNSBL server. The YAML section is `dnsbl`.
type Config struct {
	// Enabled turns the server on. Off by default: a DNSBL needs a zone.
	Enabled bool `yaml:"enabled"`
	// Listen is the address served on UDP and TCP.
	Listen string `yaml:"listen"`
	// Zones are the zones answered; a query outside them is REFUSED.
	Zones []Zone `yaml:"zones"`
	// Allow lists the client prefixes that may query. An empty list allows
	// every client. A UDP query from another client is dropped, a TCP
	// query REFUSED.
	Allow []netip.Prefix `yaml:"allow"`
	// RateLimit limits UDP responses per client prefix.
	RateLimit RateLimit `yaml:"rate_limit"`
	// TXTMax cuts TXT answers to this many bytes, at most 254 (rbldnsd's
	// limit, so that the rbldnsd export answers alike).
	TXTMax int `yaml:"txt_max"`
	// UDPSize is the largest UDP response sent to an EDNS0 client; plain
	// DNS clients get at most 512 bytes.
	UDPSize int `yaml:"udp_size"`
	// TCPIdle closes a TCP connection idle this long.
	TCPIdle time.Duration `yaml:"tcp_idle"`
}

// A Zone is one DNSBL zone, e.g. "proxies.bl.example.org.".
type Zone struct {
	// Name is the zone's fully qualified name, ending in '.'.
	Name string `yaml:"name"`
	// Kinds lists the kinds of indicator the zone answers; empty means
	// every kind.
	Kinds []proxywatch.Kind `yaml:"kinds"`
	// TTL is the time to live of positive answers, SOA and NS records.
	TTL time.Duration `yaml:"ttl"`
	// NegativeTTL is the time to live of NXDOMAIN and empty answers (the
	// SOA minimum, RFC 2308).
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// TXT is the template of TXT answers (see proxywatch.DNSBLTemplate);
	// empty means the zone answers no TXT.
	TXT string `yaml:"txt"`
	// Nameservers are the zone's NS records; the first is the SOA's
	// primary. Default: "localhost.".
	Nameservers []string `yaml:"nameservers"`
	// Hostmaster is the SOA's responsible mailbox, as a name
	// ("hostmaster.example.org."). Default: "hostmaster." + Name.
	Hostmaster string `yaml:"hostmaster"`
}

// RateLimit configures response-rate limiting (RRL) over UDP. Clients are
// grouped by /24 (IPv4) and /56 (IPv6) prefix; each group may receive
// Rate responses a second, with a burst of one second's worth. Over the
// limit, a response is dropped, except every Slip-th one, which is sent
// truncated (TC) so that a real client retries over TCP. Slip 0 never
// sends one; 1 always does.
type RateLimit struct {
	Rate int `yaml:"rate"` // responses a second per prefix; 0 turns RRL off
	Slip int `yaml:"slip"`
	// Prefixes bounds the client prefixes tracked at once; the least
	// recently seen are forgotten first.
	Prefixes int `yaml:"prefixes"`
}

// DefaultTXT is the TXT template of a zone that does not set one.
const DefaultTXT = proxywatch.DNSBLDefaultTXT

// DefaultConfig returns the configuration used when the section is absent.
func DefaultConfig() Config {
	// Off until a zone is configured; 5353 is mDNS, so the default port is another.
	return Config{
		Listen:    "127.0.0.1:8053",
		RateLimit: RateLimit{Rate: 100, Slip: 2, Prefixes: 65536},
		TXTMax:    proxywatch.DNSBLMaxTXT,
		UDPSize:   1232, // the DNS flag day 2020 size: no IP fragmentation
		TCPIdle:   10 * time.Second,
	}
}

// DefaultZone returns a zone named name with the default TTLs and template.
func DefaultZone(name string) Zone {
	return Zone{Name: name, TTL: 5 * time.Minute, NegativeTTL: time.Minute, TXT: DefaultTXT}
}

// withDefaults returns c with each zone's zero TTLs and empty TXT
// template replaced by DefaultZone's.
func (c Config) withDefaults() Config {
	zs := make([]Zone, len(c.Zones))
	for i, z := range c.Zones {
		d := DefaultZone(z.Name)
		if z.TTL == 0 {
			z.TTL = d.TTL
		}
		if z.NegativeTTL == 0 {
			z.NegativeTTL = d.NegativeTTL
		}
		if z.TXT == "" {
			z.TXT = d.TXT
		}
		zs[i] = z
	}
	c.Zones = zs
	return c
}

// Validate reports every problem in c, not just the first. A zone's zero
// TTLs and empty TXT template stand for DefaultZone's.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	c = c.withDefaults()
	var errs []error
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: port must be a number up to 65535", c.Listen))
	}
	if len(c.Zones) == 0 {
		errs = append(errs, errors.New("zones: at least one zone is needed"))
	}
	seen := map[string]bool{}
	for i, z := range c.Zones {
		for _, err := range z.validate() {
			errs = append(errs, fmt.Errorf("zones[%d]: %w", i, err))
		}
		n := strings.ToLower(z.Name)
		if seen[n] {
			errs = append(errs, fmt.Errorf("zones[%d]: name %q: configured twice", i, z.Name))
		}
		seen[n] = true
	}
	for i, p := range c.Allow {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("allow[%d]: invalid prefix", i))
		}
	}
	if r := c.RateLimit; r.Rate < 0 || r.Slip < 0 || (r.Rate > 0 && r.Prefixes < 64) {
		errs = append(errs, fmt.Errorf("rate_limit: rate %d, slip %d and prefixes %d: rate and slip must be at least 0, prefixes at least 64",
			r.Rate, r.Slip, r.Prefixes))
	}
	if c.TXTMax < 1 || c.TXTMax > proxywatch.DNSBLMaxTXT {
		errs = append(errs, fmt.Errorf("txt_max %d: must be between 1 and %d", c.TXTMax, proxywatch.DNSBLMaxTXT))
	}
	if c.UDPSize < 512 || c.UDPSize > 65535 {
		errs = append(errs, fmt.Errorf("udp_size %d: must be between 512 and 65535", c.UDPSize))
	}
	if c.TCPIdle < time.Second {
		errs = append(errs, fmt.Errorf("tcp_idle %s: must be at least 1s", c.TCPIdle))
	}
	return errors.Join(errs...)
}

func (z Zone) validate() []error {
	var errs []error
	if !strings.HasSuffix(z.Name, ".") || z.Name == "." {
		errs = append(errs, fmt.Errorf("name %q: must be fully qualified (end in '.') and not the root", z.Name))
	} else if _, ok := dns.IsDomainName(z.Name); !ok || len(z.Name) > 190 {
		errs = append(errs, fmt.Errorf("name %q: not a domain name of at most 190 bytes", z.Name))
	}
	for _, k := range z.Kinds {
		if k == proxywatch.KindUnknown {
			errs = append(errs, fmt.Errorf("kinds: %q is not a kind a zone can serve", k))
		}
	}
	if z.TTL < time.Second || z.TTL > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("ttl %s: must be between 1s and 1w", z.TTL))
	}
	if z.NegativeTTL < time.Second || z.NegativeTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("negative_ttl %s: must be between 1s and 24h", z.NegativeTTL))
	}
	if _, err := proxywatch.ParseDNSBLTemplate(z.TXT); err != nil {
		errs = append(errs, fmt.Errorf("txt: %w", err))
	}
	for _, ns := range append(slicesClone(z.Nameservers), z.Hostmaster) {
		if ns == "" {
			continue
		}
		if _, ok := dns.IsDomainName(ns); !ok || !strings.HasSuffix(ns, ".") {
			errs = append(errs, fmt.Errorf("nameserver or hostmaster %q: must be a fully qualified name", ns))
		}
	}
	return errs
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
