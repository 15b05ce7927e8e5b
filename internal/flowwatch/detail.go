package flowwatch

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/proxywatch/proxywatch"
)

// The kinds of finding whose details are made when output.
const (
	detNone     = iota // the finding is complete
	detBot             // "bot": a client of a server found
	detRelay           // "relay": lockstep relaying
	detExposed         // "exposed_proxy": many clients on a proxy port
	detBotRelay        // "relay" or "exposed_proxy": a bot serving outside clients
	detProxyBot        // "relay": a client of a C2 most of whose clients relay
)

// detail is what a finding says beyond its detector, role, subject,
// confidence and times, kept as numbers: the findings of bots and relays
// are made again every round, and most are merged into the one
// remembered without being output.
type detail struct {
	kind   uint8
	npeers uint8
	port   uint16
	// detBot, detProxyBot
	role                  proxywatch.Role // the server's
	server                addrKey
	flows                 int
	srvRelays, srvClients int32 // detProxyBot: the server's clients, and those relaying
	// detRelay, detExposed, detBotRelay
	peers                       [4]addrKey
	answered, matched, shifted  int32
	clients, dests, portClients float64
	share, chance               float64
}

// emitDetail emits a finding of subject h, as emit would with the finding
// made in full from d.
func (w *Watch) emitDetail(detector string, role proxywatch.Role, h addrKey, conf uint8, start, end int64, d *detail, now int64) {
	f := proxywatch.Finding{Detector: detector, Role: role, Subject: proxywatch.AddrSubject(h.addr()), Inside: true,
		Confidence: conf, Start: us(start), End: us(end)}
	w.store(&f, now, d)
}

// relayDetail returns the detail of a relay state's findings.
func relayDetail(kind uint8, r *relayState, c relayCounts, clients, dests, portClients, share, chance float64) detail {
	return detail{kind: kind, npeers: r.npeers, port: r.port, peers: r.peers, answered: c.answered, matched: c.matched,
		shifted: c.shifted, clients: clients, dests: dests, portClients: portClients, share: share, chance: chance}
}

// settled returns st's finding, its details made if they are due.
func (st *foundState) settled() *proxywatch.Finding {
	d, f := &st.detail, &st.f
	if d.kind == detNone {
		return f
	}
	h := f.Subject.Prefix.Addr()
	switch d.kind {
	case detBot:
		f.Peers = []netip.Addr{d.server.addr()}
		f.Ports = []uint16{d.port}
		f.Counts = map[string]int64{"flows": int64(d.flows)}
		f.Reasons = []string{"client-of-" + string(d.role)}
		f.Summary = fmt.Sprintf("%s contacted %s %s:%d %d times", h, d.role, d.server.addr(), d.port, d.flows)
	case detProxyBot:
		f.Peers = []netip.Addr{d.server.addr()}
		f.Ports = []uint16{d.port}
		f.Counts = map[string]int64{"flows": int64(d.flows), "server_clients": int64(d.srvClients),
			"server_relays": int64(d.srvRelays)}
		f.Reasons = []string{"client-of-proxy-c2"}
		f.Summary = fmt.Sprintf("%s is a client of %s %s:%d, %d of whose %d clients relay", h, d.role,
			d.server.addr(), d.port, d.srvRelays, d.srvClients)
	case detRelay, detExposed, detBotRelay:
		f.Peers = make([]netip.Addr, 0, d.npeers)
		for _, p := range d.peers[:d.npeers] {
			f.Peers = append(f.Peers, p.addr())
		}
		f.Ports = []uint16{d.port}
		if d.kind == detBotRelay {
			f.Counts = map[string]int64{"answered": int64(d.answered), "matched": int64(d.matched),
				"port_clients": int64(math.Round(d.portClients))}
			f.Reasons = []string{"bot-serving-outside-clients"}
			f.Summary = fmt.Sprintf("%s, a bot, answered %.0f outside clients on port %d", h, d.portClients, d.port)
			break
		}
		f.Counts = map[string]int64{"answered": int64(d.answered), "matched": int64(d.matched),
			"chance_matched": int64(d.shifted), "clients": int64(math.Round(d.clients)),
			"destinations": int64(math.Round(d.dests)), "port_clients": int64(math.Round(d.portClients))}
		if d.kind == detExposed {
			f.Reasons = []string{"many-clients-proxy-port"}
			f.Summary = fmt.Sprintf("%s answered %.0f outside clients on port %d", h, d.portClients, d.port)
			break
		}
		f.Scores = map[string]float64{"matched_share": round3(d.share), "chance_share": round3(d.chance)}
		f.Reasons = []string{"lockstep-relay"}
		f.Summary = fmt.Sprintf("%s relayed %d of %d answered sessions from %.0f outside clients to %.0f destinations",
			h, d.matched, d.answered, d.clients, d.dests)
	}
	d.kind = detNone
	return f
}
