// Package sim is proxywatch's laboratory: it plays a residential-proxy
// botnet incident into the files real networks produce, together with the
// answer key, so that detectors can be tried without data of one's own and
// every change to them can be measured (package eval scores them).
//
// # Model
//
// A [Scenario] describes an inside network (an ISP's subscriber range) and
// what happens in it. Hosts have classes: phones and PCs (people: many
// destinations, a daily rhythm), IoT devices (a few cloud endpoints called
// at regular intervals), end-of-life home routers (their own time sync and
// firmware checks, plus their household's traffic, which shares the
// router's address) and servers (answering outside clients). Hosts may
// change address (DHCP churn) or share one (CGNAT).
//
// A share of the routers and IoT devices is infected. In the 5socks model
// each bot beacons with jitter to one of a few C2 servers in one small
// hosting range, stays pinned to it for days, reports to a silent UDP
// collector, and listens on a proxy port: every relayed session is an
// inbound session from a customer, matched a moment later by an outbound
// session from the bot to the customer's destination with the same bytes
// plus the SOCKS handshake. In the nsocks model the bot holds long sessions
// to backconnect servers that carry the relayed bytes, and only its
// outbound sessions show. Customers also relay credential-stuffing and
// password-spraying campaigns through the bots (and through proxies in
// other networks), each address trying once or twice; a single VPS brute
// forces ssh; honest users log in, mistype, and turn up from new places.
// Honest look-alikes (NTP polling, update checks, a monitoring agent, a
// busy home server, VPN tunnels, office NATs) are there to be confused with
// the bad hosts.
//
// # Engine
//
// Every behaviour is an actor with its own random stream (derived from the
// seed and the actor's name, never from a shared generator), scheduled on
// one time-ordered heap. Actors emit sessions and log lines whose times are
// never before the current time, and each output reorders them as it needs
// in a bounded queue: Zeek writes a connection when it ends, the flow
// exporter when its cache entry expires (active and idle timeouts, sampling,
// a skewed clock), the logs in time order. Memory therefore follows the
// population and the number of open sessions, not the length of the run,
// and the same scenario, size, seed and outputs give byte-identical files.
//
// # Address plan
//
// No simulated address belongs to a real network, and none is hidden by a
// default allowlist:
//
//	198.18.0.0/16         inside (configure it as inside)
//	  198.18.0.0/17         subscriber lines (DHCP pool)
//	  198.18.128.0/20       CGNAT public addresses
//	  198.18.200.0/22       hosted servers
//	  198.18.255.0/24       infrastructure: exporter .1, flow collector .2
//	2001:db8:1000::/36    inside IPv6, one /64 per dual-stack line
//	198.19.0.0/16         the simulated Internet, 96 networks (private-use ASNs 4200000001 up):
//	  198.19.0.0/18         residential ISPs, two /24s each
//	  198.19.64.0/19        mobile carriers
//	  198.19.96.0/19        companies (office NATs)
//	  198.19.128.0/17       hosting and cloud (destinations, proxy customers)
//	2001:db8:8000::/33    the simulated Internet's IPv6, one /48 per network
//	203.0.113.0/24        the botnet's hosting provider (AS64498):
//	                        C2s from .16, the UDP collector after them, backconnect servers from .64
//	192.0.2.0/24          the login services (AS64497): ssh at .22, web at .80
//	198.51.100.0/24       a VPS provider (AS64499): the brute forcer .66, VPN servers .10 and .11
//
// The enrichment databases written with the outputs (GeoLite2-ASN,
// GeoLite2-Country and GeoIP2-Connection-Type layouts) map all of them to
// ASNs, organisations, countries and connection types.
//
// The package writes files and, when asked, sends flow export packets to a
// loopback collector; it never sends anything anywhere else.
package sim
