package sim

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/truth"
)

type hostClass uint8

const (
	clsPC hostClass = iota
	clsIoT
	clsRouter
	clsServer
	numClasses
)

var classNames = [numClasses]string{"pc", "iot", "router", "server"}

// host is one inside device with its own address (a subscriber line, an
// IoT device's line, a server).
type host struct {
	idx   int
	name  string
	cls   hostClass
	addr  netip.Addr // current IPv4 address
	v6    netip.Addr // invalid unless dual-stack
	cgnat bool
	bot   *bot
}

// track records the truth about one entity in one role.
type track struct {
	h     truth.Host
	spans []span
}

type span struct {
	addr       netip.Addr
	start, end int64
	n          int64
}

// touch records evidence of the role at address a at time t.
func (tr *track) touch(a netip.Addr, t int64) {
	if n := len(tr.spans); n > 0 && tr.spans[n-1].addr == a {
		s := &tr.spans[n-1]
		if t > s.end {
			s.end = t
		}
		if t < s.start {
			s.start = t
		}
		s.n++
		return
	}
	tr.spans = append(tr.spans, span{addr: a, start: t, end: t, n: 1})
}

// peer records a related address (bounded to a few).
func (tr *track) peer(a netip.Addr) {
	if len(tr.h.Peers) < 16 && !slices.Contains(tr.h.Peers, a) {
		tr.h.Peers = append(tr.h.Peers, a)
	}
}

func (tr *track) port(p uint16) {
	if len(tr.h.Ports) < 16 && !slices.Contains(tr.h.Ports, p) {
		tr.h.Ports = append(tr.h.Ports, p)
	}
}

// site is an outside destination people and devices use.
type site struct {
	addr4, addr6 netip.Addr
	port         uint16
	proto        uint8
	svc          string
	resp         float64 // median response bytes
}

// world is everything the actors share: the population, the address
// pools, the outside catalogue and the truth being recorded.
type world struct {
	sc        *Scenario
	seed      uint64
	start     int64
	end       int64
	nets      [numNetTypes][]*network
	hosts     []*host
	byClass   [numClasses][]*host
	dhcpFree  []netip.Addr
	dhcpHead  int
	cgnat     []netip.Addr
	sites     []site
	clouds    []site
	custs     []netip.Addr
	c2        []netip.Addr
	coll      netip.Addr
	bc        []netip.Addr
	ntp       []netip.Addr
	update    netip.Addr
	monitor   netip.Addr
	vpn       []netip.Addr
	bots      []*bot
	tracks    []*track
	byKey     map[trackKey]*track
	outside   map[netip.Addr]bool // outside addresses already handed out as unique sources
	campaigns []*campaign
}

type trackKey struct {
	id       string
	role     proxywatch.Role
	campaign string
}

// track returns the truth track for (id, role), creating it.
func (w *world) track(id string, role proxywatch.Role, inside bool, class string) *track {
	return w.campaignTrack(id, role, inside, class, "")
}

// campaignTrack returns the truth track for (id, role) in one campaign: a
// bot that takes part in two campaigns has an entry for each.
func (w *world) campaignTrack(id string, role proxywatch.Role, inside bool, class, campaign string) *track {
	k := trackKey{id, role, campaign}
	if tr := w.byKey[k]; tr != nil {
		return tr
	}
	tr := &track{h: truth.Host{ID: id, Role: role, Inside: inside, Class: class, Campaign: campaign}}
	w.byKey[k] = tr
	w.tracks = append(w.tracks, tr)
	return tr
}

// randomIn returns a random host address in one of n's /24s.
func randomIn(r *rng, n *network) netip.Addr {
	return hostIn(n.v4[r.intn(len(n.v4))], r.intn(254))
}

// pickNet returns a random network of type t, skewed towards the first.
func (w *world) pickNet(r *rng, t netType) *network {
	ns := w.nets[t]
	return ns[r.zipf(len(ns), 1.2)]
}

// freshOutside returns an outside address of type t not handed out before
// as a unique source.
func (w *world) freshOutside(r *rng, t netType) netip.Addr {
	for i := 0; ; i++ {
		a := randomIn(r, w.pickNet(r, t))
		if !w.outside[a] || i > 50 {
			w.outside[a] = true
			return a
		}
	}
}

func newWorld(sc *Scenario, seed uint64) (*world, error) {
	w := &world{
		sc:      sc,
		seed:    seed,
		start:   sc.Start.UnixMicro(),
		end:     sc.Start.Add(sc.Duration).UnixMicro(),
		nets:    buildNetworks(),
		byKey:   make(map[trackKey]*track),
		outside: make(map[netip.Addr]bool),
	}
	r := newRNG(seed, streamID("world", 0))
	if err := w.buildHosts(r); err != nil {
		return nil, err
	}
	w.buildOutside(r)
	return w, nil
}

func (w *world) buildHosts(r *rng) error {
	h := w.sc.Hosts
	n := h.PC + h.IoT + h.Router
	// The DHCP pool, shuffled: hosts take the first addresses, the rest wait
	// for churn.
	size := 1 << (32 - dhcpPool.Bits())
	pool := make([]netip.Addr, 0, size)
	for i := 0; i < size; i++ {
		a := addrAt(dhcpPool, i)
		if b := a.As4(); b[3] == 0 || b[3] == 255 {
			continue
		}
		pool = append(pool, a)
	}
	for i := len(pool) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		pool[i], pool[j] = pool[j], pool[i]
	}
	if n > len(pool) {
		return fmt.Errorf("hosts: %d do not fit %d addresses", n, len(pool))
	}
	if h.Server > maxServers {
		return fmt.Errorf("hosts.server: %d: at most %d", h.Server, maxServers)
	}
	ncg := int(float64(n) * w.sc.Network.CGNAT.Share)
	per := max(w.sc.Network.CGNAT.PerAddr, 1)
	for i := 0; i < (ncg+per-1)/per; i++ {
		w.cgnat = append(w.cgnat, addrAt(cgnatPool, 1+i))
	}
	used := 0
	add := func(cls hostClass, count int) {
		for i := 0; i < count; i++ {
			ho := &host{idx: len(w.hosts), cls: cls}
			ho.name = fmt.Sprintf("%s-%05d", classNames[cls], i+1)
			switch {
			case cls == clsServer:
				ho.addr = addrAt(serverPool, 10+i)
			case cls != clsIoT && len(w.cgnat) > 0 && r.chance(w.sc.Network.CGNAT.Share):
				ho.cgnat = true
				ho.addr = w.cgnat[r.intn(len(w.cgnat))]
			default:
				ho.addr = pool[used]
				used++
			}
			if cls != clsIoT && r.chance(w.sc.Network.IPv6) {
				ho.v6 = inside6Addr(ho.idx + 1)
			}
			w.hosts = append(w.hosts, ho)
			w.byClass[cls] = append(w.byClass[cls], ho)
		}
	}
	add(clsPC, h.PC)
	add(clsIoT, h.IoT)
	add(clsRouter, h.Router)
	add(clsServer, h.Server)
	w.dhcpFree = pool[used:]
	return nil
}

// newLease moves h to a new address and returns it.
func (w *world) newLease(r *rng, h *host) netip.Addr {
	if h.cgnat {
		h.addr = w.cgnat[r.intn(len(w.cgnat))]
		return h.addr
	}
	if w.dhcpHead >= len(w.dhcpFree) {
		return h.addr
	}
	old := h.addr
	h.addr = w.dhcpFree[w.dhcpHead]
	w.dhcpHead++
	// Compact now and then so the queue does not grow with churn.
	if w.dhcpHead > 4096 && w.dhcpHead*2 > len(w.dhcpFree) {
		w.dhcpFree = append(w.dhcpFree[:0], w.dhcpFree[w.dhcpHead:]...)
		w.dhcpHead = 0
	}
	w.dhcpFree = append(w.dhcpFree, old)
	return h.addr
}

func (w *world) buildOutside(r *rng) {
	sc := w.sc
	for i := 0; i < sc.Hosts.Sites; i++ {
		var n *network
		if r.chance(0.85) {
			n = w.pickNet(r, netHosting)
		} else {
			n = w.pickNet(r, netCorporate)
		}
		s := site{addr4: randomIn(r, n), resp: r.lognormal(30e3, 1.3)}
		if r.chance(0.45) {
			s.addr6 = outside6Addr(n, uint16(r.intn(256)), uint64(r.intn(1<<16)+1))
		}
		switch x := r.float(); {
		case x < 0.78:
			s.port, s.proto, s.svc = 443, 6, "ssl"
		case x < 0.88:
			s.port, s.proto, s.svc = 443, 17, "quic"
		case x < 0.95:
			s.port, s.proto, s.svc = 80, 6, "http"
		case x < 0.98:
			s.port, s.proto, s.svc = 993, 6, "ssl"
		default:
			s.port, s.proto, s.svc = 5222, 6, ""
		}
		w.sites = append(w.sites, s)
	}
	for i := 0; i < 40; i++ {
		n := w.pickNet(r, netHosting)
		s := site{addr4: randomIn(r, n), resp: r.lognormal(600, 0.5)}
		switch i % 3 {
		case 0:
			s.port, s.proto, s.svc = 8883, 6, "ssl"
		case 1:
			s.port, s.proto, s.svc = 443, 6, "ssl"
		default:
			s.port, s.proto, s.svc = 5683, 17, ""
		}
		w.clouds = append(w.clouds, s)
	}
	// Proxy customers: scrapers and fraudsters on VPSes, some on home lines.
	for i := 0; i < sc.Botnet.Relay.Customers; i++ {
		t := netHosting
		if r.chance(0.35) {
			t = netResidential
		}
		w.custs = append(w.custs, w.freshOutside(r, t))
	}
	for i := 0; i < sc.Botnet.C2.Servers; i++ {
		w.c2 = append(w.c2, addrAt(botnetNet, 16+i))
	}
	w.coll = addrAt(botnetNet, 16+sc.Botnet.C2.Servers)
	for i := 0; i < sc.Botnet.Backconnect.Servers; i++ {
		w.bc = append(w.bc, addrAt(botnetNet, 64+i))
	}
	for i := 0; i < 4; i++ {
		w.ntp = append(w.ntp, randomIn(r, w.nets[netHosting][i]))
	}
	w.update = randomIn(r, w.nets[netHosting][5])
	w.monitor = randomIn(r, w.nets[netHosting][7])
	w.vpn = []netip.Addr{addrAt(vpsNet, 10), addrAt(vpsNet, 11)}
}

// truthFile assembles the truth for the run.
func (w *world) truthFile(size string, ex *truth.Export) *truth.File {
	f := &truth.File{
		Schema:   truth.Schema,
		Scenario: w.sc.Name,
		Size:     size,
		Seed:     w.seed,
		Start:    time.UnixMicro(w.start).UTC(),
		End:      time.UnixMicro(w.end).UTC(),
		Inside:   []netip.Prefix{inside4, inside6},
		Services: []truth.Service{
			{Name: "ssh", Addr: sshAddr, Port: 22, Hostname: sshHostname},
			{Name: "web", Addr: webAddr, Port: 443, Hostname: webHostname},
		},
		Export: ex,
		Hosts:  []truth.Host{},
	}
	for _, c := range w.campaigns {
		if c.sum != nil && c.sum.Attempts > 0 {
			f.Campaigns = append(f.Campaigns, *c.sum)
		}
	}
	for _, tr := range w.tracks {
		if len(tr.spans) == 0 {
			continue
		}
		h := tr.h
		for _, s := range tr.spans {
			h.Spans = append(h.Spans, truth.Span{Addr: s.addr, Start: time.UnixMicro(s.start).UTC(),
				End: time.UnixMicro(s.end).UTC(), Events: s.n})
		}
		f.Hosts = append(f.Hosts, h)
	}
	return f
}
