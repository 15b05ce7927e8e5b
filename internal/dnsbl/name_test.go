package dnsbl

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func TestClassify(t *testing.T) {
	s := fixtureServer(t)
	tests := []struct {
		name string
		zone string // "" for none
		kind nameKind
		addr string
	}{
		{"7.2.0.192.bl.test.", "bl.test.", nameAddr, "192.0.2.7"},
		{"7.2.0.192.PROXIES.bl.test.", "proxies.bl.test.", nameAddr, "192.0.2.7"},
		{"000.00.0.0.bl.test.", "bl.test.", nameAddr, "0.0.0.0"},
		{reverse("2001:db8::1", "bl.test."), "bl.test.", nameAddr, "2001:db8::1"},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.bl.test.", "bl.test.", nameAddr, "2001:db8::1"},
		{reverse("::ffff:192.0.2.7", "bl.test."), "bl.test.", nameAddr, "192.0.2.7"},
		{"bl.test.", "bl.test.", nameApex, ""},
		{"proxies.bl.test.", "proxies.bl.test.", nameApex, ""},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.g.bl.test.", "bl.test.", nameOther, ""},
		{"1000.2.0.192.bl.test.", "bl.test.", nameOther, ""},
		{"x.proxies2.bl.test.", "bl.test.", nameOther, ""},
		{"otherbl.test.", "", 0, ""},
		{"test.", "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wire, err := packName(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			// packName lower-cases; classify must not need it.
			if _, err := dns.PackDomainName(tc.name, wire, 0, nil, false); err != nil {
				t.Fatal(err)
			}
			_, labels, ok := scanName(wire, 0, nil)
			if !ok {
				t.Fatalf("scanName(%s) failed", tc.name)
			}
			zi, zl := s.findZone(wire, labels)
			if tc.zone == "" {
				if zi >= 0 {
					t.Errorf("findZone(%s) = %s, want none", tc.name, s.zones[zi].name)
				}
				return
			}
			if zi < 0 || s.zones[zi].name != tc.zone {
				t.Fatalf("findZone(%s) = %d, want %s", tc.name, zi, tc.zone)
			}
			kind, addr := classify(wire, labels, zl)
			var want netip.Addr
			if tc.addr != "" {
				want = netip.MustParseAddr(tc.addr)
			}
			if kind != tc.kind || addr != want {
				t.Errorf("classify(%s) = %d %v, want %d %v", tc.name, kind, addr, tc.kind, want)
			}
		})
	}
}

// FuzzName feeds query names to the name reader: no panic, and an
// address it reads asks for the same address when written back.
func FuzzName(f *testing.F) {
	for _, n := range []string{"7.2.0.192.bl.test.", reverse("2001:db8::1", "bl.test."), "bl.test.", "a.b.bl.test.",
		"01.2.0.192.proxies.bl.test.", reverse("::ffff:127.0.0.2", "BL.TEST."), `1\.2.0.192.bl.test.`, "\\000.1.1.1.bl.test."} {
		f.Add(n)
	}
	s := fixtureServer(f)
	f.Fuzz(func(t *testing.T, name string) {
		wire := make([]byte, maxName+1)
		off, err := dns.PackDomainName(dns.Fqdn(name), wire, 0, nil, false)
		if err != nil {
			return
		}
		wire = wire[:off]
		_, labels, ok := scanName(wire, 0, nil)
		if !ok {
			return
		}
		zi, zl := s.findZone(wire, labels)
		if zi < 0 {
			return
		}
		kind, addr := classify(wire, labels, zl)
		if kind != nameAddr {
			return
		}
		back, err := packName(reverse(addr.String(), s.zones[zi].name))
		if err != nil {
			t.Fatal(err)
		}
		_, bl, _ := scanName(back, 0, nil)
		zi2, zl2 := s.findZone(back, bl)
		if k2, a2 := classify(back, bl, zl2); zi2 != zi || k2 != nameAddr || a2 != addr {
			t.Errorf("%q reads as %v; written back it reads as %v", name, addr, a2)
		}
	})
}
