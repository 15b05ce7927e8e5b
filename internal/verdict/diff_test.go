package verdict

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
)

// A chooser supplies the decisions of a differential run: from a seeded
// generator in tests, from the input bytes in the fuzz target.
type chooser interface {
	intn(n int) int // in [0, n)
	done() bool
}

type rngChooser struct {
	r    *rand.Rand
	left int
}

func (c *rngChooser) intn(n int) int { return c.r.IntN(n) }
func (c *rngChooser) done() bool     { c.left--; return c.left < 0 }

type byteChooser struct{ b []byte }

func (c *byteChooser) intn(n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	if n > 256 && len(c.b) > 0 {
		v = v<<8 | int(c.b[0])
		c.b = c.b[1:]
	}
	return v % n
}
func (c *byteChooser) done() bool { return len(c.b) == 0 }

// cmpNetip compares netip values by value.
var cmpNetip = cmp.Options{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// sameIndicator is a fast equality for the common case; go-cmp explains
// a difference.
func sameIndicator(a, b proxywatch.Indicator) bool {
	return a.Subject == b.Subject && a.Kind == b.Kind && a.Source == b.Source &&
		a.Confidence == b.Confidence && slices.Equal(a.Tags, b.Tags) && a.Port == b.Port &&
		a.Proto == b.Proto && a.Comment == b.Comment && a.FirstSeen.Equal(b.FirstSeen) &&
		a.LastSeen.Equal(b.LastSeen) && a.Expires.Equal(b.Expires)
}

var t0 = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

// A diffRun drives a Table and a refTable through the same operations and
// compares every lookup.
type diffRun struct {
	t    testing.TB
	c    chooser
	tab  *Table
	ref  refTable
	wall time.Time
	pool []netip.Prefix // prefixes indicators are drawn from
	line int
	hits [3]int // lookups with no hit, one hit, more than one
	// inRebuild is set while steps run during a rebuild, between its
	// build and its publication; they then take effect after it.
	inRebuild bool
	deferred  []func()
	steps     []string // the operations so far, for failure messages
}

func newDiffRun(t testing.TB, c chooser, pool []netip.Prefix) *diffRun {
	tab, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New(DefaultConfig()) error: %v", err)
	}
	d := &diffRun{t: t, c: c, tab: tab, wall: t0, pool: pool}
	tab.wall = func() time.Time { return d.wall }
	return d
}

var smallPool = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"192.0.2.0/24", "192.0.2.0/25", "192.0.2.0/28", "192.0.2.4/30", "192.0.2.7/32", "192.0.2.8/32",
		"192.0.2.128/25", "192.0.2.200/32", "192.0.0.0/16", "198.51.100.0/24", "198.51.100.77/32",
		"203.0.113.7/32", "10.0.0.0/8", "10.1.2.3/32", "0.0.0.0/0",
		"2001:db8::/32", "2001:db8::/48", "2001:db8::/64", "2001:db8::1/128", "2001:db8:1::/48",
		"2001:db8::7/128", "::/0",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	feedNames = []string{"local", "a", "b", "c"}
	kinds     = []proxywatch.Kind{proxywatch.KindC2, proxywatch.KindOpenProxy, proxywatch.KindResidentialProxy, proxywatch.KindScanner}
	protos    = []string{"", "socks5"}
)

func (d *diffRun) prefix() netip.Prefix { return d.pool[d.c.intn(len(d.pool))] }

func (d *diffRun) indicator(feed string) proxywatch.Indicator {
	c := d.c
	d.line++
	ind := proxywatch.Indicator{
		Subject:    proxywatch.PrefixSubject(d.prefix()),
		Kind:       kinds[c.intn(len(kinds))],
		Source:     proxywatch.Source{Feed: feed, Section: []string{"", "C2s"}[c.intn(2)], Line: d.line},
		Confidence: uint8(c.intn(110)),
		Port:       uint16(c.intn(2) * 1080),
		Proto:      protos[c.intn(len(protos))],
	}
	if c.intn(3) == 0 {
		ind.Tags = []string{"t" + fmt.Sprint(c.intn(3))}
	}
	if c.intn(4) != 0 {
		ind.Expires = d.wall.Add(time.Duration(c.intn(400)-50)*time.Second + time.Duration(c.intn(1000)))
	}
	if c.intn(2) == 0 {
		ind.LastSeen = d.wall.Add(-time.Duration(c.intn(100)) * time.Second)
	}
	if c.intn(4) == 0 && ind.Subject.Prefix.Addr().Is4() {
		// The table unmaps IPv4-mapped subjects.
		p := ind.Subject.Prefix
		ind.Subject = proxywatch.Subject{Prefix: netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), p.Bits()+96)}
	}
	return ind
}

// addrIn returns an address inside p, or near it.
func (d *diffRun) addr() netip.Addr {
	p := d.prefix()
	b := p.Addr().As16()
	n := d.c.intn(1 << 16)
	b[15] ^= byte(n)
	if d.c.intn(2) == 0 {
		b[14] ^= byte(n >> 8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() && d.c.intn(4) != 0 {
		a = a.Unmap()
	}
	return a
}

func (d *diffRun) logf(format string, args ...any) {
	d.steps = append(d.steps, fmt.Sprintf(format, args...))
}

func (d *diffRun) fail(format string, args ...any) {
	d.t.Helper()
	tail := d.steps[max(0, len(d.steps)-30):]
	d.t.Fatalf("after %d steps (last: %q): %s", len(d.steps), tail, fmt.Sprintf(format, args...))
}

// duringRebuild arranges, at random, for the next rebuild to run a few
// put and delete steps between building and publishing. They reach the
// table then, and the reference after its own rebuild, in finishRebuild.
func (d *diffRun) duringRebuild() {
	if d.c.intn(3) != 0 {
		return
	}
	n := 1 + d.c.intn(4)
	d.tab.rebuilt = func() {
		d.tab.rebuilt = nil
		d.inRebuild = true
		for range n {
			d.step()
		}
		d.inRebuild = false
	}
	d.logf("%d steps during the next rebuild", n)
}

// finishRebuild applies to the reference the steps run during a rebuild.
func (d *diffRun) finishRebuild() {
	d.tab.rebuilt = nil
	for _, f := range d.deferred {
		f()
	}
	d.deferred = nil
}

// step does one random operation on both tables.
func (d *diffRun) step() {
	c := d.c
	n := c.intn(100)
	if d.inRebuild {
		n %= 50 // put and delete only
	}
	switch {
	case n < 35:
		ind := d.indicator(feedNames[c.intn(len(feedNames))])
		d.logf("put %v %v %s", ind.Subject, ind.Kind, ind.Source.Feed)
		if !d.tab.Put(ind) {
			d.fail("Put(%v) = false, want true", ind.Subject)
		}
		if d.inRebuild {
			d.deferred = append(d.deferred, func() { d.ref.put(ind) })
			return
		}
		d.ref.put(ind)
		if !ind.Expires.Before(d.wall) && c.intn(3) == 0 {
			a := unmapPrefix(ind.Subject.Prefix).Addr()
			d.check(a, ind.Expires)
			d.check(a, ind.Expires.Add(-time.Nanosecond))
		}
	case n < 50:
		var k proxywatch.Key
		if len(d.ref.inds) > 0 && c.intn(4) != 0 {
			k = d.ref.inds[c.intn(len(d.ref.inds))].Key()
		} else {
			ind := d.indicator(feedNames[c.intn(len(feedNames))])
			k = ind.Key()
		}
		d.logf("delete %v %v %s", k.Subject, k.Kind, k.Feed)
		if d.inRebuild {
			// Delete's result reflects the table before the rebuild.
			d.tab.Delete(k)
			d.deferred = append(d.deferred, func() { d.ref.delete(k) })
			return
		}
		got, want := d.tab.Delete(k), d.ref.delete(k)
		if got != want {
			d.fail("Delete(%v) = %v, want %v", k, got, want)
		}
	case n < 58:
		feed := feedNames[c.intn(len(feedNames))]
		inds := make([]proxywatch.Indicator, c.intn(30))
		for i := range inds {
			inds[i] = d.indicator(feed)
			if c.intn(5) == 0 && i > 0 { // a duplicate key
				inds[i].Subject, inds[i].Kind = inds[i-1].Subject, inds[i-1].Kind
				inds[i].Port, inds[i].Proto = inds[i-1].Port, inds[i-1].Proto
			}
		}
		if c.intn(5) == 0 {
			inds = append(inds, proxywatch.Indicator{Subject: proxywatch.DomainSubject("proxy.example")})
		}
		d.logf("replace %s (%d)", feed, len(inds))
		d.duringRebuild()
		got, want := d.tab.ReplaceFeed(feed, inds), d.ref.replaceFeed(feed, inds, d.wall)
		if got != want {
			d.fail("ReplaceFeed(%s) = %d, want %d", feed, got, want)
		}
		d.finishRebuild()
	case n < 60:
		feed := feedNames[c.intn(len(feedNames))]
		d.logf("remove %s", feed)
		d.duringRebuild()
		d.tab.RemoveFeed(feed)
		d.ref.replaceFeed(feed, nil, d.wall)
		d.finishRebuild()
	case n < 64:
		d.logf("compact")
		d.duringRebuild()
		d.tab.Compact()
		d.ref.compact(d.wall)
		d.finishRebuild()
	case n < 67:
		var ps []netip.Prefix
		for range c.intn(3) {
			ps = append(ps, d.prefix())
		}
		d.logf("allow %v", ps)
		d.tab.SetAllowlist(ps)
		d.ref.allow = ps
	case n < 75:
		d.wall = d.wall.Add(time.Duration(c.intn(60)) * time.Second)
		d.logf("wall %s", d.wall.Sub(t0))
	default:
		if len(d.ref.inds) > 0 {
			// At an expiry, and just before it.
			ind := d.ref.inds[c.intn(len(d.ref.inds))]
			if !ind.Expires.Before(d.wall) {
				d.check(ind.Subject.Prefix.Addr(), ind.Expires)
				d.check(ind.Subject.Prefix.Addr(), ind.Expires.Add(-time.Nanosecond))
			}
		}
		for range 1 + c.intn(4) {
			d.check(d.addr(), d.wall.Add(time.Duration(c.intn(120))*time.Second+time.Duration(c.intn(1000))))
		}
	}
}

// check compares one lookup.
func (d *diffRun) check(addr netip.Addr, now time.Time) {
	d.t.Helper()
	hits := d.tab.LookupAt(addr, now, nil)
	got := make([]proxywatch.Indicator, len(hits))
	wantAllow := d.ref.allowlisted(addr)
	for i, h := range hits {
		got[i] = h.Indicator()
		if h.Allowlisted() != wantAllow {
			d.fail("LookupAt(%v)[%d].Allowlisted() = %v, want %v", addr, i, h.Allowlisted(), wantAllow)
		}
		if !h.Prefix().Contains(addr.Unmap()) {
			d.fail("LookupAt(%v)[%d].Prefix() = %v, does not contain the address", addr, i, h.Prefix())
		}
	}
	want := d.ref.lookup(addr, now)
	d.hits[min(len(want), 2)]++
	sortInds(got)
	sortInds(want)
	if !slices.EqualFunc(want, got, sameIndicator) {
		diff := cmp.Diff(want, got, cmpNetip)
		d.fail("LookupAt(%v, %s) mismatch (-want +got):\n%s", addr, now.Sub(t0), diff)
	}
}

// checkStats compares the table's indicator counts with the reference.
func (d *diffRun) checkStats() {
	d.t.Helper()
	want := map[string]int{}
	for _, ind := range d.ref.inds {
		want[ind.Source.Feed]++
	}
	if got := d.tab.Stats().Feeds; !cmp.Equal(got, want) {
		d.fail("Stats().Feeds = %v, want %v", got, want)
	}
}

func TestDifferentialRandom(t *testing.T) {
	steps := 10000
	if testing.Short() {
		steps = 2000
	}
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			c := &rngChooser{r: rand.New(rand.NewPCG(seed, 42)), left: steps}
			d := newDiffRun(t, c, smallPool)
			for !c.done() {
				d.step()
			}
			d.checkStats()
			t.Logf("lookups with 0, 1, >1 hits: %v", d.hits)
		})
	}
}
