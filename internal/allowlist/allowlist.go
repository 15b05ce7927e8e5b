// Package allowlist holds the address ranges that proxywatch never
// enforces against: by default loopback, private, link-local, CGNAT,
// unique-local and multicast space, plus what the operator adds.
//
// The allowlist governs enforcement only. An allowlisted address is never
// answered as listed by `check`, the DNSBL or forward-auth, and is carved
// out of every export; indicators inside it are still stored and shown as
// allowlisted.
package allowlist

import (
	"errors"
	"fmt"
	"net/netip"
)

// Config configures the allowlist.
type Config struct {
	// Defaults includes the built-in special-purpose ranges (see Defaults).
	Defaults bool `yaml:"defaults"`
	// Prefixes are the operator's own additions: their networks, partners,
	// monitoring hosts.
	Prefixes []netip.Prefix `yaml:"prefixes"`
}

// DefaultConfig returns the configuration used when the section is absent:
// the built-in ranges and nothing else.
func DefaultConfig() Config { return Config{Defaults: true} }

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	for i, p := range c.Prefixes {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("prefixes[%d]: invalid prefix", i))
		} else if p != p.Masked() {
			errs = append(errs, fmt.Errorf("prefixes[%d] %s: host bits set (did you mean %s?)", i, p, p.Masked()))
		}
	}
	return errors.Join(errs...)
}

// Effective returns the effective allowlist of c.
func (c Config) Effective() []netip.Prefix {
	var ps []netip.Prefix
	if c.Defaults {
		ps = append(ps, Defaults()...)
	}
	return append(ps, c.Prefixes...)
}

// Defaults returns the built-in special-purpose ranges: this network,
// loopback, RFC 1918, CGNAT (RFC 6598), link-local, multicast and the
// limited broadcast address for IPv4; unspecified, loopback, unique-local,
// link-local and multicast for IPv6. The benchmarking (198.18.0.0/15) and
// documentation ranges are deliberately absent: the simulator and the tests
// use them as ordinary addresses.
func Defaults() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("224.0.0.0/4"),
		netip.MustParsePrefix("255.255.255.255/32"),
		netip.MustParsePrefix("::/128"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("ff00::/8"),
	}
}
