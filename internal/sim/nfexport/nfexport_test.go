package nfexport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// packet is what the test decoder understands of one export packet.
type packet struct {
	t         int64
	version   int
	count     int    // v9 header count
	length    int    // IPFIX header length
	seq       uint32 // v9 packet sequence, IPFIX data record sequence
	clock     int64  // header seconds
	uptime    int64  // v9 sysUptime, ms
	templates int    // templates seen
	options   int    // options data records seen
	sampling  uint32
	recs      []Record
}

type capture struct{ pkts []packet }

func (c *capture) WritePacket(t int64, p []byte) error {
	d, err := decode(t, p)
	if err != nil {
		return err
	}
	c.pkts = append(c.pkts, d)
	return nil
}

// decode is a deliberately small decoder for this package's own packets.
func decode(t int64, p []byte) (packet, error) {
	be := binary.BigEndian
	d := packet{t: t, version: int(be.Uint16(p))}
	off := 20
	if d.version == 9 {
		d.count = int(be.Uint16(p[2:]))
		d.uptime = int64(be.Uint32(p[4:]))
		d.clock = int64(be.Uint32(p[8:]))
		d.seq = be.Uint32(p[12:])
	} else {
		d.length = int(be.Uint16(p[2:]))
		d.clock = int64(be.Uint32(p[4:]))
		d.seq = be.Uint32(p[8:])
		off = 16
		if d.length != len(p) {
			return d, fmt.Errorf("ipfix length %d, packet %d", d.length, len(p))
		}
	}
	for off < len(p) {
		if off+4 > len(p) {
			return d, errors.New("truncated set header")
		}
		id, n := be.Uint16(p[off:]), int(be.Uint16(p[off+2:]))
		if n < 4 || off+n > len(p) || n%4 != 0 {
			return d, fmt.Errorf("set %d length %d at %d of %d", id, n, off, len(p))
		}
		body := p[off+4 : off+n]
		switch {
		case id == 0 || id == 2:
			for len(body) >= 4 {
				fc := int(be.Uint16(body[2:]))
				body = body[4+4*fc:]
				d.templates++
			}
		case id == 1 || id == 3:
		case id == TemplateOptions:
			d.options++
			d.sampling = be.Uint32(body[4:])
		case id == TemplateV4 || id == TemplateV6:
			rl := recLen(d.version, id == TemplateV6)
			for len(body) >= rl {
				d.recs = append(d.recs, parse(d, body[:rl], id == TemplateV6))
				body = body[rl:]
			}
			if len(body) >= 4 {
				return d, fmt.Errorf("%d stray bytes in data set", len(body))
			}
		default:
			return d, fmt.Errorf("unknown set %d", id)
		}
		off += n
	}
	return d, nil
}

func parse(d packet, b []byte, v6 bool) Record {
	be := binary.BigEndian
	alen := 4
	if v6 {
		alen = 16
	}
	addr := func(x []byte) netip.Addr { a, _ := netip.AddrFromSlice(x); return a }
	r := Record{Bytes: be.Uint64(b), Packets: be.Uint64(b[8:]), Proto: b[16], TCPFlags: b[18]}
	i := 19
	r.SrcPort = be.Uint16(b[i:])
	r.Src = addr(b[i+2 : i+2+alen])
	i += 2 + alen
	if d.version == 9 {
		r.InIf = be.Uint16(b[i:])
		i += 2
	} else {
		r.InIf = uint16(be.Uint32(b[i:]))
		i += 4
	}
	r.DstPort = be.Uint16(b[i:])
	r.Dst = addr(b[i+2 : i+2+alen])
	i += 2 + alen
	if d.version == 9 {
		r.OutIf = be.Uint16(b[i:])
		last, first := int64(be.Uint32(b[i+2:])), int64(be.Uint32(b[i+6:]))
		// Collector arithmetic: header clock minus uptime plus switched times.
		base := d.clock*1000 - d.uptime
		r.First, r.Last = (base+first)*1000, (base+last)*1000
		i += 10
	} else {
		r.OutIf = uint16(be.Uint32(b[i:]))
		r.First, r.Last = int64(be.Uint64(b[i+4:]))*1000, int64(be.Uint64(b[i+12:]))*1000
		i += 20
	}
	r.Egress = b[i] == 1
	return r
}

func testRecords(n int) []Record {
	var rs []Record
	for i := 0; i < n; i++ {
		src, dst := netip.MustParseAddr("198.18.0.7"), netip.MustParseAddr("203.0.113.9")
		if i%5 == 4 {
			src, dst = netip.MustParseAddr("2001:db8:1000::1"), netip.MustParseAddr("2001:db8:8001::2")
		}
		first := int64(1772409600000000 + i*1000000)
		rs = append(rs, Record{First: first, Last: first + 2500000, Src: src, Dst: dst, SrcPort: uint16(40000 + i),
			DstPort: 443, Proto: 6, TCPFlags: 0x1b, Packets: uint64(3 + i), Bytes: uint64(200 + 10*i), InIf: 1, OutIf: 2})
	}
	return rs
}

func TestExporter(t *testing.T) {
	const boot = int64(1772323200000000)
	for _, tc := range []struct {
		name     string
		version  int
		sampling int
		skew     int64
	}{
		{"v9", 9, 1, 0}, {"ipfix", 10, 1, 0}, {"v9 sampled skewed", 9, 100, -90e6}, {"ipfix sampled skewed", 10, 1000, 3600e6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c capture
			x, err := New(Config{Version: tc.version, SourceID: 7, Sampling: tc.sampling, ClockSkew: tc.skew,
				Boot: boot, TemplateEvery: 3}, &c)
			if err != nil {
				t.Fatal(err)
			}
			in := testRecords(300)
			for i := range in {
				if err := x.Add(in[i].Last, &in[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}
			var got []Record
			var dataSeq uint32
			for i, p := range c.pkts {
				if p.version != tc.version {
					t.Fatalf("packet %d: version %d", i, p.version)
				}
				wantTmpl := 0
				if i%3 == 0 {
					wantTmpl = 2
				}
				if p.templates != wantTmpl {
					t.Errorf("packet %d: %d templates, want %d", i, p.templates, wantTmpl)
				}
				wantOpt := 0
				if wantTmpl > 0 && tc.sampling > 1 {
					wantOpt = 1
					if p.sampling != uint32(tc.sampling) {
						t.Errorf("packet %d: sampling %d, want %d", i, p.sampling, tc.sampling)
					}
				}
				if p.options != wantOpt {
					t.Errorf("packet %d: %d options records, want %d", i, p.options, wantOpt)
				}
				if tc.version == 9 {
					if p.seq != uint32(i) {
						t.Errorf("packet %d: sequence %d", i, p.seq)
					}
					if p.count != len(p.recs)+p.templates+2*p.options {
						t.Errorf("packet %d: count %d for %d records", i, p.count, len(p.recs))
					}
				} else {
					if p.seq != dataSeq {
						t.Errorf("packet %d: sequence %d, want %d", i, p.seq, dataSeq)
					}
					dataSeq += uint32(len(p.recs) + p.options)
				}
				if want := (p.t + tc.skew) / 1e6; p.clock != want {
					t.Errorf("packet %d: header clock %d, want %d", i, p.clock, want)
				}
				if p.length > 1400 {
					t.Errorf("packet %d: %d bytes", i, p.length)
				}
				got = append(got, p.recs...)
			}
			if uint64(len(got)) != x.Records() || len(got) != len(in) {
				t.Fatalf("decoded %d records, exporter says %d, want %d", len(got), x.Records(), len(in))
			}
			// Records come out grouped by family within a packet; compare as sets by port.
			byPort := map[uint16]Record{}
			for _, r := range got {
				byPort[r.SrcPort] = r
			}
			for _, w := range in {
				w.First = (w.First + tc.skew) / 1000 * 1000
				w.Last = (w.Last + tc.skew) / 1000 * 1000
				g := byPort[w.SrcPort]
				if tc.version == 9 {
					// v9 headers carry whole seconds: collectors place flows
					// up to a second early, as with real exporters.
					if d := w.First - g.First; d < 0 || d >= 1e6 || w.Last-g.Last != d {
						t.Fatalf("record %d: first %d last %d, want %d %d within a second", w.SrcPort, g.First, g.Last, w.First, w.Last)
					}
					w.First, w.Last = g.First, g.Last
				}
				if diff := cmp.Diff(w, byPort[w.SrcPort], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
					t.Fatalf("record %d (-want +got):\n%s", w.SrcPort, diff)
				}
			}
		})
	}
}

func TestPcapRoundTrip(t *testing.T) {
	var b bytes.Buffer
	pw, err := NewPcapWriter(&b, netip.MustParseAddrPort("198.18.255.1:50000"), netip.MustParseAddrPort("198.18.255.2:2055"))
	if err != nil {
		t.Fatal(err)
	}
	payloads := [][]byte{[]byte("first"), bytes.Repeat([]byte{7}, 1400), {}}
	for i, p := range payloads {
		if err := pw.WritePacket(int64(1772409600000000+i*1500), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	var times []int64
	err = ReadPcap(&b, func(t int64, p []byte) error {
		got = append(got, bytes.Clone(p))
		times = append(times, t)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(payloads, got); diff != "" {
		t.Errorf("payloads (-want +got):\n%s", diff)
	}
	if times[1] != 1772409600001500 {
		t.Errorf("time of packet 2 = %d, want 1772409600001500", times[1])
	}
}

func TestPcapChecksums(t *testing.T) {
	var b bytes.Buffer
	pw, _ := NewPcapWriter(&b, netip.MustParseAddrPort("198.18.255.1:50000"), netip.MustParseAddrPort("198.18.255.2:4739"))
	_ = pw.WritePacket(1, []byte("checksum me!"))
	_ = pw.Flush()
	frame := b.Bytes()[24+16:]
	ip := frame[14:]
	if checksum(ip[:20], 0) != 0 {
		t.Errorf("IPv4 header checksum does not verify")
	}
	udp := ip[20:]
	pseudo := uint32(198<<8|18) + uint32(255<<8|1) + uint32(198<<8|18) + uint32(255<<8|2) + 17 + uint32(len(udp))
	if checksum(udp, pseudo) != 0 {
		t.Errorf("UDP checksum does not verify")
	}
}

func TestReadPcapErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", bytes.Repeat([]byte{1}, 24)},
		{"truncated packet", append(pcapHeader(1), 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 100, 0, 0, 0, 9)},
		{"bad link type", pcapHeader(147)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ReadPcap(bytes.NewReader(tc.data), func(int64, []byte) error { return nil })
			if !errors.Is(err, ErrPcap) {
				t.Errorf("ReadPcap(%s) = %v, want ErrPcap", tc.name, err)
			}
		})
	}
}

func pcapHeader(link uint32) []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h, 0xa1b2c3d4)
	binary.LittleEndian.PutUint32(h[20:], link)
	return h
}

func FuzzReadPcap(f *testing.F) {
	var b bytes.Buffer
	pw, _ := NewPcapWriter(&b, netip.MustParseAddrPort("198.18.255.1:50000"), netip.MustParseAddrPort("198.18.255.2:2055"))
	_ = pw.WritePacket(1, []byte("seed"))
	_ = pw.Flush()
	f.Add(b.Bytes())
	if seeds, _ := filepath.Glob("testdata/*.pcap"); len(seeds) > 0 {
		for _, s := range seeds {
			if d, err := os.ReadFile(s); err == nil {
				f.Add(d)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var payloads [][]byte
		err := ReadPcap(bytes.NewReader(data), func(_ int64, p []byte) error {
			payloads = append(payloads, bytes.Clone(p))
			return nil
		})
		if err != nil {
			return
		}
		// What reads re-encodes: framing the payloads again reads back the same.
		var out bytes.Buffer
		pw, _ := NewPcapWriter(&out, netip.MustParseAddrPort("198.18.255.1:1"), netip.MustParseAddrPort("198.18.255.2:2"))
		for _, p := range payloads {
			if err := pw.WritePacket(0, p); err != nil {
				return
			}
		}
		_ = pw.Flush()
		var again [][]byte
		if err := ReadPcap(&out, func(_ int64, p []byte) error { again = append(again, bytes.Clone(p)); return nil }); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(again) != len(payloads) {
			t.Fatalf("re-read %d payloads, want %d", len(again), len(payloads))
		}
	})
}
