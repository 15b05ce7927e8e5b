package pcapread_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/itest"
)

var be = binary.BigEndian

// Frame builders. Addresses are documentation ones.
var (
	src4 = [4]byte{192, 0, 2, 1}
	dst4 = [4]byte{198, 51, 100, 2}
	src6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	dst6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
)

func udp(sp, dp uint16, payload []byte) []byte {
	b := be.AppendUint16(nil, sp)
	b = be.AppendUint16(b, dp)
	b = be.AppendUint16(b, uint16(8+len(payload)))
	b = be.AppendUint16(b, 0)
	return append(b, payload...)
}

func ipv4(proto byte, frag uint16, body []byte) []byte {
	b := []byte{0x45, 0, 0, 0, 0, 1}
	b = be.AppendUint16(b, frag)
	b = append(b, 64, proto, 0, 0)
	b = append(b, src4[:]...)
	b = append(b, dst4[:]...)
	be.PutUint16(b[2:], uint16(20+len(body)))
	return append(b, body...)
}

// ipv6 builds an IPv6 packet; ext, when set, is a destination options
// header before UDP.
func ipv6(ext bool, body []byte) []byte {
	next := byte(17)
	if ext {
		body = append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, body...)
		next = 60
	}
	b := []byte{0x60, 0, 0, 0}
	b = be.AppendUint16(b, uint16(len(body)))
	b = append(b, next, 64)
	b = append(b, src6[:]...)
	b = append(b, dst6[:]...)
	return append(b, body...)
}

func eth(etype uint16, vlan bool, ip []byte) []byte {
	b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	if vlan {
		b = be.AppendUint16(b, 0x8100)
		b = be.AppendUint16(b, 42)
	}
	b = be.AppendUint16(b, etype)
	return append(b, ip...)
}

func sll(ip []byte) []byte {
	b := make([]byte, 14)
	b = be.AppendUint16(b, 0x0800)
	return append(b, ip...)
}

type frame struct {
	t    time.Time
	data []byte
}

// classic writes a classic pcap in the given byte order and resolution.
func classic(order binary.AppendByteOrder, nanos bool, link uint32, frames []frame) []byte {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 65535)
	b = order.AppendUint32(b, link)
	for _, f := range frames {
		frac := f.t.Nanosecond() / 1000
		if nanos {
			frac = f.t.Nanosecond()
		}
		b = order.AppendUint32(b, uint32(f.t.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(f.data)))
		b = order.AppendUint32(b, uint32(len(f.data)))
		b = append(b, f.data...)
	}
	return b
}

// pcapng writes a little-endian pcapng with one interface of the given link
// type and if_tsresol, enhanced packet blocks, and a block it must skip.
func pcapng(link uint16, tsresol byte, frames []frame) []byte {
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		b := le.AppendUint32(nil, typ)
		b = le.AppendUint32(b, uint32(12+len(body)))
		b = append(b, body...)
		return le.AppendUint32(b, uint32(12+len(body)))
	}
	shb := le.AppendUint32(nil, 0x1a2b3c4d)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, ^uint64(0))
	out := block(0x0a0d0d0a, shb)
	idb := le.AppendUint16(nil, link)
	idb = le.AppendUint16(idb, 0)
	idb = le.AppendUint32(idb, 0)
	idb = le.AppendUint16(idb, 9)
	idb = le.AppendUint16(idb, 1)
	idb = append(idb, tsresol, 0, 0, 0)
	idb = le.AppendUint32(idb, 0) // opt_endofopt
	out = append(out, block(1, idb)...)
	out = append(out, block(5, []byte("stats"))...) // an interface statistics block to skip
	per := uint64(1)
	for range tsresol & 0x7f {
		per *= 10
	}
	for _, f := range frames {
		ticks := uint64(f.t.Unix())*per + uint64(f.t.Nanosecond())*per/1e9
		epb := le.AppendUint32(nil, 0)
		epb = le.AppendUint32(epb, uint32(ticks>>32))
		epb = le.AppendUint32(epb, uint32(ticks))
		epb = le.AppendUint32(epb, uint32(len(f.data)))
		epb = le.AppendUint32(epb, uint32(len(f.data)))
		epb = append(epb, f.data...)
		out = append(out, block(6, epb)...)
	}
	return out
}

func readAll(t testing.TB, b []byte) ([]flow.Datagram, pcapread.Stats, error) {
	t.Helper()
	r, err := pcapread.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, pcapread.Stats{}, err
	}
	var ds []flow.Datagram
	for {
		d, err := r.ReadDatagram()
		if err == io.EOF {
			return ds, r.Stats(), nil
		}
		if err != nil {
			return ds, r.Stats(), err
		}
		d.Payload = bytes.Clone(d.Payload)
		ds = append(ds, d)
	}
}

func TestFormats(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.UTC)
	us := t0.Truncate(time.Microsecond)
	p4 := ipv4(17, 0, udp(50000, 2055, []byte("v4")))
	p6 := ipv6(true, udp(50001, 4739, []byte("v6")))
	want4 := flow.Datagram{Src: netip.AddrPortFrom(netip.AddrFrom4(src4), 50000), Dst: netip.AddrPortFrom(netip.AddrFrom4(dst4), 2055), Payload: []byte("v4")}
	want6 := flow.Datagram{Src: netip.AddrPortFrom(netip.AddrFrom16(src6), 50001), Dst: netip.AddrPortFrom(netip.AddrFrom16(dst6), 4739), Payload: []byte("v6")}
	with := func(d flow.Datagram, t time.Time) flow.Datagram { d.Time = t; return d }
	mixed := []frame{
		{t0, eth(0x0800, false, p4)},
		{t0, eth(0x86dd, true, p6)},
		{t0, eth(0x0806, false, make([]byte, 28))},                           // ARP
		{t0, eth(0x0800, false, ipv4(6, 0, make([]byte, 20)))},               // TCP
		{t0, eth(0x0800, false, ipv4(17, 0x2000, udp(1, 2, []byte("x"))))},   // first fragment
		{t0, eth(0x0800, false, ipv4(17, 0, udp(1, 2, []byte("abc")))[:30])}, // snapped
	}
	for _, tc := range []struct {
		name  string
		file  []byte
		want  []flow.Datagram
		stats pcapread.Stats
	}{
		{"classic little-endian µs, mixed frames", classic(binary.LittleEndian, false, 1, mixed),
			[]flow.Datagram{with(want4, us), with(want6, us)}, pcapread.Stats{Frames: 6, Datagrams: 2, NotUDP: 2, Fragments: 1, Truncated: 1}},
		{"classic big-endian ns", classic(binary.BigEndian, true, 1, []frame{{t0, eth(0x0800, false, p4)}}),
			[]flow.Datagram{with(want4, t0)}, pcapread.Stats{Frames: 1, Datagrams: 1}},
		{"classic Linux cooked", classic(binary.LittleEndian, false, 113, []frame{{t0, sll(p4)}}),
			[]flow.Datagram{with(want4, us)}, pcapread.Stats{Frames: 1, Datagrams: 1}},
		{"classic raw IP", classic(binary.LittleEndian, false, 101, []frame{{t0, p4}, {t0, p6}}),
			[]flow.Datagram{with(want4, us), with(want6, us)}, pcapread.Stats{Frames: 2, Datagrams: 2}},
		{"pcapng µs", pcapng(1, 6, []frame{{t0, eth(0x0800, false, p4)}}),
			[]flow.Datagram{with(want4, us)}, pcapread.Stats{Frames: 1, Datagrams: 1}},
		{"pcapng ns", pcapng(1, 9, []frame{{t0, eth(0x86dd, false, p6)}}),
			[]flow.Datagram{with(want6, t0)}, pcapread.Stats{Frames: 1, Datagrams: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st, err := readAll(t, tc.file)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.AddrPort{})); d != "" {
				t.Errorf("datagrams (-want +got):\n%s", d)
			}
			if st != tc.stats {
				t.Errorf("Stats() = %+v, want %+v", st, tc.stats)
			}
		})
	}
}

func TestBrokenFiles(t *testing.T) {
	good := classic(binary.LittleEndian, false, 1, []frame{{time.Unix(1, 0), eth(0x0800, false, ipv4(17, 0, udp(1, 2, nil)))}})
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, pcapread.ErrFormat},
		{"not a capture", []byte("#separator \\x09\n"), pcapread.ErrFormat},
		{"cut in a record", good[:len(good)-3], io.ErrUnexpectedEOF},
		{"huge record", append(good[:24:24], 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0), pcapread.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.file)
			if !errors.Is(err, tc.want) {
				t.Errorf("read error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTsharkOracle reads a real capture and compares its UDP datagrams
// with tshark's.
func TestTsharkOracle(t *testing.T) {
	tshark := itest.Need(t, "tshark")
	path := itest.Data(t, "botnet-flows/slips-dataset/dataset/test-cc/test-cc-capture-2.pcap")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readAll(t, b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-Y", "udp && !icmp", "-T", "fields", "-E", "separator=,",
		"-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "udp.dstport", "-e", "udp.length").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		sec, _ := strconv.ParseFloat(f[0], 64)
		n, _ := strconv.Atoi(f[7])
		want = append(want, strings.Join([]string{strconv.FormatInt(int64(sec*1e6+0.5), 10), f[1] + f[2], f[3], f[4] + f[5], f[6], strconv.Itoa(n - 8)}, ","))
	}
	var have []string
	for _, d := range got {
		have = append(have, strings.Join([]string{strconv.FormatInt(d.Time.UnixMicro(), 10), d.Src.Addr().String(), strconv.Itoa(int(d.Src.Port())),
			d.Dst.Addr().String(), strconv.Itoa(int(d.Dst.Port())), strconv.Itoa(len(d.Payload))}, ","))
	}
	if len(want) == 0 {
		t.Fatal("tshark saw no UDP")
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("datagrams (-tshark +ours):\n%s", diff)
	}
}

// FuzzPcap reads arbitrary files: no panic, and datagrams have endpoints.
func FuzzPcap(f *testing.F) {
	t0 := time.Unix(1772445600, 0)
	f.Add(classic(binary.LittleEndian, false, 1, []frame{{t0, eth(0x0800, true, ipv4(17, 0, udp(1, 2, []byte("x"))))}}))
	f.Add(classic(binary.BigEndian, true, 113, []frame{{t0, sll(ipv4(17, 0, udp(1, 2, nil)))}}))
	f.Add(pcapng(1, 0x86, []frame{{t0, eth(0x86dd, false, ipv6(true, udp(3, 4, []byte("y"))))}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, st, _ := readAll(t, b)
		for _, d := range ds {
			if !d.Src.IsValid() || !d.Dst.IsValid() {
				t.Fatalf("datagram without endpoints: %+v", d)
			}
		}
		if st.Datagrams != uint64(len(ds)) {
			t.Fatalf("Stats().Datagrams = %d, read %d", st.Datagrams, len(ds))
		}
	})
}
