package stitch_test

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// rec builds a record from src to dst between two offsets from t0.
func rec(src, dst string, proto uint8, from, to time.Duration, pkts, bytes uint64, flags uint8) flow.Record {
	s, d := ap(src), ap(dst)
	return flow.Record{Start: at(from), End: at(to), Src: s.Addr(), Dst: d.Addr(), SrcPort: s.Port(), DstPort: d.Port(),
		Proto: proto, Packets: pkts, Bytes: bytes, TCPFlags: flags, SamplingRate: 1}
}

func stitchAll(t *testing.T, cfg stitch.Config, recs []flow.Record) ([]flow.Session, stitch.Stats) {
	t.Helper()
	s, err := stitch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []flow.Session
	emit := func(x flow.Session) { out = append(out, x) }
	for i := range recs {
		s.Add(&recs[i], emit)
	}
	s.Flush(emit)
	return out, s.Stats()
}

const (
	syn    = 0x02
	ack    = 0x10
	fin    = 0x01
	synAck = syn | ack
	all    = syn | ack | fin | 0x08
)

func TestStitch(t *testing.T) {
	cfg := stitch.DefaultConfig()
	client, server := "198.51.100.7:52144", "203.0.113.5:443"
	for _, tc := range []struct {
		name string
		recs []flow.Record
		want []flow.Session
	}{
		{
			name: "both directions, reverse first",
			recs: []flow.Record{
				rec(server, client, 6, 12*time.Millisecond, 2*time.Second, 7, 4752, all),
				rec(client, server, 6, 0, 2*time.Second, 9, 989, all),
			},
			want: []flow.Session{{Start: at(0), Duration: 2 * time.Second, Orig: ap(client), Resp: ap(server), Proto: 6,
				OrigPackets: 9, OrigBytes: 989, RespPackets: 7, RespBytes: 4752}},
		},
		{
			name: "same start: the well-known port answers",
			recs: []flow.Record{
				rec(server, client, 6, 0, time.Second, 1, 40, synAck),
				rec(client, server, 6, 0, time.Second, 1, 60, syn),
			},
			want: []flow.Session{{Start: at(0), Duration: time.Second, Orig: ap(client), Resp: ap(server), Proto: 6,
				OrigPackets: 1, OrigBytes: 60, RespPackets: 1, RespBytes: 40}},
		},
		{
			name: "same start, two high ports: the higher one calls",
			recs: []flow.Record{
				rec("198.18.4.4:40000", "203.0.113.9:51234", 6, 0, time.Second, 3, 300, all),
				rec("203.0.113.9:51234", "198.18.4.4:40000", 6, 0, time.Second, 4, 400, all),
			},
			want: []flow.Session{{Start: at(0), Duration: time.Second, Orig: ap("203.0.113.9:51234"), Resp: ap("198.18.4.4:40000"), Proto: 6,
				OrigPackets: 4, OrigBytes: 400, RespPackets: 3, RespBytes: 300}},
		},
		{
			name: "one-way UDP datagrams: zero responder counts, one session each 30 minutes",
			recs: []flow.Record{
				rec("198.18.0.9:40100", "203.0.113.20:53413", 17, 0, 0, 1, 60, 0),
				rec("198.18.0.9:40100", "203.0.113.20:53413", 17, 30*time.Minute, 30*time.Minute, 1, 60, 0),
			},
			want: []flow.Session{
				{Start: at(0), Orig: ap("198.18.0.9:40100"), Resp: ap("203.0.113.20:53413"), Proto: 17, OrigPackets: 1, OrigBytes: 60},
				{Start: at(30 * time.Minute), Orig: ap("198.18.0.9:40100"), Resp: ap("203.0.113.20:53413"), Proto: 17, OrigPackets: 1, OrigBytes: 60},
			},
		},
		{
			name: "active-timeout pieces joined",
			recs: []flow.Record{
				rec(client, server, 6, 0, 59*time.Second, 100, 10_000, syn|ack),
				rec(server, client, 6, 0, 59*time.Second, 200, 200_000, syn|ack),
				rec(client, server, 6, 60*time.Second, 119*time.Second, 100, 10_000, ack),
				rec(server, client, 6, 60*time.Second, 119*time.Second, 200, 200_000, ack),
				rec(client, server, 6, 120*time.Second, 125*time.Second, 10, 1_000, ack|fin),
				rec(server, client, 6, 120*time.Second, 125*time.Second, 20, 20_000, ack|fin),
			},
			want: []flow.Session{{Start: at(0), Duration: 125 * time.Second, Orig: ap(client), Resp: ap(server), Proto: 6,
				OrigPackets: 210, OrigBytes: 21_000, RespPackets: 420, RespBytes: 420_000}},
		},
		{
			name: "quiet TCP tunnel with keepalives stays one session",
			recs: []flow.Record{
				rec(client, server, 6, 0, time.Second, 5, 500, syn|ack),
				rec(client, server, 6, 2*time.Minute, 2*time.Minute, 1, 52, ack),
				rec(client, server, 6, 4*time.Minute, 4*time.Minute+time.Second, 2, 104, ack|fin),
			},
			want: []flow.Session{{Start: at(0), Duration: 4*time.Minute + time.Second, Orig: ap(client), Resp: ap(server), Proto: 6,
				OrigPackets: 8, OrigBytes: 656}},
		},
		{
			name: "after a FIN the same ports start a new session",
			recs: []flow.Record{
				rec(client, server, 6, 0, time.Second, 5, 500, all),
				rec(client, server, 6, 2*time.Minute, 2*time.Minute, 1, 60, syn),
			},
			want: []flow.Session{
				{Start: at(0), Duration: time.Second, Orig: ap(client), Resp: ap(server), Proto: 6, OrigPackets: 5, OrigBytes: 500},
				{Start: at(2 * time.Minute), Orig: ap(client), Resp: ap(server), Proto: 6, OrigPackets: 1, OrigBytes: 60},
			},
		},
		{
			name: "ICMP echo and reply meet; type and code in the ports",
			recs: []flow.Record{
				rec("192.0.2.9:0", "203.0.113.5:2048", 1, 0, 0, 1, 84, 0),
				rec("203.0.113.5:0", "192.0.2.9:0", 1, time.Millisecond, time.Millisecond, 1, 84, 0),
			},
			want: []flow.Session{{Start: at(0), Duration: time.Millisecond, Orig: ap("192.0.2.9:8"), Resp: ap("203.0.113.5:0"), Proto: 1,
				OrigPackets: 1, OrigBytes: 84, RespPackets: 1, RespBytes: 84}},
		},
		{
			name: "sampled counts are scaled",
			recs: func() []flow.Record {
				r := rec("[2001:db8::7]:61000", "[2001:db8::1]:53", 17, 0, 0, 1, 76, 0)
				r.SamplingRate = 100
				return []flow.Record{r}
			}(),
			want: []flow.Session{{Start: at(0), Orig: ap("[2001:db8::7]:61000"), Resp: ap("[2001:db8::1]:53"), Proto: 17,
				OrigPackets: 100, OrigBytes: 7600, Sampled: true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := stitchAll(t, cfg, tc.recs)
			if d := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.AddrPort{})); d != "" {
				t.Errorf("sessions (-want +got):\n%s", d)
			}
		})
	}
}

func TestStats(t *testing.T) {
	recs := []flow.Record{
		rec("192.0.2.1:1000", "203.0.113.1:80", 6, 0, time.Second, 1, 60, syn),
		rec("203.0.113.1:80", "192.0.2.1:1000", 6, 0, time.Second, 1, 60, synAck),
		rec("192.0.2.1:1000", "203.0.113.1:80", 6, 2*time.Second, 3*time.Second, 1, 60, ack),
		rec("192.0.2.2:1000", "203.0.113.1:53", 17, 0, 0, 1, 60, 0),
	}
	_, st := stitchAll(t, stitch.DefaultConfig(), recs)
	want := stitch.Stats{Records: 4, Sessions: 2, Matched: 1, OneWay: 1, Joined: 1}
	if st != want {
		t.Errorf("Stats() = %+v, want %+v", st, want)
	}
}

// TestBounded adds many concurrent sessions through a small table: no more
// than MaxSessions stay open, the rest are evicted (emitted), none lost.
func TestBounded(t *testing.T) {
	cfg := stitch.DefaultConfig()
	cfg.MaxSessions = 100
	s, err := stitch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n, emitted, pkts := 10_000, 0, uint64(0)
	emit := func(x flow.Session) { emitted++; pkts += x.OrigPackets }
	for i := range n {
		r := rec("198.18.0.1:1", "203.0.113.1:53", 17, time.Duration(i)*time.Millisecond, time.Duration(i)*time.Millisecond, 1, 60, 0)
		r.Src = netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		s.Add(&r, emit)
		if o := s.Stats().Open; o > cfg.MaxSessions {
			t.Fatalf("%d sessions open, bound %d", o, cfg.MaxSessions)
		}
	}
	s.Flush(emit)
	if emitted != n || pkts != uint64(n) {
		t.Errorf("emitted %d sessions with %d packets, want %d and %d", emitted, pkts, n, n)
	}
	if st := s.Stats(); st.Evicted != uint64(n-cfg.MaxSessions) {
		t.Errorf("Stats().Evicted = %d, want %d", st.Evicted, n-cfg.MaxSessions)
	}
}

// TestWatermark checks sessions are emitted once later records show they
// are over, before any Flush.
func TestWatermark(t *testing.T) {
	cfg := stitch.DefaultConfig()
	s, err := stitch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []flow.Session
	emit := func(x flow.Session) { got = append(got, x) }
	r1 := rec("192.0.2.1:1000", "203.0.113.1:53", 17, 0, 0, 1, 60, 0)
	s.Add(&r1, emit)
	r2 := rec("192.0.2.2:1000", "203.0.113.1:53", 17, cfg.IdleTimeout+cfg.Lateness-time.Millisecond, cfg.IdleTimeout+cfg.Lateness-time.Millisecond, 1, 60, 0)
	s.Add(&r2, emit)
	if len(got) != 0 {
		t.Fatalf("emitted %d sessions before their timeout", len(got))
	}
	r3 := rec("192.0.2.3:1000", "203.0.113.1:53", 17, cfg.IdleTimeout+cfg.Lateness+time.Millisecond, cfg.IdleTimeout+cfg.Lateness+time.Millisecond, 1, 60, 0)
	s.Add(&r3, emit)
	if len(got) != 1 || got[0].Orig != ap("192.0.2.1:1000") {
		t.Errorf("emitted %v, want the first session only", got)
	}
	s.Advance(at(time.Hour), emit)
	if len(got) != 3 {
		t.Errorf("after Advance emitted %d sessions, want 3", len(got))
	}
}

func TestRun(t *testing.T) {
	s, err := stitch.New(stitch.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan []flow.Record, 2)
	out := make(chan []flow.Session, 2)
	recycled := 0
	go s.Run(in, out, stitch.RunOptions{BatchSize: 1, Recycle: func([]flow.Record) { recycled++ }})
	in <- []flow.Record{rec("192.0.2.1:1000", "203.0.113.1:53", 17, 0, 0, 1, 60, 0), rec("203.0.113.1:53", "192.0.2.1:1000", 17, 0, 0, 1, 90, 0)}
	in <- []flow.Record{rec("192.0.2.2:1000", "203.0.113.1:53", 17, 0, 0, 1, 60, 0)}
	close(in)
	n := 0
	for b := range out {
		n += len(b)
	}
	if n != 2 || recycled != 2 {
		t.Errorf("Run sent %d sessions and recycled %d batches, want 2 and 2", n, recycled)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := stitch.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	bad := stitch.Config{MaxSessions: 0, IdleTimeout: time.Minute, TCPIdleTimeout: time.Second, Lateness: -1}
	if err := bad.Validate(); err == nil {
		t.Error("Validate() of a bad config = nil")
	}
}

// sliceRecords is a flow.RecordReader over a slice.
type sliceRecords []flow.Record

func (s *sliceRecords) ReadRecord() (flow.Record, error) {
	if len(*s) == 0 {
		return flow.Record{}, io.EOF
	}
	r := (*s)[0]
	*s = (*s)[1:]
	return r, nil
}

func TestReader(t *testing.T) {
	recs := sliceRecords{
		rec("192.0.2.1:1000", "203.0.113.1:53", 17, 0, 0, 1, 60, 0),
		rec("203.0.113.1:53", "192.0.2.1:1000", 17, 0, 0, 1, 90, 0),
		rec("192.0.2.2:1000", "203.0.113.1:53", 17, time.Hour, time.Hour, 1, 60, 0),
	}
	r, err := stitch.NewReader(&recs, stitch.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var got []flow.Session
	for {
		s, err := r.ReadSession()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if len(got) != 2 || got[0].RespBytes != 90 || got[1].Orig != ap("192.0.2.2:1000") {
		t.Errorf("ReadSession gave %+v, want the stitched pair then the lone datagram", got)
	}
}
