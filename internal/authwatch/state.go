package authwatch

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch/internal/window"
)

// Limits of the fixed-size per-key structures.
const (
	maxTierAttempts   = window.RecentCap   // a brute-force tier counts at most this many attempts
	maxAccountSources = window.DistinctCap // per-account distinct failing addresses told apart
	maxInvalidNames   = 4                  // distinct unknown user names kept per address
	maxOrigins        = 4                  // ASNs and countries kept per account
)

// ipState is what is kept per source address: about 150 bytes.
type ipState struct {
	first, last uint32        // event times, Unix seconds
	fails       window.Recent // failed attempt times
	invalid     [maxInvalidNames]uint32
	invalidAt   [maxInvalidNames]uint32
	succ        uint32 // last success
	alerted     uint32 // last brute-force alert
	listedAt    uint32 // last listed-login alert
	connAt      uint32 // last failure event of the current connection
	port        uint16 // the current connection's client port
	decided     uint32 // until when the last proposed decision lasts
	camp        uint32 // serial of the campaign it takes part in, 0 if none
	counted     uint32 // services (by bit) it was counted for as a new failing source
	waiting     uint32 // services (by bit) for which a failure of it waits for Forgive
	flags       ipFlags
	flags2      ipFlags2
	svc         uint8 // service of its last failure
}

type ipFlags2 uint8

const (
	flagBanned ipFlags2 = 1 << iota // the last proposed decision was a ban
)

type ipFlags uint8

const (
	flagGuessSeen ipFlags = 1 << iota // the current connection already reported a guess
	flagBrute                         // alerted as a brute forcer
	flagInvalid                       // tried an unknown user
	flagVolume                        // reached a brute-force tier (not only the unknown-user rule)
	flagPortless                      // the current connection's first line had no port
)

// attempt reports whether a failure event starts a new attempt: a new
// connection, or a further password guess on one. sshd reports one guess
// on several lines ("Invalid user", "Failed password for invalid user",
// "Connection closed by invalid user"); only lines naming a method are
// guesses, and the first of them belongs to the connection's first line.
func (s *ipState) attempt(port uint16, method string, ts uint32) bool {
	guess := method != ""
	recent := s.connAt != 0 && ts <= s.connAt+connGap
	switch {
	case port == 0 && recent:
		// PAM lines carry no port: they belong to the connection of the
		// lines around them.
		s.connAt = ts
		return false
	case port == 0:
		s.port, s.connAt = 0, ts
		s.flags = s.flags&^flagGuessSeen | flagPortless
		if guess {
			s.flags |= flagGuessSeen
		}
		return true
	case s.flags&flagPortless != 0 && recent:
		s.port = port // the connection that started with a portless line
		s.flags &^= flagPortless
	case port != s.port || ts > s.connAt+connIdle:
		s.port, s.connAt = port, ts
		s.flags &^= flagGuessSeen | flagPortless
		if guess {
			s.flags |= flagGuessSeen
		}
		return true
	}
	s.connAt = ts
	if !guess {
		return false
	}
	if s.flags&flagGuessSeen == 0 {
		s.flags |= flagGuessSeen
		return false
	}
	return true
}

// Connection bookkeeping of attempt: lines of one attempt come within
// connGap seconds of each other; a connection idle for connIdle seconds is
// over.
const (
	connGap  = 5
	connIdle = 120
)

// addInvalid records an unknown user name tried on service svc at ts and
// returns how many distinct names were tried on svc since since. Each
// entry keeps its service in its low five bits.
func (s *ipState) addInvalid(svc uint8, name string, ts, since uint32) int {
	tag := uint32(svc) & 0x1f
	h := uint32(window.HashString(name))&^0x3f | 0x20 | tag
	oldest := 0
	found := false
	for i := range s.invalid {
		if s.invalid[i] == h {
			s.invalidAt[i], found = ts, true
			break
		}
		if s.invalidAt[i] < s.invalidAt[oldest] {
			oldest = i
		}
	}
	if !found {
		s.invalid[oldest], s.invalidAt[oldest] = h, ts
	}
	n := 0
	for i := range s.invalid {
		if s.invalid[i] != 0 && s.invalid[i]&0x1f == tag && s.invalidAt[i] >= since {
			n++
		}
	}
	return n
}

// forgive forgets failures: an honest user's typos.
func (s *ipState) forgive() {
	s.fails.Reset()
	s.invalid, s.invalidAt = [maxInvalidNames]uint32{}, [maxInvalidNames]uint32{}
}

// userKey names an account of a service.
type userKey struct {
	svc  uint8
	name string
}

// origin is where an account logged in from.
type origin struct {
	asn uint32
	cc  [2]byte
}

// userState is what is kept per account: about 490 bytes.
type userState struct {
	failing   window.Distinct[[16]byte] // failing source addresses
	fails     window.Recent             // failure times, any source
	origins   [maxOrigins]origin
	nOrigins  uint8
	successes uint32
	lastOK    uint32 // last success
	lastCC    [2]byte
	lastAddr  [16]byte
	alerted   uint32 // last per-account alert
	alertID   string // its ID, cited by later decisions
}

func (u *userState) knowsASN(asn uint32) bool {
	for i := 0; i < int(u.nOrigins); i++ {
		if u.origins[i].asn == asn {
			return true
		}
	}
	return false
}

func (u *userState) knowsCountry(cc [2]byte) bool {
	for i := 0; i < int(u.nOrigins); i++ {
		if u.origins[i].cc == cc {
			return true
		}
	}
	return false
}

// learn records a success origin, replacing the oldest when full.
func (u *userState) learn(o origin) {
	for i := 0; i < int(u.nOrigins); i++ {
		if u.origins[i] == o {
			return
		}
	}
	if int(u.nOrigins) < maxOrigins {
		u.origins[u.nOrigins] = o
		u.nOrigins++
		return
	}
	copy(u.origins[:], u.origins[1:])
	u.origins[maxOrigins-1] = o
}

// pending is a failure waiting for Forgive before it counts as a new
// failing source.
type pending struct {
	addr    [16]byte
	t       uint32
	svc     uint8
	invalid bool
	port    uint16
	user    string
	src     string
	seq     uint64
}

// pendingQueue is a bounded FIFO of pending failures, in event time order.
type pendingQueue struct {
	buf        []pending
	head, size int
	cap        int
}

func (q *pendingQueue) init(capacity int) { q.cap = max(capacity, 1) }

func (q *pendingQueue) full() bool { return q.size == q.cap }

func (q *pendingQueue) push(p pending) {
	if q.buf == nil || (q.size == len(q.buf) && len(q.buf) < q.cap) {
		n := min(max(2*len(q.buf), 64), q.cap)
		nb := make([]pending, n)
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = p
	q.size++
}

func (q *pendingQueue) peek() (pending, bool) {
	if q.size == 0 {
		return pending{}, false
	}
	return q.buf[q.head], true
}

func (q *pendingQueue) pop() {
	q.buf[q.head] = pending{}
	q.head = (q.head + 1) % len(q.buf)
	q.size--
}

// idGen makes alert IDs: the detector, the event time and a counter, so
// that a replay of the same events gives the same IDs.
type idGen struct{ n uint64 }

func (g *idGen) alert(detector string, t time.Time) string {
	g.n++
	return "a-" + detector + "-" + strconv.FormatInt(t.Unix(), 36) + "-" + strconv.FormatUint(g.n, 36)
}

// decisionID names a decision by its subject and time: unique, and the
// same in a replay.
func decisionID(addr netip.Addr, ts uint32) string {
	return "d-" + strconv.FormatUint(uint64(ts), 36) + "-" + addr.Unmap().String()
}
