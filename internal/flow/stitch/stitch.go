// Package stitch turns unidirectional flow records (NetFlow, IPFIX) into
// bidirectional sessions like the ones Zeek logs: the A-to-B and B-to-A
// records of a connection become one flow.Session, and the pieces an
// exporter cut a long connection into at its active timeout are joined
// again. A record whose reverse never comes (a one-way UDP datagram, a SYN
// nobody answered, or the other half lost to sampling) becomes a session
// of its own with zero responder counts.
//
// Memory is bounded: at most Config.MaxSessions sessions are open; when a
// new one would exceed that, the least recently updated open session is
// emitted early (and counted as evicted). Time is the records' own (event
// time): a session is emitted once no record has extended it for its idle
// timeout plus the allowed lateness, measured against the latest record
// end seen (the watermark), or when Advance or Flush says so.
package stitch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Config configures a Stitcher.
type Config struct {
	// MaxSessions bounds the sessions held open; each costs about 170
	// bytes.
	MaxSessions int `yaml:"max_sessions"`
	// IdleTimeout is the largest gap between two pieces of one session:
	// set it to the exporters' idle (inactive) timeout. TCP sessions not
	// yet seen closing (FIN or RST) use TCPIdleTimeout instead.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// TCPIdleTimeout is the largest gap between pieces of an established
	// TCP session (an ACK seen) that has not closed (no FIN or RST), so
	// that a quiet long-lived connection (a tunnel with keepalives) stays
	// one session, as Zeek logs it; Zeek's own tcp_inactivity_timeout is
	// 5 minutes.
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	// Lateness is how long after its end a record may still arrive: the
	// exporters' export delay (their idle timeout, plus transit).
	Lateness time.Duration `yaml:"lateness"`
}

// DefaultConfig returns the configuration used when the section is absent.
// The timeouts suit exporters with a 15 s idle timeout (Cisco's default,
// and the simulator's).
func DefaultConfig() Config {
	return Config{MaxSessions: 1 << 18, IdleTimeout: 15 * time.Second, TCPIdleTimeout: 5 * time.Minute, Lateness: time.Minute}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	if c.MaxSessions < 1 || c.MaxSessions > 1<<26 {
		errs = append(errs, fmt.Errorf("max_sessions %d: must be between 1 and %d", c.MaxSessions, 1<<26))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle_timeout %s: must be positive", c.IdleTimeout))
	}
	if c.TCPIdleTimeout < c.IdleTimeout {
		errs = append(errs, fmt.Errorf("tcp_idle_timeout %s: must be at least idle_timeout", c.TCPIdleTimeout))
	}
	if c.Lateness < 0 {
		errs = append(errs, fmt.Errorf("lateness %s: must not be negative", c.Lateness))
	}
	return errors.Join(errs...)
}

// key identifies a session whatever the direction: endpoint a is the
// smaller (address, port). ICMP keys have zero ports, so that requests and
// replies, whose type sits in the port, meet.
type key struct {
	a, b   [16]byte
	ap, bp uint16
	proto  uint8
}

const (
	tcpFIN = 0x01
	tcpRST = 0x04
	tcpACK = 0x10
)

// entry is one open session. Side 0 is traffic from a to b, side 1 from b
// to a. Entries live in a slice and link by index, so the garbage
// collector has no pointers to scan however many there are.
type entry struct {
	k           key
	hash        uint64 // hashKey(&k)
	v4          bool
	has         [2]bool
	start, end  [2]int64 // Unix nanoseconds
	pkts, byts  [2]uint64
	icmp        uint16 // ICMP type<<8|code of the first record
	sampled     bool
	closing     bool // a FIN or RST was seen: the short idle timeout applies
	established bool // an ACK was seen (a TCP connection, not a lone SYN)
	long        bool // on the long list: established TCP, not seen closing
	prev, next  int32
	seq         uint64 // update sequence, for eviction across the two lists
}

// list is a doubly linked list of entries, most recently updated first.
type list struct{ head, tail int32 }

// Stats counts what a Stitcher did.
type Stats struct {
	Records  uint64 // records added
	Sessions uint64 // sessions emitted
	Matched  uint64 // emitted sessions with records in both directions
	OneWay   uint64 // emitted sessions with records in one direction only
	Joined   uint64 // records that extended a direction already seen (active-timeout pieces)
	Evicted  uint64 // sessions emitted early because MaxSessions was reached
	Open     int    // sessions open now
}

// A Stitcher pairs records into sessions. It is not safe for concurrent
// use; one goroutine feeds it.
type Stitcher struct {
	cfg       Config
	idx       table
	ents      []entry
	free      []int32
	short     list // closed TCP and non-TCP sessions
	long      list // TCP sessions not seen closing
	watermark int64
	seq       uint64
	stats     Stats
	ends      *[endSlots]uint16 // recent sessions per endpoint (hashed), to tell listeners from clients
	opened    uint32            // sessions opened since the counts were last halved
}

// endSlots is the size of the endpoint count table. Endpoints that hash
// alike share a count; the counts are halved every endSlots sessions, so
// they reflect recent activity.
const endSlots = 1 << 16

// New returns a stitcher for cfg.
func New(cfg Config) (*Stitcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stitch: %w", err)
	}
	return &Stitcher{cfg: cfg, idx: newTable(cfg.MaxSessions), short: list{-1, -1}, long: list{-1, -1}, ends: new([endSlots]uint16)}, nil
}

// Stats returns the counts so far.
func (s *Stitcher) Stats() Stats {
	st := s.stats
	st.Open = s.idx.n
	return st
}

// Add adds a record and emits the sessions it closes: the previous session
// of its key when the record starts after that session's idle timeout,
// sessions that the watermark has passed, and the session evicted to make
// room. emit must not retain the session's memory past the call (a Session
// is a value; copying it is enough).
func (s *Stitcher) Add(r *flow.Record, emit func(flow.Session)) {
	s.stats.Records++
	k, side, v4 := makeKey(r)
	start, end := r.Start.UnixNano(), r.End.UnixNano()
	if end < start {
		end = start
	}
	pkts, byts := r.Scaled()
	h := hashKey(&k)
	i := s.idx.find(s.ents, &k, h)
	ok := i >= 0
	if ok {
		e := &s.ents[i]
		if start > e.last()+s.gap(e) {
			s.close(i, emit) // a new connection on the same key
			ok = false
		}
	}
	if !ok {
		i = s.alloc(emit)
		e := &s.ents[i]
		*e = entry{k: k, hash: h, v4: v4, prev: -1, next: -1, icmp: r.DstPort}
		s.idx.insert(h, i)
		s.count(k)
	} else {
		s.unlink(i)
	}
	e := &s.ents[i]
	if e.has[side] {
		s.stats.Joined++
		e.start[side] = min(e.start[side], start)
		e.end[side] = max(e.end[side], end)
	} else {
		e.has[side], e.start[side], e.end[side] = true, start, end
	}
	e.pkts[side] += pkts
	e.byts[side] += byts
	e.sampled = e.sampled || r.SamplingRate > 1
	if r.Proto == flow.ProtoTCP {
		e.closing = e.closing || r.TCPFlags&(tcpFIN|tcpRST) != 0
		e.established = e.established || r.TCPFlags&tcpACK != 0
	}
	e.long = e.established && !e.closing
	s.seq++
	e.seq = s.seq
	s.push(i)
	if end > s.watermark {
		s.watermark = end
	}
	s.expire(s.watermark, emit)
}

// Advance emits the sessions that are over by event time now (say, the
// wall clock of a live collector when records stop coming).
func (s *Stitcher) Advance(now time.Time, emit func(flow.Session)) {
	if t := now.UnixNano(); t > s.watermark {
		s.watermark = t
	}
	s.expire(s.watermark, emit)
}

// Flush emits every open session, at the end of the input.
func (s *Stitcher) Flush(emit func(flow.Session)) {
	for _, l := range []*list{&s.short, &s.long} {
		for l.tail >= 0 {
			s.close(l.tail, emit)
		}
	}
}

func (s *Stitcher) gap(e *entry) int64 {
	if e.long {
		return int64(s.cfg.TCPIdleTimeout)
	}
	return int64(s.cfg.IdleTimeout)
}

func (e *entry) last() int64 { return max(e.end[0], e.end[1]) }

// expire emits the sessions, oldest updates first, whose last record ended
// more than their idle timeout plus the lateness before the watermark.
// Each list is ordered by update, which follows record ends closely; a
// session behind a younger one is emitted a little late, never early.
func (s *Stitcher) expire(watermark int64, emit func(flow.Session)) {
	late := int64(s.cfg.Lateness)
	for _, l := range []*list{&s.short, &s.long} {
		for l.tail >= 0 {
			e := &s.ents[l.tail]
			if e.last()+s.gap(e)+late >= watermark {
				break
			}
			s.close(l.tail, emit)
		}
	}
}

// alloc returns a free entry index, evicting the least recently updated
// session when MaxSessions are open.
func (s *Stitcher) alloc(emit func(flow.Session)) int32 {
	if s.idx.n >= s.cfg.MaxSessions {
		victim := s.short.tail
		if t := s.long.tail; t >= 0 && (victim < 0 || s.ents[t].seq < s.ents[victim].seq) {
			victim = t
		}
		s.stats.Evicted++
		s.close(victim, emit)
	}
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	s.ents = append(s.ents, entry{})
	return int32(len(s.ents) - 1)
}

// count notes a new session at both endpoints of k.
func (s *Stitcher) count(k key) {
	if s.opened++; s.opened >= endSlots {
		s.opened = 0
		for i := range s.ends {
			s.ends[i] >>= 1
		}
	}
	for _, i := range [2]uint32{endSlot(&k.a, k.ap, k.proto), endSlot(&k.b, k.bp, k.proto)} {
		if s.ends[i] < 0xffff {
			s.ends[i]++
		}
	}
}

// endSlot hashes an endpoint to its count.
func endSlot(a *[16]byte, port uint16, proto uint8) uint32 {
	h := binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(a[8:])*0xc2b2ae3d27d4eb4f
	h ^= uint64(port)<<8 | uint64(proto)
	h *= 0x165667b19e3779f9
	return uint32(h>>32) & (endSlots - 1)
}

// close emits entry i and frees it.
func (s *Stitcher) close(i int32, emit func(flow.Session)) {
	s.unlink(i)
	e := &s.ents[i]
	s.idx.remove(s.ents, e.hash, i)
	na, nb := s.ends[endSlot(&e.k.a, e.k.ap, e.k.proto)], s.ends[endSlot(&e.k.b, e.k.bp, e.k.proto)]
	emit(e.session(uint32(na), uint32(nb)))
	s.stats.Sessions++
	if e.has[0] && e.has[1] {
		s.stats.Matched++
	} else {
		s.stats.OneWay++
	}
	s.free = append(s.free, i)
}

func (s *Stitcher) listOf(e *entry) *list {
	if e.long {
		return &s.long
	}
	return &s.short
}

func (s *Stitcher) push(i int32) {
	e := &s.ents[i]
	l := s.listOf(e)
	e.prev, e.next = -1, l.head
	if l.head >= 0 {
		s.ents[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (s *Stitcher) unlink(i int32) {
	e := &s.ents[i]
	l := s.listOf(e)
	if e.prev >= 0 {
		s.ents[e.prev].next = e.next
	} else if l.head == i {
		l.head = e.next
	}
	if e.next >= 0 {
		s.ents[e.next].prev = e.prev
	} else if l.tail == i {
		l.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

// makeKey returns the record's session key and which side it is.
func makeKey(r *flow.Record) (key, int, bool) {
	src, dst := r.Src.As16(), r.Dst.As16()
	sp, dp := r.SrcPort, r.DstPort
	if r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6 {
		sp, dp = 0, 0
	}
	v4 := r.Src.Is4()
	if less(dst, dp, src, sp) {
		return key{a: dst, b: src, ap: dp, bp: sp, proto: r.Proto}, 1, v4
	}
	return key{a: src, b: dst, ap: sp, bp: dp, proto: r.Proto}, 0, v4
}

func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return ap < bp
}

func addrOf(b [16]byte, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrFrom16(b)
}
