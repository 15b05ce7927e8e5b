package flowwatch

import (
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Suspicion flags of inside hosts, rebuilt every round: a C2's clients
// that are suspects for other reasons make it more likely a C2.
const (
	sRelay = 1 << iota
	sBackconnect
	sCollector
	sExposed
	sBot // client of a C2 or collector found
)

// evaluate scores everything the detectors hold at event time now: inside
// hosts first (relays, backconnect bots), then outside endpoints
// (collectors, C2 servers) with the inside suspects as evidence, then the
// bots of the servers found.
func (w *Watch) evaluate(now int64) {
	began := time.Now()
	defer func() { w.stats.EvalTime += time.Since(began) }()
	w.stats.Evals++
	ep := now / w.epochLen
	w.prevSuspect, w.suspect = w.suspect, w.prevSuspect
	clear(w.suspect)
	w.evalRelays(now, ep)
	w.evalTunnels(now)
	w.c2Found = w.c2Found[:0]
	w.evalEndpoints(now, ep)
	w.evalBotRelays(now, ep)
	w.evalProxyBots(now)
	win := w.cfg.Window.Microseconds()
	w.eps.sweep(func(_ epKey, e *epState) bool { return e.last < now-win })
	w.listed.sweep(func(_ listedKey, t *int64) bool { return *t < now-win })
}

func us(t int64) time.Time { return time.UnixMicro(t).UTC() }

// evalRelays reports relays and exposed proxies.
func (w *Watch) evalRelays(now, ep int64) {
	cfg := &w.cfg.Relay
	win := w.cfg.Window.Microseconds()
	// Relays idle for a window go in the same pass, as table.sweep
	// would drop them.
	for i := 0; i < len(w.relays.ents); i++ {
		h, r := w.relays.ents[i].key, &w.relays.ents[i].val
		if r.last < now-win {
			w.relays.removeAt(i)
			i--
			continue
		}
		c := r.counts(ep)
		clients := r.clients.count(ep)
		portClients := r.portClients.count(ep)
		var share, chance float64
		if c.answered > 0 {
			share = float64(c.matched) / float64(c.answered)
			chance = float64(c.shifted) / float64(c.answered)
		}
		excess := share - chance
		dests := r.dests.count(ep)
		isRelay := int(c.matched) >= cfg.MinMatched && clients >= float64(cfg.MinClients) &&
			dests >= 2 && excess >= cfg.MinShare
		if w.trace != nil {
			w.trace("relay", h.addr(), r.port, map[string]float64{"answered": float64(c.answered), "matched": float64(c.matched),
				"shifted": float64(c.shifted), "clients": clients, "dests": dests, "share": share, "chance": chance,
				"port_clients": portClients, "socks": float64(c.socks)})
		}
		proxyish := w.proxyPort(r.port) || unusualPort(r.port)
		var conf uint8
		switch {
		case !proxyish || portClients < float64(w.cfg.Exposed.MinClients) && !isRelay:
		case isRelay || c.socks > 0:
			conf = 75
		case c.matched >= 2 && excess >= cfg.MinShare/2:
			conf = 55
		default:
			conf = 40 // many clients on a proxy port, no sign of proxying
		}
		if isRelay {
			strength := math.Min(1, (excess-cfg.MinShare)/(1-cfg.MinShare)) * math.Min(1, float64(c.matched)/10)
			conf := uint8(60 + 39*strength)
			r.flags |= sRelay
			w.suspect[h] |= sRelay
			start, end := r.matchFirst, r.matchLast
			if start == 0 {
				start, end = r.first, r.last
			}
			d := relayDetail(detRelay, r, c, clients, dests, portClients, share, chance)
			w.emitDetail("relay", proxywatch.RoleRelay, h, conf, start, end, &d, now)
		}
		if conf > 0 {
			w.suspect[h] |= sExposed
			d := relayDetail(detExposed, r, c, clients, dests, portClients, share, chance)
			w.emitDetail("exposed_proxy", proxywatch.RoleExposedProxy, h, conf, r.first, r.last, &d, now)
		}
	}
}

// evalTunnels reports backconnect bots and, once enough bots share one,
// their backconnect server.
func (w *Watch) evalTunnels(now int64) {
	cfg := &w.cfg.Backconnect
	win := w.cfg.Window.Microseconds()
	// Hosts idle for a window go in the same pass, as table.sweep would
	// drop them.
	for i := 0; i < len(w.hosts.ents); i++ {
		h, st := w.hosts.ents[i].key, &w.hosts.ents[i].val
		if st.last < now-win {
			w.hosts.removeAt(i)
			i--
			continue
		}
		st.roll(now / histWidth)
		for j := range st.peers {
			p := &st.peers[j]
			if p.sessions == 0 {
				continue
			}
			if p.last < now-histWidth*histBuckets {
				*p = tunnelPeer{}
				continue
			}
			t := scoreTunnel(st, p)
			if w.trace != nil {
				w.trace("tunnel", h.addr(), p.ep.port, map[string]float64{"up": t.up, "down": t.down, "other": t.other,
					"explained": t.explained, "other_sessions": float64(t.otherSessions), "span_min": float64(t.span) / 60e6})
			}
			if t.span < cfg.MinDuration.Microseconds() || t.up < float64(cfg.MinBytes) || t.up < cfg.UpRatio*t.down {
				continue
			}
			// Corroboration stands in for evidence that sampling hides:
			// the server carries other bots' tunnels, or the host is a bot.
			knownServer := len(w.bcBots[p.ep]) >= cfg.MinBots
			bot := w.prevSuspect[h]&sBot != 0
			matched := t.explained >= cfg.MinExplain && t.otherSessions >= cfg.MinSessions
			if p.sampled && (bot || knownServer) && t.explained >= cfg.MinExplain && t.otherSessions >= 2 {
				matched = true
			}
			if !matched && !knownServer {
				continue
			}
			st.flags |= sBackconnect
			w.suspect[h] |= sBackconnect
			bots := w.bcBots[p.ep]
			if bots == nil {
				bots = map[addrKey]int64{}
				w.bcBots[p.ep] = bots
			}
			if len(bots) < 1024 {
				bots[h] = now
			}
			vol := math.Min(1, math.Log2(t.up/float64(cfg.MinBytes)+1)/4)
			fit := math.Max(0, (t.explained-cfg.MinExplain)/(1-cfg.MinExplain+1e-9))
			conf := uint8(55 + 44*vol*fit)
			reason := "upload-matches-downloads"
			if !matched {
				conf, reason = 60, "session-to-backconnect-server"
			}
			w.emit(&proxywatch.Finding{
				Detector: "backconnect", Role: proxywatch.RoleBackconnectBot, Subject: proxywatch.AddrSubject(h.addr()),
				Inside: true, Confidence: conf, Start: us(p.first), End: us(p.last),
				Peers: []netip.Addr{p.ep.addr.addr()}, Ports: []uint16{p.ep.port},
				Counts: map[string]int64{"up_bytes": int64(t.up), "down_bytes": int64(t.down),
					"other_down_bytes": int64(t.other), "other_sessions": int64(t.otherSessions), "sessions": int64(p.sessions)},
				Scores:  map[string]float64{"explained": round3(t.explained)},
				Reasons: []string{reason},
				Summary: fmt.Sprintf("%s uploaded %.0f bytes to %s:%d over %s while downloading %.0f bytes from %d other sessions",
					h.addr(), t.up, p.ep.addr.addr(), p.ep.port, time.Duration(t.span*1000).Round(time.Minute), t.other, t.otherSessions),
			}, now)
		}
	}
	for ek, bots := range w.bcBots {
		for h, t := range bots {
			if t < now-win {
				delete(bots, h)
			}
		}
		if len(bots) == 0 {
			delete(w.bcBots, ek)
			continue
		}
		if !w.bcServer(ek, bots, now) {
			continue
		}
		conf := uint8(min(95, 65+5*(len(bots)-cfg.MinBots)))
		peers := make([]netip.Addr, 0, 8)
		for h := range bots {
			if len(peers) == 8 {
				break
			}
			peers = append(peers, h.addr())
		}
		first := now
		if e := w.eps.get(ek); e != nil {
			first = e.first
		}
		w.emit(&proxywatch.Finding{
			Detector: "backconnect", Role: proxywatch.RoleBackconnectC2, Subject: proxywatch.AddrSubject(ek.addr.addr()),
			Confidence: conf, Start: us(first), End: us(now), Peers: peers, Ports: []uint16{ek.port},
			Counts:  map[string]int64{"bots": int64(len(bots))},
			Reasons: []string{"backconnect-server"},
			Summary: fmt.Sprintf("%s:%d carries the relayed traffic of %d inside hosts", ek.addr.addr(), ek.port, len(bots)),
		}, now)
	}
}

// bcServer reports whether the outside endpoint ek, to which the inside
// hosts in bots hold tunnels, is to be reported as a backconnect server:
// min_bots of them, and at least min_bot_share of the inside hosts it
// serves. A server most of whose inside clients are not tunnelling (an ssh
// or file server that a bot's owner happens to use for an hour) is not
// one. (Min_bots alone makes a server corroborate its clients' tunnels, so
// that under sampling its bots are found, and the share grows with them.)
func (w *Watch) bcServer(ek epKey, bots map[addrKey]int64, now int64) bool {
	cfg := &w.cfg.Backconnect
	if len(bots) < cfg.MinBots {
		return false
	}
	e := w.eps.get(ek)
	if e == nil {
		return true // not followed: nothing says otherwise
	}
	clients := max(e.clients.count(now/w.epochLen), float64(len(bots)))
	if w.trace != nil {
		w.trace("bcserver", ek.addr.addr(), ek.port, map[string]float64{"bots": float64(len(bots)), "clients": clients})
	}
	return float64(len(bots)) >= cfg.MinBotShare*clients
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// evalBotRelays reports, among the bots just found, those that accept
// sessions from outside clients on a proxy-like port: a bot serving
// outsiders is relaying for them even where sampling hides the lockstep
// pairs.
func (w *Watch) evalBotRelays(now, ep int64) {
	for i := range w.relays.ents {
		h, r := w.relays.ents[i].key, &w.relays.ents[i].val
		if w.suspect[h]&sBot == 0 || w.suspect[h]&sRelay != 0 {
			continue
		}
		if !w.proxyPort(r.port) && !unusualPort(r.port) {
			continue
		}
		c := r.counts(ep)
		portClients := r.portClients.count(ep)
		if c.matched < 1 && portClients < 1 {
			continue
		}
		w.suspect[h] |= sRelay
		d := relayDetail(detBotRelay, r, c, 0, 0, portClients, 0, 0)
		w.emitDetail("relay", proxywatch.RoleRelay, h, 55, r.first, r.last, &d, now)
		w.emitDetail("exposed_proxy", proxywatch.RoleExposedProxy, h, 55, r.first, r.last, &d, now)
	}
}

// evalProxyBots reports as relays the clients of the C2s found this round
// most of whose clients relay (by lockstep, or as bots serving outside
// clients): a proxy botnet's C2, whose bots all relay, though sampling may
// show a bot's relayed sessions seldom or never. The inference is stated
// as such (reason client-of-proxy-c2), at confidence 55, for bots seen
// with the C2 for proxyMinSpan at least, and made under sampling only:
// where every session is seen, a bot that shows no relaying does not
// relay.
func (w *Watch) evalProxyBots(now int64) {
	for _, k := range w.c2Found {
		a := w.aggs.find(k)
		if e := w.eps.get(k); a == nil || e == nil || !e.sampled {
			continue
		}
		relays := 0
		for _, r := range a.hosts {
			if w.suspect[r.h]&sRelay != 0 {
				relays++
			}
		}
		if w.trace != nil {
			w.trace("proxyc2", k.addr.addr(), k.port, map[string]float64{"relays": float64(relays), "clients": float64(len(a.hosts))})
		}
		if relays < proxyC2MinRelays || 2*relays < len(a.hosts) {
			continue
		}
		for _, r := range a.hosts {
			if w.suspect[r.h]&sRelay != 0 || r.last-r.first < proxyMinSpan {
				continue
			}
			w.suspect[r.h] |= sRelay
			d := detail{kind: detProxyBot, server: k.addr, port: k.port, role: proxywatch.RoleC2, flows: r.n,
				srvRelays: int32(relays), srvClients: int32(len(a.hosts))}
			w.emitDetail("relay", proxywatch.RoleRelay, r.h, 55, r.first, r.last, &d, now)
		}
	}
}

// proxyC2MinRelays is how many of a C2's clients must relay, besides
// most of them, before the others are taken for relays too.
const proxyC2MinRelays = 3

// proxyMinSpan is how long a bot must have been seen talking to its C2
// before it is taken for one of its relays: a bot infected a moment ago
// may not be rented out yet.
const proxyMinSpan = int64(6 * 3600e6) // µs
