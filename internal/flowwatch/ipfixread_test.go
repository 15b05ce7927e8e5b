package flowwatch

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// readIPFIXPcap is a small IPFIX reader for the tests, until the decoders
// of package flow/netflow can be used: classic pcap, Ethernet/IPv4/UDP,
// IPFIX templates and data records with the information elements the
// simulator exports, and the sampling interval from options records.
// Counts are scaled by the sampling interval.
func readIPFIXPcap(r io.Reader) ([]flow.Record, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var gh [24]byte
	if _, err := io.ReadFull(br, gh[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	if binary.LittleEndian.Uint32(gh[:]) != 0xa1b2c3d4 {
		return nil, errors.New("not a little-endian microsecond pcap")
	}
	type field struct{ typ, n uint16 }
	templates := map[uint16][]field{}
	sampling := uint32(1)
	var recs []flow.Record
	var ph [16]byte
	buf := make([]byte, 65536)
	be := binary.BigEndian
	for {
		if _, err := io.ReadFull(br, ph[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return recs, nil
			}
			return nil, err
		}
		n := int(binary.LittleEndian.Uint32(ph[8:]))
		if n > len(buf) {
			return nil, fmt.Errorf("packet of %d bytes", n)
		}
		pkt := buf[:n]
		if _, err := io.ReadFull(br, pkt); err != nil {
			return nil, err
		}
		if len(pkt) < 14+20+8+16 {
			continue
		}
		msg := pkt[14+20+8:]
		if be.Uint16(msg) != 10 {
			continue
		}
		msg = msg[:min(int(be.Uint16(msg[2:])), len(msg))]
		for off := 16; off+4 <= len(msg); {
			id, l := be.Uint16(msg[off:]), int(be.Uint16(msg[off+2:]))
			if l < 4 || off+l > len(msg) {
				break
			}
			set := msg[off+4 : off+l]
			off += l
			switch {
			case id == 2 || id == 3:
				for len(set) >= 4 {
					tid, cnt := be.Uint16(set), int(be.Uint16(set[2:]))
					p := 4
					if id == 3 {
						p = 6
					}
					var fs []field
					for i := 0; i < cnt && p+4 <= len(set); i++ {
						fs = append(fs, field{be.Uint16(set[p:]), be.Uint16(set[p+2:])})
						p += 4
					}
					templates[tid] = fs
					set = set[p:]
					if tid == 0 || len(set) < 4 {
						break
					}
				}
			case id >= 256:
				fs := templates[id]
				if fs == nil {
					continue
				}
				size := 0
				for _, f := range fs {
					size += int(f.n)
				}
				for len(set) >= size && size > 0 {
					var rec flow.Record
					var start, end uint64
					p := 0
					isData := false
					for _, f := range fs {
						v := set[p : p+int(f.n)]
						p += int(f.n)
						switch f.typ {
						case 1:
							rec.Bytes = be.Uint64(v)
							isData = true
						case 2:
							rec.Packets = be.Uint64(v)
						case 4:
							rec.Proto = v[0]
						case 6:
							rec.TCPFlags = v[0]
						case 7:
							rec.SrcPort = be.Uint16(v)
						case 11:
							rec.DstPort = be.Uint16(v)
						case 8, 27:
							rec.Src, _ = netip.AddrFromSlice(v)
						case 12, 28:
							rec.Dst, _ = netip.AddrFromSlice(v)
						case 152:
							start = be.Uint64(v)
						case 153:
							end = be.Uint64(v)
						case 34:
							sampling = be.Uint32(v)
						}
					}
					set = set[size:]
					if !isData {
						continue
					}
					rec.Start, rec.End = time.UnixMilli(int64(start)).UTC(), time.UnixMilli(int64(end)).UTC()
					rec.SamplingRate = sampling
					recs = append(recs, rec)
				}
			}
		}
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
	for i := range recs {
		r := &recs[i]
		d := netip.AddrPortFrom(r.Dst.Unmap(), r.DstPort)
		m := peers[d]
		if m == nil {
			m = map[netip.Addr]bool{}
			peers[d] = m
		}
		if len(m) < 64 {
			m[r.Src.Unmap()] = true
		}
	}
	serves := func(a, b netip.AddrPort) bool { // a is the server rather than b
		if pa, pb := len(peers[a]), len(peers[b]); pa != pb && (pa > 2 || pb > 2) {
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
