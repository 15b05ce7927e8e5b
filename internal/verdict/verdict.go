// Package verdict is the in-memory IP verdict table: it answers, for an
// address, every indicator that covers it, in well under a microsecond and
// without allocating, while feeds are replaced and single indicators come
// and go underneath.
//
// It holds only indicators whose subject is a prefix; domains and ASNs
// live in the store and in enrichment. It does not fetch, parse, store or
// decide: feeds, readers and the store feed it, and `check`, the DNSBL,
// forward-auth and exporters ask it.
//
// # Structure and concurrency
//
// A [Table] publishes immutable snapshots through an atomic pointer.
// Readers load the current snapshot and never lock. A snapshot has two
// parts:
//
//   - the main table, rebuilt aside whenever a whole feed is replaced or
//     removed ([Table.ReplaceFeed], [Table.RemoveFeed]) and swapped in at
//     once, so a reader sees either the old feed or the new one, never part
//     of each;
//   - pending single changes ([Table.Put], [Table.Delete]), applied as
//     persistent (copy-on-write) inserts into a small side trie and
//     published before the call returns, without rebuilding the main table.
//     [Table.Run] and every feed replacement fold them into the main table.
//
// Writers are serialized among themselves; a rebuild does not hold up
// single changes, which are replayed onto the rebuilt table before it is
// swapped in. Pending changes cost lookups little (a Contains on the side
// trie; about 1.15x with 10,000 pending, BenchmarkIncremental, 2026-11), but
// their memory is only reclaimed by folding.
//
// # Memory
//
// An indicator takes about 170 bytes with 1M of them (BenchmarkBuild,
// 2026-11): a 64-byte record holding everything but the strings, which
// indicators of a feed share, and a bart.Fast trie whose value for a
// prefix with one indicator repeats what a lookup needs, so that a lookup
// touches nothing else.
//
// # Matching and combination
//
// A lookup returns every unexpired indicator whose prefix contains the
// address: a /32 open proxy inside a /24 C2 range gives both. IPv4-mapped
// IPv6 addresses are unmapped first. Combining hits is the job of
// [Summarize], the one rule every interface shares:
//
//   - per kind, the hit with the highest confidence wins;
//   - an address is listed for an interface when some hit reaches that
//     interface's minimum confidence ([Config].MinConfidence) and the
//     address is not in the allowlist;
//   - the answer's kind is the highest-priority kind (the order of
//     proxywatch.Kinds: c2 first) among those that reach the minimum.
//
// An allowlisted address ([Table.SetAllowlist]) keeps its hits, each
// marked [Hit.Allowlisted], so that `check` can show them, but is never
// listed.
//
// # Time
//
// [Table.Lookup] reads a coarse clock that [Table.Run] advances every
// 100ms to 200ms ahead of the wall clock: an indicator stops matching up to
// 200ms before it expires, and never after unless Run is starved of CPU
// for over 100ms. Reading the wall clock instead costs about 55ns here, a
// fifth of a lookup. Without Run (a one-shot CLI command) Lookup reads the
// wall clock. [Table.LookupAt] takes the time from the caller. Rebuilds
// drop indicators that have expired by the wall clock; without Run, single
// changes stay pending until the next feed replacement or Compact.
package verdict

import (
	"context"
	"iter"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"
	"github.com/proxywatch/proxywatch"
)

// Run advances the coarse clock every tick, to ahead of the wall clock.
const (
	tick  = 100 * time.Millisecond
	ahead = 2 * tick
)

// A Table is the IP verdict table.
//
// Lookup and LookupAt are safe for concurrent use with each other and with
// every other method, and never block. Writers (Put, Delete, ReplaceFeed,
// RemoveFeed, Compact, SetAllowlist) are safe for concurrent use and
// serialized. Make a Table with New.
type Table struct {
	cfg   Config
	cur   atomic.Pointer[snapshot]
	clock atomic.Int64 // unix nanoseconds, ahead of the wall clock; 0 when Run is not running
	wall  func() time.Time

	rebuild sync.Mutex // serializes rebuilds; taken before mu
	mu      sync.Mutex // serializes publication; guards the fields below
	log     []op       // single changes since the base was built
	intern  interner
	since   time.Time // when the first pending change was made

	rebuilt func() // test hook: called between building and publishing a rebuild
}

// New returns an empty table configured by cfg.
func New(cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Table{cfg: cfg, wall: time.Now}
	t.cur.Store(&snapshot{base: emptyBase})
	return t, nil
}

// Lookup appends to dst a Hit for every indicator that covers addr and has
// not expired by the table's coarse clock, and returns the extended slice.
// Hits from the main table come first, most specific prefix first; hits
// from pending single changes follow. Lookup does not allocate when dst
// has room for the hits; 16 is plenty in practice. An invalid addr has no
// hits.
func (t *Table) Lookup(addr netip.Addr, dst []Hit) []Hit {
	now := t.clock.Load()
	if now == 0 {
		now = t.wall().UnixNano()
	}
	return t.lookup(addr, now, dst)
}

// LookupAt is like Lookup but tests expiry at now.
func (t *Table) LookupAt(addr netip.Addr, now time.Time, dst []Hit) []Hit {
	return t.lookup(addr, toNano(now), dst)
}

func (t *Table) lookup(addr netip.Addr, now int64, dst []Hit) []Hit {
	s := t.cur.Load()
	addr = addr.Unmap()
	start := len(dst)
	b := s.base
	if e, ok := b.trie.Lookup(addr); ok {
		if !e.many {
			// The common case, answered from the entry alone.
			if e.exp > now {
				dst = append(dst, Hit{r: &b.recs[e.i], kind: e.kind, conf: e.conf})
			}
		} else {
			for l := b.links[e.i]; ; l = b.links[l.up] {
				for j := l.off; j < l.off+l.n; j++ {
					if r := &b.recs[j]; r.exp > now {
						dst = append(dst, hitOf(r))
					}
				}
				if l.up < 0 {
					break
				}
			}
		}
	}
	// Contains first: most addresses are outside every pending change,
	// and it costs a fraction of Supernets.
	if s.ov != nil && s.ov.Contains(addr) {
		dst = s.overlayHits(addr, now, start, dst)
	}
	if len(dst) > start && s.allow != nil && s.allow.Lookup(addr) {
		for k := start; k < len(dst); k++ {
			dst[k].allow = true
		}
	}
	return dst
}

// Put adds ind, or replaces the indicator with the same key
// (ind.Key()), and makes it visible to lookups before it returns. It
// reports false, and does nothing, when the subject is not a prefix.
func (t *Table) Put(ind proxywatch.Indicator) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.intern.makeRec(ind.Source.Feed, &ind)
	if !ok {
		return false
	}
	t.applyLocked(op{r: r})
	return true
}

// Delete removes the indicator with key k and reports whether there was
// one. The change is visible to lookups before Delete returns.
func (t *Table) Delete(k proxywatch.Key) bool {
	r, ok := keyRec(k)
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.applyLocked(op{r: r, del: true})
}

func (t *Table) applyLocked(o op) bool {
	s, found := t.cur.Load().apply(&o)
	if len(t.log) == 0 {
		t.since = t.wall()
	}
	t.log = append(t.log, o)
	t.cur.Store(s)
	return found
}

// ReplaceFeed replaces every indicator of feed by inds, as one change:
// lookups see either the old feed or the new one. Each indicator's
// Source.Feed is taken to be feed; indicators whose subject is not a prefix
// are skipped; of indicators with the same key, the one with the highest
// confidence (then latest expiry) is kept. Pending single changes are
// folded in at the same time. ReplaceFeed returns the number of
// indicators the feed now has in the table.
func (t *Table) ReplaceFeed(feed string, inds []proxywatch.Indicator) int {
	return t.ReplaceFeedSeq(feed, slices.Values(inds))
}

// ReplaceFeedSeq is like ReplaceFeed but reads the indicators from seq,
// so that a large feed need not be held as proxywatch.Indicator values.
func (t *Table) ReplaceFeedSeq(feed string, seq iter.Seq[proxywatch.Indicator]) int {
	t.rebuild.Lock()
	defer t.rebuild.Unlock()
	var in interner
	var c collector
	for ind := range seq {
		if r, ok := in.makeRec(feed, &ind); ok {
			c.add(r)
		}
	}
	recs := c.sorted()
	c = collector{}
	t.rebuildLocked(feed, true, recs)
	return len(recs)
}

// RemoveFeed removes every indicator of feed, as one change, and folds in
// pending single changes.
func (t *Table) RemoveFeed(feed string) {
	t.rebuild.Lock()
	defer t.rebuild.Unlock()
	t.rebuildLocked(feed, true, nil)
}

// Compact folds pending single changes into the main table and drops
// expired indicators. Run calls it as configured.
func (t *Table) Compact() {
	t.rebuild.Lock()
	defer t.rebuild.Unlock()
	t.rebuildLocked("", false, nil)
}

// rebuildLocked builds a new base from the current snapshot, dropping the
// feed drop when dropping and adding add (sorted by cmpKey, one rec per
// key), then publishes it with the single changes made meanwhile replayed
// on top. The caller holds t.rebuild.
func (t *Table) rebuildLocked(drop string, dropping bool, add []rec) {
	t.mu.Lock()
	s0, n0 := t.cur.Load(), len(t.log)
	t.mu.Unlock()

	now := t.wall().UnixNano()
	keep, pending := s0.live(now, drop, dropping)
	if len(pending) > 0 {
		add = merge(add, func(int) bool { return true }, pending)
	}
	b := newBase(merge(s0.base.recs, keep, add))
	if t.rebuilt != nil {
		t.rebuilt()
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	ns := &snapshot{base: b, allow: t.cur.Load().allow}
	replay := slices.Clone(t.log[n0:])
	for i := range replay {
		ns, _ = ns.apply(&replay[i])
	}
	t.log = replay
	t.since = t.wall()
	t.intern = interner{}
	t.cur.Store(ns)
}

// SetAllowlist replaces the allowlist by ps. Invalid prefixes are
// ignored; IPv4-mapped prefixes are unmapped.
func (t *Table) SetAllowlist(ps []netip.Prefix) {
	l := new(bart.Lite)
	for _, p := range ps {
		var r rec
		if r.setPrefix(p) {
			l.Insert(r.prefix())
		}
	}
	if l.Size() == 0 {
		l = nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := *t.cur.Load()
	s.allow = l
	t.cur.Store(&s)
}

// Run advances the coarse clock that Lookup reads and folds pending single
// changes into the main table once there are cfg.CompactAfter of them or
// the oldest is cfg.CompactInterval old. Folding runs beside the clock, so
// that a long rebuild does not hold the clock back. Run returns nil when
// ctx is done, after any folding in progress has finished.
func (t *Table) Run(ctx context.Context) error {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer t.clock.Store(0)
	var folding atomic.Bool
	for {
		t.clock.Store(t.wall().Add(ahead).UnixNano())
		t.mu.Lock()
		n, since := len(t.log), t.since
		t.mu.Unlock()
		due := n >= t.cfg.CompactAfter || (n > 0 && t.wall().Sub(since) >= t.cfg.CompactInterval)
		if due && folding.CompareAndSwap(false, true) {
			wg.Go(func() {
				defer folding.Store(false)
				t.Compact()
			})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
		}
	}
}

// Stats describes a table's contents.
type Stats struct {
	Indicators int            // indicators held, including expired ones not yet dropped
	Prefixes   int            // distinct prefixes in the main table
	Pending    int            // single changes not yet folded into the main table
	Feeds      map[string]int // indicators per feed
}

// Stats returns the table's current statistics.
func (t *Table) Stats() Stats {
	s := t.cur.Load()
	st := Stats{Prefixes: s.base.trie.Size(), Pending: s.pending, Feeds: make(map[string]int, len(s.base.feeds))}
	for f, n := range s.base.feeds {
		st.Feeds[f] = n
	}
	if s.ov != nil {
		for _, oe := range s.ov.All() {
			for _, d := range oe.dead {
				st.Feeds[s.base.recs[d].meta.feed]--
			}
			countFeeds(st.Feeds, oe.recs)
		}
	}
	for f, n := range st.Feeds {
		if n == 0 {
			delete(st.Feeds, f)
		}
		st.Indicators += n
	}
	return st
}
