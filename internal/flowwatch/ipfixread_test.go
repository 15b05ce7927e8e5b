package flowwatch

import (
	"cmp"
	"errors"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
)

// readIPFIXPcap decodes the flow export datagrams of a pcap with the
// collector's decoder; counts are as exported, Record.Scaled scales them.
func readIPFIXPcap(r io.Reader) ([]flow.Record, error) {
	pr, err := pcapread.NewReader(r)
	if err != nil {
		return nil, err
	}
	nr := netflow.NewReader(pr, "ipfix.pcap", netflow.Options{})
	var recs []flow.Record
	for {
		rec, err := nr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
}

// stitch pairs unidirectional records into sessions, joining records of
// one 5-tuple whose gap is at most join, and returns them ordered by end.
// The originator is the side whose traffic started first; with sampling,
// or on a tie, the server is the side whose address and port saw more
// distinct peers (a listening port), then the side on the lower port.
func stitch(recs []flow.Record, join time.Duration) []flow.Session {
	type tuple struct {
		a, b  netip.AddrPort
		proto uint8
	}
	type half struct {
		first, last    time.Time
		packets, bytes uint64
		seen           bool
	}
	type open struct {
		first, last time.Time
		h           [2]half // h[0]: a to b
		sampled     bool
	}
	canon := func(r *flow.Record) (tuple, int) {
		s, d := netip.AddrPortFrom(r.Src.Unmap(), r.SrcPort), netip.AddrPortFrom(r.Dst.Unmap(), r.DstPort)
		if c := s.Compare(d); c <= 0 {
			return tuple{s, d, r.Proto}, 0
		}
		return tuple{d, s, r.Proto}, 1
	}
	slices.SortStableFunc(recs, func(x, y flow.Record) int { return x.Start.Compare(y.Start) })
	peers := map[netip.AddrPort]map[netip.Addr]bool{}
	note := func(ep netip.AddrPort, peer netip.Addr) {
		m := peers[ep]
		if m == nil {
			m = map[netip.Addr]bool{}
			peers[ep] = m
		}
		if len(m) < 64 {
			m[peer] = true
		}
	}
	for i := range recs {
		r := &recs[i]
		note(netip.AddrPortFrom(r.Dst.Unmap(), r.DstPort), r.Src.Unmap())
		note(netip.AddrPortFrom(r.Src.Unmap(), r.SrcPort), r.Dst.Unmap())
	}
	serves := func(a, b netip.AddrPort) bool { // a is the server rather than b
		if pa, pb := len(peers[a]), len(peers[b]); pa != pb && max(pa, pb) >= 2 {
			return pa > pb
		}
		return a.Port() < b.Port()
	}
	opens := map[tuple]*open{}
	var out []flow.Session
	finish := func(t tuple, o *open) {
		oi := 0
		switch {
		case !o.h[1].seen:
			oi = 0
		case !o.h[0].seen:
			oi = 1
		case !o.sampled && !o.h[0].first.Equal(o.h[1].first):
			if o.h[1].first.Before(o.h[0].first) {
				oi = 1
			}
		default:
			if serves(t.a, t.b) {
				oi = 1
			}
		}
		if o.sampled && (!o.h[1].seen || !o.h[0].seen) {
			// One direction only: orient by the listening side.
			if serves(t.a, t.b) {
				oi = 1
			} else {
				oi = 0
			}
		}
		ends := [2]netip.AddrPort{t.a, t.b}
		s := flow.Session{Start: o.first, Duration: o.last.Sub(o.first), Orig: ends[oi], Resp: ends[1-oi],
			Proto: t.proto, Sampled: o.sampled}
		s.OrigPackets, s.OrigBytes = o.h[oi].packets, o.h[oi].bytes
		s.RespPackets, s.RespBytes = o.h[1-oi].packets, o.h[1-oi].bytes
		out = append(out, s)
	}
	for i := range recs {
		r := &recs[i]
		t, dir := canon(r)
		o := opens[t]
		if o != nil && r.Start.After(o.last.Add(join)) {
			finish(t, o)
			o = nil
		}
		if o == nil {
			o = &open{first: r.Start, last: r.End}
			opens[t] = o
		}
		if r.Start.Before(o.first) {
			o.first = r.Start
		}
		if r.End.After(o.last) {
			o.last = r.End
		}
		h := &o.h[dir]
		if !h.seen || r.Start.Before(h.first) {
			h.first = r.Start
		}
		h.seen = true
		p, b := r.Scaled()
		h.packets += p
		h.bytes += b
		if r.SamplingRate > 1 {
			o.sampled = true
		}
	}
	for t, o := range opens {
		finish(t, o)
	}
	slices.SortStableFunc(out, func(x, y flow.Session) int {
		if c := x.End().Compare(y.End()); c != 0 {
			return c
		}
		return cmp.Compare(x.Orig.Addr().String(), y.Orig.Addr().String())
	})
	return out
}
