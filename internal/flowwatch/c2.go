package flowwatch

import (
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
)

// maxAggHosts bounds the clients listed per endpoint in one round.
const maxAggHosts = 2048

// c2agg gathers, in one round, the pairs of one outside endpoint.
type c2agg struct {
	clients, periodic, suspects int
	lift                        float64   // suspects over the base rate (Watch.lift): C2 candidates only
	hosts                       []pairRef // in the round's arena
	off, size                   int       // where in the arena, and how many at most
	single                      pairKey   // the pair, while there is only one
	c2cand                      bool      // a C2 candidate
	scored                      bool      // its pairs' beacon scores count (C2 and collector candidates)
}

type pairRef struct {
	h           addrKey
	n           int
	first, last int64
}

// aggTable holds the c2agg of every endpoint with pairs, in the order the
// pairs table lists them; it is reused from round to round. Its index is
// an open-addressing hash table with linear probing, sized at reset to at
// least twice the endpoints a round can hold (no more than the pairs):
// each slot holds the high half of the key's hash next to its position
// plus one (0: empty). A round does one lookup per pair, and a Go map's
// hashing of the key was most of the cost.
type aggTable struct {
	slots []uint64
	mask  uint64
	keys  []epKey
	list  []c2agg
}

// reset empties t for a round of at most n endpoints.
func (t *aggTable) reset(n int) *aggTable {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if len(t.slots) < size {
		t.slots = make([]uint64, size)
	} else {
		clear(t.slots)
	}
	t.mask = uint64(len(t.slots) - 1)
	t.keys, t.list = t.keys[:0], t.list[:0]
	return t
}

// slot returns where k's slot is, or the empty slot where it would go,
// and whether k is there.
func (t *aggTable) slot(k epKey, h uint64) (uint64, bool) {
	tag := h >> 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return i, false
		}
		if s>>32 == tag && t.keys[uint32(s)-1] == k {
			return i, true
		}
	}
}

// index returns the index of k's c2agg in list, adding it if new.
func (t *aggTable) index(k epKey) int32 {
	h := k.hash()
	i, ok := t.slot(k, h)
	if ok {
		return int32(uint32(t.slots[i]) - 1)
	}
	n := int32(len(t.list))
	t.slots[i] = h>>32<<32 | uint64(n+1)
	t.keys = append(t.keys, k)
	t.list = append(t.list, c2agg{})
	return n
}

func (t *aggTable) find(k epKey) *c2agg {
	if i, ok := t.slot(k, k.hash()); ok {
		return &t.list[uint32(t.slots[i])-1]
	}
	return nil
}

// groupKey puts endpoints of one provider's range and one service
// together: C2 servers of one botnet sit side by side.
type groupKey struct {
	net  addrKey // the /24 (IPv4) or /48 (IPv6)
	port uint16
	prot uint16 // the IP protocol, widened: a key without padding hashes and compares as plain memory
}

func groupOf(k epKey) groupKey {
	a := k.addr.addr()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return groupKey{net: keyOf(p.Addr()), port: k.port, prot: k.prot}
}

// evalEndpoints reports collectors, C2 servers and the bots that talk to
// them.
func (w *Watch) evalEndpoints(now, ep int64) {
	win := w.cfg.Window.Microseconds()
	for i := range w.eps.ents {
		e := &w.eps.ents[i].val
		e.flags = 0
		if w.eps.ents[i].key.prot == flow.ProtoUDP && w.collectorish(e, ep) {
			e.flags |= epCollCand
		}
	}
	// One pass over the pairs: clients per endpoint. Pairs are due for
	// scoring when they have enough connections and something new since
	// the last round; the score itself is worked out only where it counts
	// (pairScores). Pairs idle for a window go in the same pass, as
	// table.sweep would drop them.
	// A pair remembers its endpoint's index in the previous round's
	// aggregates: the endpoint is looked up in the index once a round, not
	// once per pair.
	w.aggPrev, w.aggs.keys = w.aggs.keys, w.aggPrev
	prev := w.aggPrev
	aggs := w.aggs.reset(len(w.pairs.ents))
	round := w.stats.Evals
	w.aggRemap = slices.Grow(w.aggRemap[:0], len(prev))[:len(prev)]
	for i := range w.aggRemap {
		w.aggRemap[i] = -1
	}
	w.pairAgg = w.pairAgg[:0]
	for i := 0; i < len(w.pairs.ents); i++ {
		k, p := &w.pairs.ents[i].key, &w.pairs.ents[i].val
		if p.last < now-win {
			w.pairs.removeAt(i)
			i--
			continue
		}
		if p.n >= int32(w.cfg.Beacon.MinConns) && (p.last > p.scoredAt || p.scoredAt < now-win/4) {
			p.scoredAt, p.scoredRound, p.pending = now, round, true
		}
		ek := k.ep()
		var ai int32
		if j := p.agg; p.aggRound == int32(round-1) && int(j) < len(prev) && prev[j] == ek {
			if ai = w.aggRemap[j]; ai < 0 {
				ai = aggs.index(ek)
				w.aggRemap[j] = ai
			}
		} else {
			ai = aggs.index(ek)
		}
		p.agg, p.aggRound = ai, int32(round)
		w.pairAgg = append(w.pairAgg, ai)
		a := &aggs.list[ai]
		if a.clients++; a.clients == 1 {
			a.single = *k
		}
	}
	// The endpoints whose clients' beacon scores count: C2 candidates
	// (enough clients, small control traffic) and collector candidates.
	for i := range aggs.list {
		if a := &aggs.list[i]; a.clients >= w.cfg.C2.MinClients {
			a.c2cand = w.c2Candidate(aggs.keys[i], ep)
			a.scored = a.c2cand
		}
	}
	for i := range w.eps.ents {
		if w.eps.ents[i].val.flags&epCollCand != 0 {
			if a := aggs.find(w.eps.ents[i].key); a != nil {
				a.scored = true
			}
		}
	}
	// Second pass: the clients of each of those endpoints, laid out in one
	// arena bounded by the pairs table, and the periodic ones among them.
	// Nothing reads the clients of the others.
	total := 0
	for i := range aggs.list {
		if a := &aggs.list[i]; a.scored {
			a.off, a.size = total, min(a.clients, maxAggHosts)
			total += a.size
		}
	}
	if cap(w.arena) < total {
		w.arena = make([]pairRef, total)
	}
	arena := w.arena[:total]
	for i, ai := range w.pairAgg {
		a := &aggs.list[ai]
		if !a.scored {
			continue
		}
		k, p := &w.pairs.ents[i].key, &w.pairs.ents[i].val
		if n := len(a.hosts); n < a.size {
			a.hosts = arena[a.off : a.off+n+1]
			a.hosts[n] = pairRef{h: k.in, n: int(p.n), first: p.first, last: p.last}
		}
		if b := w.pairScores(p); b.N >= w.cfg.Beacon.MinConns && b.Score >= w.cfg.Beacon.Periodic {
			a.periodic++
		}
	}
	// Endpoints a single host talks to: the one-infected-host view.
	for i := range aggs.list {
		if a := &aggs.list[i]; a.clients == 1 {
			if p := w.pairs.get(a.single); p != nil {
				w.singlePair(a.single, p, now)
			}
		}
	}
	// Collectors first: their senders are suspects for the C2 round.
	type found struct {
		k    epKey
		conf uint8
		role proxywatch.Role
	}
	var servers []found
	for i := range w.eps.ents {
		k, e := w.eps.ents[i].key, &w.eps.ents[i].val
		if e.flags&epCollCand == 0 {
			continue
		}
		if conf := w.reportCollector(k, e, aggs.find(k), now, ep); conf >= w.cfg.ReportConfidence {
			servers = append(servers, found{k, conf, proxywatch.RoleCollector})
			if a := aggs.find(k); a != nil {
				for _, r := range a.hosts {
					w.suspect[r.h] |= sCollector
				}
			}
		}
	}
	w.baseRate = w.suspectBase()
	// C2 candidates: enough clients, small control traffic.
	cands := map[groupKey][]epKey{}
	var groups []groupKey
	for i := range aggs.list {
		k, a := aggs.keys[i], &aggs.list[i]
		if !a.c2cand {
			continue
		}
		w.eps.get(k).flags |= epC2Cand
		g := groupOf(k)
		if cands[g] == nil {
			groups = append(groups, g)
		}
		cands[g] = append(cands[g], k)
	}
	for _, g := range groups {
		// Suspect clients first, for every candidate of the group: a
		// sibling counts as corroboration only when its own clients are
		// mostly suspects too.
		suspicious := 0
		for _, k := range cands[g] {
			a := aggs.find(k)
			for _, r := range a.hosts {
				if w.suspect[r.h]&(sRelay|sBackconnect|sCollector|sExposed) != 0 {
					a.suspects++
				}
			}
			if a.lift = w.lift(a.suspects, a.clients); a.lift >= suspectSibling {
				suspicious++
			}
		}
		for _, k := range cands[g] {
			a := aggs.find(k)
			pinned, siblings := w.pinned(k, a, cands[g])
			sus := suspicious
			if a.lift >= suspectSibling {
				sus--
			}
			if conf := w.reportC2(k, a, c2Group{pinned, siblings, sus}, now, ep); conf >= w.cfg.ReportConfidence {
				servers = append(servers, found{k, conf, proxywatch.RoleC2})
			}
		}
	}
	// The bots of the servers found.
	for _, s := range servers {
		a := aggs.find(s.k)
		if a == nil {
			continue
		}
		conf := min(s.conf, 90) - 5
		for _, r := range a.hosts {
			w.suspect[r.h] |= sBot
			d := detail{kind: detBot, server: s.k.addr, port: s.k.port, role: s.role, flows: r.n}
			w.emitDetail("bot", proxywatch.RoleBot, r.h, conf, r.first, r.last, &d, now)
		}
		if s.role == proxywatch.RoleC2 {
			w.c2Found = append(w.c2Found, s.k)
		}
	}
}

// c2Candidate reports whether endpoint k, with enough clients, is a C2
// candidate: followed, not a collector candidate, answering, with small
// control traffic.
func (w *Watch) c2Candidate(k epKey, ep int64) bool {
	e := w.eps.get(k)
	if e == nil || e.flags&epCollCand != 0 {
		return false
	}
	c := e.counts(ep)
	if c.fromPkts == 0 {
		return false // never answers: a collector's business, not a C2's
	}
	if pk := c.toPkts + c.fromPkts; pk == 0 || (c.toBytes+c.fromBytes)/pk > w.cfg.C2.MaxPacket {
		return false
	}
	return true
}

// settle works out the score a pair was due for at p.scoredAt, from its
// state, unchanged since, and caches it.
func (w *Watch) settle(p *pairState) beaconScores {
	var b beaconScores
	b, w.scratch = scoreBeacon(p, p.scoredAt, w.cfg.Window.Microseconds(), w.scratch)
	p.score, p.scoredN, p.interval = float32(b.Score), int32(b.N), float32(b.Interval)
	p.pending = false
	return b
}

// pairScores returns p's beacon scores as this round sees them: all of
// them when p was due this round, else the score, connections and
// interval cached when it last was.
func (w *Watch) pairScores(p *pairState) beaconScores {
	if p.scoredRound == w.stats.Evals {
		return w.settle(p)
	}
	if p.pending {
		w.settle(p)
	}
	return beaconScores{Score: float64(p.score), N: int(p.scoredN), Interval: float64(p.interval)}
}

// collectorish reports whether e receives small one-way datagrams from
// enough inside hosts, and never answers.
func (w *Watch) collectorish(e *epState, ep int64) bool {
	c := e.counts(ep)

	if c.sessions == 0 || c.toPkts == 0 || c.fromPkts > 0 || c.oneway < c.sessions {
		return false
	}
	// Datagrams, not streams: few sessions of more than three packets
	// (unknowable under sampling, where counts are scaled).
	if c.toBytes/c.toPkts > w.cfg.Collector.MaxPacket || c.multi > 0.1*c.sessions ||
		c.sessions < float64(w.cfg.Collector.MinDatagrams) {
		return false
	}
	return e.clients.count(ep) >= float64(w.cfg.Collector.MinClients)
}

func (w *Watch) reportCollector(k epKey, e *epState, a *c2agg, now, ep int64) uint8 {
	c := e.counts(ep)
	senders := e.clients.count(ep)
	var periodic, suspects float64
	if a != nil && a.clients > 0 {
		periodic = float64(a.periodic) / float64(a.clients)
		n := 0
		for _, r := range a.hosts {
			if w.suspect[r.h]&(sRelay|sBackconnect|sExposed) != 0 {
				n++
			}
		}
		suspects = w.lift(n, a.clients)
	}
	u := 0.0
	if unusualPort(k.port) {
		u = 1
	}
	fan := math.Min(1, math.Log2(senders/float64(w.cfg.Collector.MinClients)+1))
	score := 0.55 + 0.15*fan + 0.1*periodic + 0.1*suspects + 0.1*u
	if w.trace != nil {
		w.trace("collector", k.addr.addr(), k.port, map[string]float64{"senders": senders, "sessions": c.sessions,
			"packets": c.toPkts, "mean_packet": c.toBytes / c.toPkts, "periodic": periodic, "suspects": suspects,
			"unusual": u, "score": score})
	}
	conf := uint8(math.Min(99, 100*score))
	w.emit(&proxywatch.Finding{
		Detector: "udp_collector", Role: proxywatch.RoleCollector, Subject: proxywatch.AddrSubject(k.addr.addr()),
		Confidence: conf, Start: us(e.first), End: us(e.last), Ports: []uint16{k.port}, Peers: samplePeers(a),
		Counts: map[string]int64{"senders": int64(math.Round(senders)), "flows": int64(c.sessions),
			"packets": int64(c.toPkts), "bytes": int64(c.toBytes), "answers": 0, "udp": 1},
		Scores:  map[string]float64{"periodic_share": round3(periodic), "suspect_share": round3(suspects)},
		Reasons: []string{"one-way-udp", "fan-in"},
		Summary: fmt.Sprintf("%.0f inside hosts sent %.0f small UDP datagrams to %s:%d, which never answered",
			senders, c.toPkts, k.addr.addr(), k.port),
	}, now)
	return conf
}

// suspectBase returns the share of the inside hosts followed that some
// detector suspects: the rate at which a random set of clients holds
// suspects by chance.
func (w *Watch) suspectBase() float64 {
	n := w.hosts.len() + w.relays.len()
	if n == 0 {
		return 0
	}
	return math.Min(0.9, float64(len(w.suspect))/float64(n))
}

// lift returns how far the share of suspects among n clients exceeds the
// base rate, from 0 (no more than chance) to 1 (all of them): one suspect
// is discounted as possible coincidence.
func (w *Watch) lift(suspects, n int) float64 {
	if n == 0 || suspects == 0 {
		return 0
	}
	share := float64(suspects-1) / float64(n)
	return math.Max(0, (share-w.baseRate)/(1-w.baseRate))
}

// pinned returns the share of k's clients that talk to no sibling of k
// (another candidate in the same range, on the same port) more than a
// tenth as often as to k, and the number of siblings.
func (w *Watch) pinned(k epKey, a *c2agg, group []epKey) (float64, int) {
	sib := 0
	for _, o := range group {
		if o != k {
			sib++
		}
	}
	if sib == 0 || len(a.hosts) == 0 {
		return 0, 0
	}
	n := 0
	for _, r := range a.hosts {
		ok := true
		for _, o := range group {
			if o == k {
				continue
			}
			if p := w.pairs.get(pairKey{in: r.h, out: o.addr, port: o.port, prot: o.prot}); p != nil && int(p.n) > max(1, r.n/10) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(a.hosts)), sib
}

// suspectSibling is the suspect lift (see Watch.lift) at which a sibling
// of a C2 candidate corroborates it: most of its clients are suspects too.
const suspectSibling = 0.5

// c2Group is what a C2 candidate's siblings (the other candidates in its
// range on the same port) say of it.
type c2Group struct {
	pinned     float64 // share of its clients that talk to no sibling
	siblings   int     // siblings
	suspicious int     // siblings whose clients are mostly suspects
}

// reportC2 scores a C2 candidate: the share of its clients that beacon to
// it periodically, the share pinned to it among siblings, the share that
// other detectors suspect, and corroboration: an unusual port, or a
// sibling whose clients are suspects too.
func (w *Watch) reportC2(k epKey, a *c2agg, g c2Group, now, ep int64) uint8 {
	pinned, siblings := g.pinned, g.siblings
	e := w.eps.get(k)
	c := e.counts(ep)
	clients := float64(a.clients)
	periodic := float64(a.periodic) / clients
	suspects := a.lift
	u := 0.0
	if unusualPort(k.port) {
		u = 1
	}
	// Timing: the share of clients beaconing periodically or, where
	// sampling hides single beacons, how flat the endpoint's hourly
	// contacts are (machines do not sleep).
	flat := histScore(e.hours.counts(now, e.first, nil))
	timing := math.Max(periodic, 0.8*flat)
	corroborated := u
	if g.suspicious > 0 {
		corroborated = 1
	}
	score := 0.35*timing + 0.25*pinned + 0.3*suspects + 0.1*corroborated
	// Periodic machine traffic on a common port is what device clouds and
	// vendor services look like too, and the devices a botnet infects share
	// their vendor's services, with their uninfected siblings: such a
	// service's clients are suspects no more often than the infected share
	// of its devices, where a C2's are all bots. And wherever a tenth of
	// the inside hosts are bots, a server with a handful of inside clients
	// often has a majority of bots among them by chance, but its neighbours
	// do not. On a common port, a C2 must have mostly suspect clients
	// (suspectSibling), pinned among siblings of which one at least has
	// mostly suspect clients too.
	if u == 0 && (suspects < suspectSibling || g.suspicious == 0 || pinned < 0.5) {
		score = math.Min(score, 0.45)
	}
	if w.trace != nil {
		w.trace("c2", k.addr.addr(), k.port, map[string]float64{"clients": clients, "fanin": e.clients.count(ep),
			"periodic": periodic, "flat": flat, "pinned": pinned, "siblings": float64(siblings), "suspect_siblings": float64(g.suspicious), "suspects": suspects,
			"unusual": u, "mean_packet": (c.toBytes + c.fromBytes) / (c.toPkts + c.fromPkts),
			"sessions": c.sessions, "score": score})
	}
	conf := uint8(math.Min(99, 100*score))
	if conf < w.cfg.ReportConfidence {
		return conf
	}
	proto := "tcp"
	if k.prot == flow.ProtoUDP {
		proto = "udp"
	}
	w.emit(&proxywatch.Finding{
		Detector: "c2_fanin", Role: proxywatch.RoleC2, Subject: proxywatch.AddrSubject(k.addr.addr()),
		Confidence: conf, Start: us(e.first), End: us(e.last), Ports: []uint16{k.port}, Peers: samplePeers(a),
		Counts: map[string]int64{"clients": int64(a.clients), "periodic_clients": int64(a.periodic),
			"suspect_clients": int64(a.suspects), "siblings": int64(siblings), "suspect_siblings": int64(g.suspicious),
			"flows": int64(c.sessions)},
		Scores: map[string]float64{"periodic_share": round3(periodic), "hourly_flatness": round3(flat), "pinned_share": round3(pinned),
			"suspect_share": round3(suspects)},
		Reasons: []string{"fan-in", "control-traffic"},
		Summary: fmt.Sprintf("%d inside hosts contact %s:%d/%s (%d periodically, %.0f%% pinned among %d siblings, %d suspected of relaying)",
			a.clients, k.addr.addr(), k.port, proto, a.periodic, 100*pinned, siblings, a.suspects),
	}, now)
	return conf
}

// singlePair reports a C2 seen from one infected host alone: a TCP pair to
// an unusual port whose attempts mostly fail, as a bot's do when its C2 is
// down or sinkholed, and that is strongly periodic or persistent (attempts
// in most hours of the day). Honest periodic clients (monitoring agents,
// update checks) reach their servers.
func (w *Watch) singlePair(k pairKey, p *pairState, now int64) {
	cfg := &w.cfg.Beacon
	if k.prot != flow.ProtoTCP || !unusualPort(k.port) || float64(p.fails) < cfg.FailedShare*float64(p.n) {
		return
	}
	bs := w.pairScores(p)
	b := &bs
	if b.N < cfg.MinConns {
		return
	}
	// Periodic, or persistent: attempts in most hours of the day, as a bot
	// retrying a dead C2 every few seconds makes them.
	hours := p.hours.active(now)
	persistent := hours >= cfg.PersistentHours && p.n >= int32(10*hours)
	if b.Score < cfg.Strong && !persistent {
		return
	}
	conf := uint8(math.Min(69, 50+40*math.Max(0, b.Score-cfg.Strong)/(1-cfg.Strong)))
	if persistent {
		conf = max(conf, 60)
	}
	scores := map[string]float64{"beacon": round3(b.Score), "ts": round3(b.TS), "ds": round3(b.DS),
		"hist": round3(b.Hist), "dur": round3(b.Dur)}
	counts := map[string]int64{"flows": int64(p.n), "failed": int64(p.fails), "interval_s": int64(b.Interval),
		"active_hours": int64(hours)}
	w.emit(&proxywatch.Finding{
		Detector: "beacon", Role: proxywatch.RoleC2, Subject: proxywatch.AddrSubject(k.out.addr()),
		Confidence: conf, Start: us(p.first), End: us(p.last), Peers: []netip.Addr{k.in.addr()},
		Ports: []uint16{k.port}, Counts: counts, Scores: scores, Reasons: []string{"beacon", "failing-attempts"},
		Summary: fmt.Sprintf("%s beacons to %s:%d every %.0fs, %d of %d attempts failing",
			k.in.addr(), k.out.addr(), k.port, b.Interval, p.fails, p.n),
	}, now)
	w.emit(&proxywatch.Finding{
		Detector: "beacon", Role: proxywatch.RoleBot, Subject: proxywatch.AddrSubject(k.in.addr()), Inside: true,
		Confidence: conf, Start: us(p.first), End: us(p.last), Peers: []netip.Addr{k.out.addr()},
		Ports: []uint16{k.port}, Counts: counts, Scores: scores, Reasons: []string{"beacon", "failing-attempts"},
		Summary: fmt.Sprintf("%s beacons to %s:%d every %.0fs", k.in.addr(), k.out.addr(), k.port, b.Interval),
	}, now)
}

func samplePeers(a *c2agg) []netip.Addr {
	if a == nil {
		return nil
	}
	n := min(len(a.hosts), 8)
	out := make([]netip.Addr, 0, n)
	for _, r := range a.hosts[:n] {
		out = append(out, r.h.addr())
	}
	return out
}
