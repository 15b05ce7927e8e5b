package export

import (
	"iter"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A Range is a run of consecutive addresses of one family that a set
// format holds as one element (nftables) or as the fewest prefixes that
// cover it (ipset, plain), with the time the element lives.
type Range struct {
	From, To netip.Addr // inclusive; same family
	// Timeout is how long the element lives from Options.Now: the
	// remaining lifetime of the longest-lived indicator covering it,
	// rounded up to a whole second and capped at Collapse's maxTimeout.
	// Zero means the element is permanent: an indicator without expiry
	// covers it, or Options.Timeout is false.
	Timeout time.Duration
}

// Is4 reports whether r is a range of IPv4 addresses.
func (r Range) Is4() bool { return r.From.Is4() }

// Prefix returns r as a prefix when it is exactly one.
func (r Range) Prefix() (netip.Prefix, bool) {
	return spanPrefix(span{toU128(r.From), toU128(r.To)}, !r.Is4())
}

// AppendPrefixes appends to dst the fewest prefixes that cover r exactly,
// in address order.
func (r Range) AppendPrefixes(dst []netip.Prefix) []netip.Prefix {
	return appendPrefixes(dst, span{toU128(r.From), toU128(r.To)}, !r.Is4())
}

// permanent is the lifetime of an element that never expires: longer
// than any timeout.
const permanent = math.MaxUint64

// entry is one selected prefix as an address span with its lifetime in
// seconds (permanent when it never expires).
type entry struct {
	span
	life uint64
}

// Collapse selects the indicators of inds that opts selects (see
// [Options]), carves the allowlist out of them, and returns the addresses
// they cover as sorted, disjoint ranges: IPv4 first, then IPv6, each in
// address order. It reports an error only for invalid options.
//
// The rule for overlapping prefixes: every address is held for the
// longest remaining lifetime among the selected indicators that cover it
// (a permanent one wins over any timeout). A covering prefix therefore
// absorbs the prefixes inside it that expire no later than it does, and a
// prefix inside it that lives longer is kept as its own range for its
// own lifetime, the covering prefix's other addresses forming the ranges
// around it. No address is ever blocked past the expiry of every listing
// that covers it, and none is released while one still covers it.
// Lifetimes are rounded up to whole seconds and capped at maxTimeout
// (when positive) before they are compared, so adjacent addresses whose
// written timeouts are equal merge into one range. Adjacent addresses
// with the same timeout always form one range.
//
// Stats.Entries, V4, V6 and Bytes are left for the caller, which knows
// what it writes.
func Collapse(inds iter.Seq[proxywatch.Indicator], opts Options, maxTimeout time.Duration) ([]Range, Stats, error) {
	var st Stats
	if err := opts.Validate(); err != nil {
		return nil, st, err
	}
	al := newAllowlist(opts.Allowlist)
	maxSec := uint64(0)
	if maxTimeout > 0 {
		maxSec = uint64((maxTimeout + time.Second - 1) / time.Second)
	}
	var v4, v6 []entry
	for ind := range inds {
		p, ok := selected(&ind, &opts, &st)
		if !ok {
			continue
		}
		is6 := !p.Addr().Is4()
		e := entry{span: prefixSpan(p), life: permanent}
		if any, whole := overlap(al.family(is6), e.span); whole {
			st.Allowlisted++
			continue
		} else if any {
			st.Carved++
		}
		if opts.Timeout && !ind.Expires.IsZero() {
			e.life = lifetime(ind.Expires.Sub(opts.Now), maxSec)
		}
		if is6 {
			v6 = append(v6, e)
		} else {
			v4 = append(v4, e)
		}
	}
	out := make([]Range, 0, len(v4)+len(v6))
	out = sweep(out, v4, al.v4, false)
	out = sweep(out, v6, al.v6, true)
	return out, st, nil
}

// lifetime returns d in whole seconds, rounded up, at least 1 and at most
// maxSec when maxSec is not 0.
func lifetime(d time.Duration, maxSec uint64) uint64 {
	s := uint64(max((d+time.Second-1)/time.Second, 1))
	if maxSec > 0 && s > maxSec {
		s = maxSec
	}
	return s
}

// frame is an open prefix during the sweep, with the lifetime its
// addresses get: its own or an enclosing prefix's, whichever is longer.
type frame struct {
	end  u128
	life uint64
}

// sweep appends to out the ranges of the laminar family es (CIDR prefixes
// are nested or disjoint, never partly overlapping), each address with
// the longest lifetime of the prefixes covering it, minus the allowlist
// spans al.
//
// Sorted by start and then widest first, every prefix comes after the
// prefixes enclosing it, so a stack of open prefixes gives each address's
// enclosing chain. A prefix that would not outlive its enclosing chain
// adds nothing and is skipped; the lifetimes on the stack therefore grow
// towards the top, and the top's is the one its addresses get.
func sweep(out []Range, es []entry, al []span, v6 bool) []Range {
	if len(es) == 0 {
		return out
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := a.start.cmp(b.start); c != 0 {
			return c
		}
		return b.end.cmp(a.end)
	})
	top := lowMask(width(v6))
	var (
		pending entry // the last segment, which the next may extend
		have    bool  // pending holds a segment
		stack   []frame
		cursor  u128
		done    bool // cursor has passed the family's last address
	)
	flush := func() {
		if !have {
			return
		}
		timeout := time.Duration(0)
		if pending.life != permanent {
			timeout = time.Duration(pending.life) * time.Second
		}
		subtract(al, pending.span, func(p span) {
			out = append(out, Range{From: fromU128(p.start, v6), To: fromU128(p.end, v6), Timeout: timeout})
		})
	}
	emit := func(from, to u128, life uint64) {
		if have && pending.life == life && pending.end.inc() == from {
			pending.end = to
			return
		}
		flush()
		pending, have = entry{span{from, to}, life}, true
	}
	pop := func() {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if done || f.end.less(cursor) {
			return
		}
		emit(cursor, f.end, f.life)
		if f.end == top {
			done = true
			return
		}
		cursor = f.end.inc()
	}
	for _, e := range es {
		for len(stack) > 0 && stack[len(stack)-1].end.less(e.start) {
			pop()
		}
		life := e.life
		if n := len(stack); n > 0 {
			parent := stack[n-1].life
			if life <= parent {
				continue
			}
			if cursor.less(e.start) {
				emit(cursor, e.start.dec(), parent)
			}
		}
		cursor, done = e.start, false
		stack = append(stack, frame{e.end, life})
	}
	for len(stack) > 0 {
		pop()
	}
	flush()
	return out
}
