package allowlist

import (
	"net/netip"
	"strings"
	"testing"
)

func TestDefaultsCoverSpecialRanges(t *testing.T) {
	eff := DefaultConfig().Effective()
	in := func(s string) bool {
		a := netip.MustParseAddr(s)
		for _, p := range eff {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, s := range []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "100.64.0.1", "169.254.1.1", "224.0.0.1", "::1", "fd00::1", "fe80::1", "ff02::1"} {
		if !in(s) {
			t.Errorf("default allowlist misses %s", s)
		}
	}
	// Documentation and benchmarking ranges stay enforceable: the
	// simulator and the tests use them as ordinary addresses.
	for _, s := range []string{"192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.1", "2001:db8::1", "8.8.8.8"} {
		if in(s) {
			t.Errorf("default allowlist covers %s", s)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Config{Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), {}}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "prefixes[0] 192.0.2.1/24: host bits set") || !strings.Contains(err.Error(), "prefixes[1]") {
		t.Errorf("Validate = %v", err)
	}
	if got := (Config{Defaults: false, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}).Effective(); len(got) != 1 {
		t.Errorf("Effective without defaults = %v", got)
	}
}
