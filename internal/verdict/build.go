package verdict

import (
	"math"
	"slices"

	"github.com/gaissmai/bart"
	"github.com/proxywatch/proxywatch"
)

// A base is the immutable main table: every indicator in one flat slice
// sorted by prefix, and a bart.Fast trie from each distinct prefix to an
// entry that locates its indicators.
//
// The entry is the trie's value, and for the common prefix, one indicator
// and no covering prefix, it holds what Lookup and Summarize need (expiry,
// kind, confidence), so that a lookup reads nothing but the trie. Other
// prefixes have a link, which lists their indicators and links to the
// link of their longest strictly covering prefix: one longest-prefix match
// then yields every covering indicator without walking the trie again.
//
// bart.Fast rather than bart.Table: lookups about 1.25x faster for about
// 25 more bytes per prefix (BenchmarkLookupPaired, BenchmarkBuild, 2026-11);
// the base is never updated in place, so Fast's slower updates do not
// matter.
type base struct {
	trie  *bart.Fast[entry]
	links []link
	recs  []rec
	feeds map[string]int // indicators per feed
}

// An entry is the trie's value for a prefix, 16 bytes. When many is false
// the prefix has the one indicator recs[i], whose expiry, kind and
// confidence the entry repeats; otherwise links[i] describes it.
type entry struct {
	exp  int64
	i    int32
	kind proxywatch.Kind
	conf uint8
	many bool
}

// A link lists the recs of a prefix, recs[off:off+n], and the index in
// links of the link of its longest strictly covering prefix, or -1.
type link struct {
	off, n, up int32
}

var emptyBase = newBase(nil)

// newBase builds a base from recs, which must be sorted by cmpPrefix and
// hold no two recs with the same key. The base keeps recs.
func newBase(recs []rec) *base {
	b := &base{trie: new(bart.Fast[entry]), recs: recs, feeds: make(map[string]int)}
	if len(recs) > math.MaxInt32 {
		// Unreachable in practice; memory runs out first.
		recs = recs[:math.MaxInt32]
		b.recs = recs
	}
	// The prefixes open around the current one, innermost last. A
	// supernet sorts before the prefixes it covers.
	type open struct {
		off, n int32
		link   int32 // index in b.links, or -1 until needed
	}
	var stack []open
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && samePrefix(&recs[i], &recs[j]) {
			j++
		}
		for len(stack) > 0 && !covers(&recs[stack[len(stack)-1].off], &recs[i]) {
			stack = stack[:len(stack)-1]
		}
		o := open{off: int32(i), n: int32(j - i), link: -1}
		up := int32(-1)
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.link < 0 {
				top.link = int32(len(b.links))
				b.links = append(b.links, link{off: top.off, n: top.n, up: -1})
			}
			up = top.link
		}
		var e entry
		if o.n == 1 && up < 0 {
			r := &recs[i]
			e = entry{exp: r.exp, i: o.off, kind: r.kind, conf: r.conf}
		} else {
			o.link = int32(len(b.links))
			b.links = append(b.links, link{off: o.off, n: o.n, up: up})
			e = entry{i: o.link, many: true}
		}
		b.trie.Insert(recs[i].prefix(), e)
		stack = append(stack, o)
		i = j
	}
	b.links = slices.Clip(b.links)
	countFeeds(b.feeds, recs)
	return b
}

// countFeeds adds the number of recs per feed to m.
func countFeeds(m map[string]int, recs []rec) {
	var feed string
	n := 0
	for i := range recs {
		if f := recs[i].meta.feed; f != feed || n == 0 {
			if n > 0 {
				m[feed] += n
			}
			feed, n = f, 0
		}
		n++
	}
	if n > 0 {
		m[feed] += n
	}
}

// find returns the index in b.recs of the rec with k's key, or -1.
func (b *base) find(k *rec) int32 {
	e, ok := b.trie.Get(k.prefix())
	if !ok {
		return -1
	}
	l := link{off: e.i, n: 1}
	if e.many {
		l = b.links[e.i]
	}
	for j := l.off; j < l.off+l.n; j++ {
		if sameKey(&b.recs[j], k) {
			return j
		}
	}
	return -1
}

// A collector gathers the recs of a feed in fixed-size chunks, so that a
// feed of unknown length is never copied while it grows.
type collector struct {
	chunks [][]rec
	n      int
}

const chunkSize = 1 << 14

func (c *collector) add(r rec) {
	if c.n%chunkSize == 0 {
		c.chunks = append(c.chunks, make([]rec, 0, chunkSize))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, r)
	c.n++
}

func (c *collector) at(i uint32) *rec { return &c.chunks[i/chunkSize][i%chunkSize] }

// A sortKey is the part of an IPv6 rec that orders it by prefix, with
// the rec's index.
type sortKey struct {
	hi, lo uint64
	i      uint32
	bits   uint8
}

// v4Index bounds the rec indices packed into an IPv4 sort key.
const v4Index = 1 << 26

// sorted returns the collected recs in one slice of exactly their number,
// sorted by key, keeping of each key only the winner by cmpWinner.
//
// IPv4 recs are sorted as uint64s packing address, length and index,
// rather than as recs with a comparison function: a 1M-indicator build
// took 0.77s instead of 1.0s (BenchmarkBuild, 2026-11). Recs with the same
// prefix are then ordered by the full comparison.
func (c *collector) sorted() []rec {
	var v4 []uint64
	var v6 []sortKey
	for i := range c.n {
		r := c.at(uint32(i))
		if r.is4 && c.n < v4Index {
			v4 = append(v4, r.lo<<32|uint64(r.bits)<<26|uint64(i))
		} else {
			v6 = append(v6, sortKey{hi: r.hi, lo: r.lo, i: uint32(i), bits: r.bits})
		}
	}
	slices.Sort(v4)
	order := make([]uint32, 0, c.n)
	for i := 0; i < len(v4); {
		j := i + 1
		for j < len(v4) && v4[j]>>26 == v4[i]>>26 {
			j++
		}
		run := len(order)
		for _, k := range v4[i:j] {
			order = append(order, uint32(k&(v4Index-1)))
		}
		if j-i > 1 {
			slices.SortFunc(order[run:], c.cmpFull)
		}
		i = j
	}
	v4 = nil
	slices.SortFunc(v6, func(a, b sortKey) int {
		switch {
		case a.hi != b.hi:
			return cmpUint(a.hi, b.hi)
		case a.lo != b.lo:
			return cmpUint(a.lo, b.lo)
		case a.bits != b.bits:
			return int(a.bits) - int(b.bits)
		}
		return c.cmpFull(a.i, b.i)
	})
	for _, k := range v6 {
		order = append(order, k.i)
	}
	n := 0
	for i, k := range order {
		if i == 0 || !sameKey(c.at(order[i-1]), c.at(k)) {
			n++
		}
	}
	out := make([]rec, 0, n)
	for i, k := range order {
		if r := c.at(k); i == 0 || !sameKey(c.at(order[i-1]), r) {
			out = append(out, *r)
		}
	}
	return out
}

// cmpFull orders the recs at i and j by key, then winner first.
func (c *collector) cmpFull(i, j uint32) int {
	a, b := c.at(i), c.at(j)
	if d := cmpKey(a, b); d != 0 {
		return d
	}
	return cmpWinner(a, b)
}

func cmpUint(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// merge returns the recs of keep from old (in order) merged with add,
// both sorted by cmpPrefix.
func merge(old []rec, keep func(i int) bool, add []rec) []rec {
	if len(old) == 0 {
		return add
	}
	out := make([]rec, 0, len(old)+len(add))
	j := 0
	for i := range old {
		if !keep(i) {
			continue
		}
		for j < len(add) && cmpPrefix(&add[j], &old[i]) < 0 {
			out = append(out, add[j])
			j++
		}
		out = append(out, old[i])
	}
	out = append(out, add[j:]...)
	return slices.Clip(out)
}

// A bitset marks base recs hidden by pending changes.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (s bitset) set(i int32)    { s[i>>6] |= 1 << (i & 63) }
func (s bitset) has(i int) bool { return s[i>>6]&(1<<(i&63)) != 0 }
