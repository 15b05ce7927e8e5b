package sim

import (
	"fmt"
	"net/netip"
)

// The address plan. Every simulated address comes from the benchmarking
// range 198.18.0.0/15 (RFC 2544) or a documentation range (RFC 5737,
// RFC 3849), so no default allowlist hides it and no real network is
// named. The package documentation lays it out for people.
var (
	inside4    = netip.MustParsePrefix("198.18.0.0/16")
	dhcpPool   = netip.MustParsePrefix("198.18.0.0/17")   // subscriber lines
	cgnatPool  = netip.MustParsePrefix("198.18.128.0/20") // carrier-grade NAT public side
	serverPool = netip.MustParsePrefix("198.18.200.0/22") // hosted servers

	inside6    = netip.MustParsePrefix("2001:db8:1000::/36")
	outside4   = netip.MustParsePrefix("198.19.0.0/16") // the simulated Internet
	outside6   = netip.MustParsePrefix("2001:db8:8000::/33")
	botnetNet  = netip.MustParsePrefix("203.0.113.0/24")  // the botnet's hosting provider
	serviceNet = netip.MustParsePrefix("192.0.2.0/24")    // the login services' operator
	vpsNet     = netip.MustParsePrefix("198.51.100.0/24") // a VPS provider (the brute forcer)

	exporterAddr  = netip.MustParseAddr("198.18.255.1")
	collectorAddr = netip.MustParseAddr("198.18.255.2")
	sshAddr       = netip.MustParseAddr("192.0.2.22")
	webAddr       = netip.MustParseAddr("192.0.2.80")
	bruteAddr     = netip.MustParseAddr("198.51.100.66")
)

// Limits that keep a scenario inside the plan.
const (
	maxInsideHosts = 28000 // of the 32,768 DHCP addresses, leaving room for churn
	maxServers     = 1000
	maxSites       = 20000
	maxC2          = 10 // 203.0.113.16 up, collector after the servers
	maxBackconnect = 16 // 203.0.113.64/28
)

// The outside network types, in the order of their blocks in 198.19.0.0/16.
type netType uint8

const (
	netResidential netType = iota // 198.19.0.0/18, 32 networks of two /24s
	netMobile                     // 198.19.64.0/19, 16 networks of two /24s
	netCorporate                  // 198.19.96.0/19, 16 networks of two /24s
	netHosting                    // 198.19.128.0/17, 32 networks of four /24s
	numNetTypes
)

// A network is one simulated autonomous system.
type network struct {
	index   int // position in the plan, also its IPv6 /48 number
	typ     netType
	asn     uint32
	org     string
	country string
	conn    string         // GeoIP2 connection type
	v4      []netip.Prefix // its /24s
	v6      netip.Prefix   // its /48
}

var netTypeLayout = [numNetTypes]struct {
	first, count, per24 int // first /24 index in 198.19/16, networks, /24s each
	name, conn          string
}{
	netResidential: {0, 32, 2, "Simnet Cable", "Cable/DSL"},
	netMobile:      {64, 16, 2, "Simnet Mobile", "Cellular"},
	netCorporate:   {96, 16, 2, "Simcorp", "Corporate"},
	netHosting:     {128, 32, 4, "Simhost Cloud", "Corporate"},
}

var countries = []string{"US", "DE", "FR", "GB", "NL", "BR", "IN", "ID", "VN", "RU", "CN", "JP",
	"KR", "TR", "PL", "ES", "IT", "MX", "AR", "ZA", "NG", "EG", "UA", "TH", "PH", "CA", "AU",
	"SE", "RO", "PK", "BD", "CO"}

// Fixed networks outside the simulated Internet's block.
const (
	asnInside  = 64496 // documentation ASNs (RFC 5398)
	asnService = 64497
	asnBotnet  = 64498
	asnVPS     = 64499
	asnFirst   = 4200000000 // private-use 32-bit ASNs for the simulated Internet
)

// buildNetworks returns the outside networks of the plan, by type.
func buildNetworks() [numNetTypes][]*network {
	var out [numNetTypes][]*network
	base := outside4.Addr().As4()
	idx := 0
	for t := netType(0); t < numNetTypes; t++ {
		l := netTypeLayout[t]
		for i := 0; i < l.count; i++ {
			n := &network{
				index:   idx,
				typ:     t,
				asn:     asnFirst + uint32(idx) + 1,
				org:     fmt.Sprintf("%s %02d", l.name, i+1),
				country: countries[(idx*7+int(t))%len(countries)],
				conn:    l.conn,
				v6:      net6(idx),
			}
			for j := 0; j < l.per24; j++ {
				third := l.first + i*l.per24 + j
				n.v4 = append(n.v4, netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(third), 0}), 24))
			}
			out[t] = append(out[t], n)
			idx++
		}
	}
	return out
}

// net6 returns the /48 of the idx-th outside network:
// 2001:db8:(8000+idx)::/48.
func net6(idx int) netip.Prefix {
	b := outside6.Addr().As16()
	g := 0x8000 + idx
	b[4], b[5] = byte(g>>8), byte(g)
	return netip.PrefixFrom(netip.AddrFrom16(b), 48)
}

// hostIn returns the n-th usable host address of a /24 (n in [0, 253]).
func hostIn(p netip.Prefix, n int) netip.Addr {
	b := p.Addr().As4()
	b[3] = byte(1 + n%254)
	return netip.AddrFrom4(b)
}

// addrAt returns the address i positions after the start of p (IPv4).
func addrAt(p netip.Prefix, i int) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// inside6Addr returns the IPv6 address of the i-th inside host: ::1 in its
// own /64 of 2001:db8:1000::/36.
func inside6Addr(i int) netip.Addr {
	b := inside6.Addr().As16()
	hi := be64(b[:8]) + uint64(i)
	putBE64(b[:8], hi)
	b[15] = 1
	return netip.AddrFrom16(b)
}

// outside6Addr returns an address in network n's /48: subnet s, host h.
func outside6Addr(n *network, s uint16, h uint64) netip.Addr {
	b := n.v6.Addr().As16()
	b[6], b[7] = byte(s>>8), byte(s)
	putBE64(b[8:], h)
	return netip.AddrFrom16(b)
}

func be64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func putBE64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
