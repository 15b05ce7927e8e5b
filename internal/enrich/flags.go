package enrich

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Flags are what anonymiser databases say an address is. The zero Flags
// says nothing.
type Flags uint8

// The flags.
const (
	FlagAnonymous        Flags = 1 << iota // any kind of anonymiser
	FlagAnonymousVPN                       // a commercial VPN exit
	FlagHostingProvider                    // a hosting or VPS provider
	FlagPublicProxy                        // a public (open) proxy
	FlagResidentialProxy                   // a residential proxy exit
	FlagTorExitNode                        // a Tor exit node
	numFlags             = iota
)

var flagNames = [numFlags]string{
	"anonymous", "anonymous-vpn", "hosting-provider", "public-proxy", "residential-proxy", "tor-exit-node",
}

// Names returns the names of the set flags, such as "residential-proxy",
// in a fixed order.
func (f Flags) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String returns the names of the set flags joined by commas, or "" for
// the zero Flags.
func (f Flags) String() string { return strings.Join(f.Names(), ",") }

// ParseFlags reverses String.
func ParseFlags(s string) (Flags, error) {
	var f Flags
	if s == "" {
		return 0, nil
	}
next:
	for n := range strings.SplitSeq(s, ",") {
		for i, name := range flagNames {
			if n == name {
				f |= 1 << i
				continue next
			}
		}
		return 0, fmt.Errorf("flag %q: unknown", n)
	}
	return f, nil
}

// MarshalJSON encodes f as an array of names.
func (f Flags) MarshalJSON() ([]byte, error) {
	names := f.Names()
	if names == nil {
		names = []string{}
	}
	return json.Marshal(names)
}

// UnmarshalJSON decodes an array of names.
func (f *Flags) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	v, err := ParseFlags(strings.Join(names, ","))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
