package nfexport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
)

// A PcapWriter frames export packets as Ethernet/IPv4/UDP datagrams from
// an exporter to a collector and writes them to a classic pcap file
// (microsecond timestamps, link type Ethernet). It is a Sink.
type PcapWriter struct {
	w     *bufio.Writer
	src   netip.AddrPort
	dst   netip.AddrPort
	ipID  uint16
	frame []byte
	n     int64
}

const (
	ethLen = 14
	ipLen  = 20
	udpLen = 8
)

// NewPcapWriter writes the pcap file header to w and returns a writer of
// datagrams from src to dst, which must be IPv4.
func NewPcapWriter(w io.Writer, src, dst netip.AddrPort) (*PcapWriter, error) {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return nil, errors.New("pcap framing needs IPv4 exporter and collector addresses")
	}
	p := &PcapWriter{w: bufio.NewWriterSize(w, 256<<10), src: src, dst: dst, frame: make([]byte, 0, 2048)}
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], 65535) // snaplen
	le.PutUint32(h[20:], 1)     // LINKTYPE_ETHERNET
	_, err := p.w.Write(h[:])
	return p, err
}

// Packets returns the number of packets written.
func (p *PcapWriter) Packets() int64 { return p.n }

// WritePacket writes payload as one datagram captured at t (microseconds).
func (p *PcapWriter) WritePacket(t int64, payload []byte) error {
	if len(payload) > 65535-ipLen-udpLen {
		return fmt.Errorf("datagram of %d bytes: too large", len(payload))
	}
	f := p.frame[:0]
	// Ethernet: locally administered MACs.
	f = append(f, 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00)
	ip := len(f)
	total := ipLen + udpLen + len(payload)
	f = append(f, 0x45, 0)
	f = be.AppendUint16(f, uint16(total))
	f = be.AppendUint16(f, p.ipID)
	f = append(f, 0x40, 0, 64, 17, 0, 0) // DF, TTL 64, UDP, checksum later
	s4, d4 := p.src.Addr().As4(), p.dst.Addr().As4()
	f = append(f, s4[:]...)
	f = append(f, d4[:]...)
	be.PutUint16(f[ip+10:], checksum(f[ip:ip+ipLen], 0))
	udp := len(f)
	f = be.AppendUint16(f, p.src.Port())
	f = be.AppendUint16(f, p.dst.Port())
	f = be.AppendUint16(f, uint16(udpLen+len(payload)))
	f = be.AppendUint16(f, 0)
	f = append(f, payload...)
	// UDP checksum over the pseudo-header and the datagram.
	var pseudo uint32
	pseudo += uint32(s4[0])<<8 | uint32(s4[1])
	pseudo += uint32(s4[2])<<8 | uint32(s4[3])
	pseudo += uint32(d4[0])<<8 | uint32(d4[1])
	pseudo += uint32(d4[2])<<8 | uint32(d4[3])
	pseudo += 17 + uint32(udpLen+len(payload))
	cs := checksum(f[udp:], pseudo)
	if cs == 0 {
		cs = 0xffff
	}
	be.PutUint16(f[udp+6:], cs)
	p.ipID++

	var h [16]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(t/1e6))
	le.PutUint32(h[4:], uint32(t%1e6))
	le.PutUint32(h[8:], uint32(len(f)))
	le.PutUint32(h[12:], uint32(len(f)))
	p.frame = f
	p.n++
	if _, err := p.w.Write(h[:]); err != nil {
		return err
	}
	_, err := p.w.Write(f)
	return err
}

// Flush writes buffered data to the underlying writer.
func (p *PcapWriter) Flush() error { return p.w.Flush() }

// checksum returns the Internet checksum of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ErrPcap reports a malformed pcap file.
var ErrPcap = errors.New("malformed pcap")

// ReadPcap calls fn with the capture time (microseconds) and UDP payload
// of each IPv4/UDP datagram in a classic pcap file with Ethernet, Linux
// cooked or raw IP framing. Other packets are skipped. It returns the
// first error fn returns, or an error wrapping ErrPcap.
func ReadPcap(r io.Reader, fn func(t int64, payload []byte) error) error {
	br := bufio.NewReader(r)
	var gh [24]byte
	if _, err := io.ReadFull(br, gh[:]); err != nil {
		return fmt.Errorf("pcap header: %w: %w", ErrPcap, err)
	}
	var order binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(gh[:]) {
	case 0xa1b2c3d4:
		order = binary.LittleEndian
	case 0xa1b23c4d:
		order, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		order = binary.BigEndian
	case 0x4d3cb2a1:
		order, nano = binary.BigEndian, true
	default:
		return fmt.Errorf("pcap magic %x: %w", gh[:4], ErrPcap)
	}
	var off int
	switch lt := order.Uint32(gh[20:]); lt {
	case 1:
		off = ethLen
	case 113:
		off = 16
	case 101, 228:
		off = 0
	default:
		return fmt.Errorf("pcap link type %d: %w", lt, ErrPcap)
	}
	buf := make([]byte, 0, 2048)
	for n := 1; ; n++ {
		var h [16]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("packet %d header: %w: %w", n, ErrPcap, err)
		}
		incl := order.Uint32(h[8:])
		if incl > 262144 {
			return fmt.Errorf("packet %d: length %d: %w", n, incl, ErrPcap)
		}
		if cap(buf) < int(incl) {
			buf = make([]byte, incl)
		}
		pkt := buf[:incl]
		if _, err := io.ReadFull(br, pkt); err != nil {
			return fmt.Errorf("packet %d: %w: %w", n, ErrPcap, err)
		}
		sub := int64(order.Uint32(h[4:]))
		if nano {
			sub /= 1000
		}
		t := int64(order.Uint32(h[0:]))*1e6 + sub
		if len(pkt) < off+ipLen+udpLen {
			continue
		}
		ip := pkt[off:]
		if ip[0]>>4 != 4 || ip[9] != 17 {
			continue
		}
		ihl := int(ip[0]&15) * 4
		if ihl < ipLen || len(ip) < ihl+udpLen {
			continue
		}
		ulen := int(be.Uint16(ip[ihl+4:]))
		if ulen < udpLen || ihl+ulen > len(ip) {
			continue
		}
		if err := fn(t, ip[ihl+udpLen:ihl+ulen]); err != nil {
			return err
		}
	}
}
