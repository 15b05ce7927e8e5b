package authwatch

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// recentEvents is how many failure events each service keeps as evidence
// for alert samples.
const recentEvents = 64

// remember keeps ev as evidence.
func (s *service) remember(ev *proxywatch.Event) {
	s.recent[s.recentN%recentEvents] = *ev
	s.recentN++
}

// sample returns up to n evidence lines of addr, oldest first.
func (s *service) sample(addr netip.Addr, n int) []string {
	return s.sampleWhere(n, func(ev *proxywatch.Event) bool { return ev.Addr == addr })
}

// sampleUser returns up to n evidence lines for user, oldest first.
func (s *service) sampleUser(user string, n int) []string {
	return s.sampleWhere(n, func(ev *proxywatch.Event) bool { return ev.User == user })
}

func (s *service) sampleWhere(n int, keep func(*proxywatch.Event) bool) []string {
	var out []string
	k := min(s.recentN, recentEvents)
	for i := k; i >= 1 && len(out) < n; i-- {
		ev := &s.recent[(s.recentN-i)%recentEvents]
		if keep(ev) {
			out = append(out, evidence(ev))
		}
	}
	return out
}

// evidence formats an event as one line: time, service, client, type,
// user, method and where it was read.
func evidence(ev *proxywatch.Event) string {
	var b strings.Builder
	b.WriteString(ev.Time.UTC().Format(time.RFC3339))
	b.WriteByte(' ')
	b.WriteString(ev.Service)
	b.WriteByte(' ')
	b.WriteString(netip.AddrPortFrom(ev.Addr, ev.Port).String())
	b.WriteByte(' ')
	b.WriteString(ev.Type.String())
	if ev.User != "" {
		b.WriteString(" user=")
		b.WriteString(strconv.Quote(ev.User))
	}
	if ev.Method != "" {
		b.WriteString(" method=")
		b.WriteString(ev.Method)
	}
	if ev.Source != "" || ev.Seq != 0 {
		b.WriteString(" [")
		b.WriteString(ev.Source)
		b.WriteByte('#')
		b.WriteString(strconv.FormatUint(ev.Seq, 10))
		b.WriteByte(']')
	}
	return b.String()
}

// pendingEvidence formats a pending failure like evidence does.
func pendingEvidence(p *pending, svc string) string {
	typ := proxywatch.EventLoginFailure
	if p.invalid {
		typ = proxywatch.EventInvalidUser
	}
	ev := proxywatch.Event{Time: at(p.t), Type: typ, Service: svc, Addr: window.KeyAddr(p.addr), Port: p.port, User: p.user, Source: p.src, Seq: p.seq}
	return evidence(&ev)
}

// prefixOf returns the /24 (IPv4) or /64 (IPv6) of a.
func prefixOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// spreadCounter counts the spread of a set of addresses: exactly while
// small, then with HyperLogLog sketches.
type spreadCounter struct {
	addrs, prefixes, asns, countries *window.HLL
	enriched                         bool
}

func newSpreadCounter() *spreadCounter {
	return &spreadCounter{addrs: window.NewHLL(10), prefixes: window.NewHLL(10), asns: window.NewHLL(8), countries: window.NewHLL(6)}
}

func (c *spreadCounter) add(w *Watch, a netip.Addr) {
	c.addrs.Add(window.HashAddr(a))
	p := prefixOf(a)
	c.prefixes.Add(window.HashAddr(p.Addr()))
	if w.deps.Enrich != nil {
		info := w.deps.Enrich(a)
		if info.ASN != 0 {
			c.asns.Add(window.HashUint(uint64(info.ASN)))
			c.enriched = true
		}
		if info.Country != "" {
			c.countries.Add(window.HashString(info.Country))
			c.enriched = true
		}
	}
}

func (c *spreadCounter) spread() *proxywatch.Spread {
	s := &proxywatch.Spread{Addrs: int(c.addrs.Count()), Prefixes: int(c.prefixes.Count())}
	if c.enriched {
		s.ASNs, s.Countries = int(c.asns.Count()), int(c.countries.Count())
	}
	return s
}

// enrichSpread fills the ASN and country counts of a one-address spread.
func (w *Watch) enrichSpread(s *proxywatch.Spread, a netip.Addr) {
	if w.deps.Enrich == nil {
		return
	}
	info := w.deps.Enrich(a)
	if info.ASN != 0 {
		s.ASNs = 1
	}
	if info.Country != "" {
		s.Countries = 1
	}
}
