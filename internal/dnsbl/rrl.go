package dnsbl

import (
	"math/bits"
	"net/netip"
	"sync"
	"time"
)

// A limiter is response-rate limiting (RRL) per client prefix: /24 for
// IPv4, /56 for IPv6, the blocks an operator or a spoofed flood shares.
//
// Its state is bounded by construction: a fixed table of slots, four to a
// set, indexed by a hash of the prefix; a new prefix takes the slot of its
// set that has been idle longest. A flood from many prefixes thus forgets
// some, which then get a fresh budget; it never grows the table. Each slot
// runs the generic cell rate algorithm (GCRA): one int64, the theoretical
// arrival time, per prefix.
type limiter struct {
	interval int64 // nanoseconds between responses at the rate
	burst    int64 // nanoseconds of credit: one second's worth
	slip     uint32
	mask     uint64 // sets - 1
	locks    [64]sync.Mutex
	slots    []slot
}

type slot struct {
	key  uint64 // the prefix, tagged by family; 0 for a free slot
	tat  int64  // theoretical arrival time, unix nanoseconds
	over uint32 // responses over the limit since it was last within
}

const ways = 4

// verdicts of a limiter.
const (
	rrlPass = iota
	rrlDrop
	rrlSlip
)

func newLimiter(c RateLimit) *limiter {
	sets := 1 << bits.Len(uint(max(c.Prefixes/ways, 1)-1))
	return &limiter{
		interval: int64(time.Second) / int64(c.Rate),
		burst:    int64(time.Second),
		slip:     uint32(c.Slip),
		mask:     uint64(sets - 1),
		slots:    make([]slot, sets*ways),
	}
}

// prefixKey returns the rate-limited block of a: its /24 or /56, tagged
// so that no key is 0 and families never collide.
func prefixKey(a netip.Addr) uint64 {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return 1<<63 | 1<<62 | uint64(b[0])<<16 | uint64(b[1])<<8 | uint64(b[2])
	}
	b := a.As16()
	var k uint64
	for _, x := range b[:7] {
		k = k<<8 | uint64(x)
	}
	return 1<<63 | k
}

// check records a response to client at now (unix nanoseconds) and says
// whether to send it, drop it, or send it truncated.
func (l *limiter) check(client netip.Addr, now int64) int {
	key := prefixKey(client)
	h := key * 0x9e3779b97f4a7c15
	set := int((h >> 32) & l.mask)
	mu := &l.locks[set&(len(l.locks)-1)]
	mu.Lock()
	defer mu.Unlock()
	ss := l.slots[set*ways : set*ways+ways]
	var s *slot
	for i := range ss {
		if ss[i].key == key {
			s = &ss[i]
			break
		}
	}
	if s == nil {
		s = &ss[0]
		for i := 1; i < ways; i++ {
			if ss[i].tat < s.tat {
				s = &ss[i]
			}
		}
		*s = slot{key: key, tat: now}
	}
	tat := max(s.tat, now)
	if tat-now > l.burst {
		s.over++
		if l.slip > 0 && s.over%l.slip == 0 {
			return rrlSlip
		}
		return rrlDrop
	}
	s.tat = tat + l.interval
	s.over = 0
	return rrlPass
}
