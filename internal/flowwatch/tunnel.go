package flowwatch

import (
	"github.com/proxywatch/proxywatch/internal/flow"
)

// The byte history of each inside host: histBuckets buckets of histWidth,
// 12 hours, long enough for the longest backconnect session to be matched
// against what the host downloaded meanwhile.
const (
	histBuckets = 24
	histWidth   = int64(30 * 60e6) // µs
	histPeers   = 2
)

// histState is an inside host's outbound traffic over the last 12 hours,
// and up to histPeers outside endpoints it uploads more to than it
// downloads from: candidate backconnect servers.
type histState struct {
	last  int64
	head  int64 // index of the newest bucket (µs / histWidth)
	down  [histBuckets]float32
	up    [histBuckets]float32
	sess  [histBuckets]uint16
	peers [histPeers]tunnelPeer
	flags uint8
	// Recent source ports and their peers, to tell a listening port
	// (answers to many peers) from client ports, when the flow source
	// cannot orient sessions.
	srcPorts [8]srcPort
	srcHead  uint8
	listen   uint16
}

type srcPort struct {
	port uint16
	peer uint32
}

// tunnelPeer is one upload-heavy outside endpoint of a host.
type tunnelPeer struct {
	ep          epKey
	sport       uint16 // the host's port: one slot follows one connection
	first, last int64
	up, down    [histBuckets]float32
	sessions    int32
	sampled     bool // counts are estimates from sampled packets
}

func (h *histState) roll(b int64) {
	if b <= h.head {
		return
	}
	for x := max(h.head+1, b-histBuckets+1); x <= b; x++ {
		i := x % histBuckets
		h.down[i], h.up[i], h.sess[i] = 0, 0, 0
		for j := range h.peers {
			h.peers[j].up[i], h.peers[j].down[i] = 0, 0
		}
	}
	h.head = b
}

// spread adds n bytes spread evenly over [start, end] to the buckets of
// dst still held.
func (h *histState) spread(dst *[histBuckets]float32, start, end int64, n uint64) {
	if n == 0 {
		return
	}
	lo := h.head - histBuckets + 1
	b0, b1 := start/histWidth, end/histWidth
	if b1 < lo {
		return
	}
	if b0 == b1 {
		if b0 >= lo {
			dst[b0%histBuckets] += float32(n)
		}
		return
	}
	per := float64(n) / float64(max(end-start, 1))
	for b := max(b0, lo); b <= min(b1, h.head); b++ {
		s, e := max(start, b*histWidth), min(end, (b+1)*histWidth)
		dst[b%histBuckets] += float32(per * float64(e-s))
	}
}

// hostOut records an outbound session of inside host h to endpoint ek;
// r and st are h's relay state and byte history, or nil.
func (w *Watch) hostOut(s *flow.Session, h addrKey, ek epKey, start, end int64, r *relayState, st *histState) {
	if r != nil {
		w.relayOut(r, s, ek.addr)
	}
	if st == nil {
		st = w.hosts.put(h, w.hostWorth(end))
		st.head = end / histWidth
	}
	st.roll(end / histWidth)
	st.last = max(st.last, end)
	st.spread(&st.down, start, end, s.RespBytes)
	st.spread(&st.up, start, end, s.OrigBytes)
	if b := start / histWidth; b > st.head-histBuckets {
		st.sess[b%histBuckets]++
	}
	sport := s.Orig.Port()
	var p *tunnelPeer
	for i := range st.peers {
		if q := &st.peers[i]; q.sessions > 0 && q.ep == ek && q.sport == sport {
			p = q
		}
	}
	if p == nil {
		heavy := s.OrigBytes >= 1024 && float64(s.OrigBytes) >= w.cfg.Backconnect.UpRatio*float64(s.RespBytes)
		if !heavy {
			return
		}
		p = st.slotFor(float64(s.OrigBytes), end)
		if p == nil {
			return
		}
		*p = tunnelPeer{ep: ek, sport: sport, first: start}
	}
	p.first = min(p.first, start)
	p.last = max(p.last, end)
	p.sessions++
	p.sampled = p.sampled || s.Sampled
	st.spread(&p.up, start, end, s.OrigBytes)
	st.spread(&p.down, start, end, s.RespBytes)
}

// slotFor returns the peer slot a new upload-heavy connection of up bytes,
// seen at end, may take: a free one, else the one with the least upload
// among those idle for ten minutes, else the one with the least upload if
// that is less than up; or nil.
func (h *histState) slotFor(up float64, end int64) *tunnelPeer {
	var idle, any *tunnelPeer
	for i := range h.peers {
		q := &h.peers[i]
		if q.sessions == 0 {
			return q
		}
		if q.last < end-600e6 && (idle == nil || q.total() < idle.total()) {
			idle = q
		}
		if any == nil || q.total() < any.total() {
			any = q
		}
	}
	if idle != nil {
		return idle
	}
	if any.total() < up {
		return any
	}
	return nil
}

func (p *tunnelPeer) total() float64 {
	var t float64
	for _, v := range p.up {
		t += float64(v)
	}
	return t
}

// hostWorth rates hosts for eviction: flagged hosts and hosts with a
// candidate peer stay longest; then the most recently active.
func (w *Watch) hostWorth(t int64) func(*histState) float64 {
	return func(h *histState) float64 {
		v := float64(h.last-t) / 1e6 // negative seconds of idleness
		if h.flags != 0 {
			v += 1e9
		}
		for i := range h.peers {
			if h.peers[i].sessions > 0 {
				v += 1e6
			}
		}
		return v
	}
}

// tunnelScores are the evidence that a host's session to a peer carries
// relayed bytes.
type tunnelScores struct {
	up, down, other float64 // bytes: to the peer, from the peer, from everyone else meanwhile
	otherSessions   int
	explained       float64 // share of the upload matched by concurrent downloads
	span            int64   // µs
}

// scoreTunnel weighs one peer of a host: how much of what the host
// uploaded to it, bucket by bucket, it had downloaded from others in the
// same buckets.
func scoreTunnel(h *histState, p *tunnelPeer) tunnelScores {
	var t tunnelScores
	t.span = p.last - p.first
	for b := h.head - histBuckets + 1; b <= h.head; b++ {
		i := b % histBuckets
		if p.up[i] <= 0 {
			continue
		}
		t.up += float64(p.up[i])
		t.down += float64(p.down[i])
		t.other += max(0, float64(h.down[i]-p.down[i]))
		t.otherSessions += int(h.sess[i])
	}
	t.otherSessions -= int(p.sessions)
	if t.up > 0 {
		t.explained = min(1, t.other/t.up)
	}
	return t
}
