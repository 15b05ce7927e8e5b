// Package pcapread reads the UDP datagrams out of packet capture files:
// classic pcap (either byte order, microsecond or nanosecond timestamps)
// and pcapng, with Ethernet (VLAN-tagged or not), Linux cooked (v1 and v2),
// BSD loopback and raw IPv4/IPv6 framing. It exists to replay recorded
// NetFlow and IPFIX export into the decoder, so it knows only what export
// packets travel in: IPv4 and IPv6 (with extension headers) carrying UDP.
//
// Frames that are not UDP, IP fragments and frames cut short by the
// capture's snap length are skipped and counted in [Stats]; the file's
// structure alone (headers and block lengths) can make a read fail. It
// uses the standard library only and never panics on any input.
package pcapread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Link types (LINKTYPE_* values of the tcpdump registry).
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkRawBSD   = 12
	linkRawBSD14 = 14
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// maxBlock bounds a record or block, so a corrupt length cannot make the
// reader allocate without limit.
const maxBlock = 16 << 20

// ErrFormat reports a file that is not a capture this package reads, or
// whose structure is broken.
var ErrFormat = errors.New("not a readable pcap or pcapng file")

// Stats counts the frames a Reader read and skipped.
type Stats struct {
	Frames    uint64 // frames (packet records) read
	Datagrams uint64 // UDP datagrams returned
	NotUDP    uint64 // frames of other protocols or link types
	Fragments uint64 // IP fragments (not reassembled)
	Truncated uint64 // frames cut short by the snap length or malformed
}

type iface struct {
	link   uint32
	perSec uint64 // timestamp ticks per second
	offset int64  // if_tsoffset, seconds
}

// A Reader reads UDP datagrams from a capture file. It is not safe for
// concurrent use. The zero Reader is not usable; call NewReader.
type Reader struct {
	br     *bufio.Reader
	order  binary.ByteOrder
	ng     bool
	ifaces []iface // pcapng interfaces; classic pcap has one
	buf    []byte
	stats  Stats
}

// NewReader reads the file header from r and returns a Reader positioned
// at the first packet. It reports an error wrapping ErrFormat when r does
// not start like a pcap or pcapng file.
func NewReader(r io.Reader) (*Reader, error) {
	pr := &Reader{br: bufio.NewReaderSize(r, 1<<16)}
	head, err := pr.br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("read file header: %w", errors.Join(ErrFormat, err))
	}
	if binary.LittleEndian.Uint32(head) == 0x0a0d0d0a {
		pr.ng = true
		if err := pr.readSection(); err != nil {
			return nil, err
		}
		return pr, nil
	}
	var h [24]byte
	if _, err := io.ReadFull(pr.br, h[:]); err != nil {
		return nil, fmt.Errorf("read file header: %w", errors.Join(ErrFormat, err))
	}
	unit := uint64(1e6)
	switch binary.LittleEndian.Uint32(h[:]) {
	case 0xa1b2c3d4:
		pr.order = binary.LittleEndian
	case 0xd4c3b2a1:
		pr.order = binary.BigEndian
	case 0xa1b23c4d:
		pr.order, unit = binary.LittleEndian, 1e9
	case 0x4d3cb2a1:
		pr.order, unit = binary.BigEndian, 1e9
	default:
		return nil, fmt.Errorf("magic %#x: %w", h[:4], ErrFormat)
	}
	link := pr.order.Uint32(h[20:]) & 0x0fffffff // the high bits carry FCS length flags
	pr.ifaces = []iface{{link: link, perSec: unit}}
	return pr, nil
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// ReadDatagram returns the next UDP datagram in the file, skipping (and
// counting) frames that do not carry one. It returns io.EOF at the end of
// the file, and an error wrapping ErrFormat or io.ErrUnexpectedEOF when
// the file is cut or corrupt. The payload is valid until the next call.
func (r *Reader) ReadDatagram() (flow.Datagram, error) {
	for {
		frame, link, ts, err := r.next()
		if err != nil {
			return flow.Datagram{}, err
		}
		if frame == nil {
			continue // a pcapng block that carries no packet
		}
		r.stats.Frames++
		d, why := parseFrame(link, frame)
		switch why {
		case "":
			d.Time = ts
			r.stats.Datagrams++
			return d, nil
		case whyNotUDP:
			r.stats.NotUDP++
		case whyFragment:
			r.stats.Fragments++
		default:
			r.stats.Truncated++
		}
	}
}

// readFull reads n bytes into the reusable buffer.
func (r *Reader) readFull(n int) ([]byte, error) {
	if n < 0 || n > maxBlock {
		return nil, fmt.Errorf("record of %d bytes: %w", n, ErrFormat)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n, max(n, 2*cap(r.buf)))
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// next returns the next frame, its link type and timestamp. A nil frame
// with a nil error means a block without a packet.
func (r *Reader) next() ([]byte, uint32, time.Time, error) {
	if r.ng {
		return r.nextBlock()
	}
	var h [16]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return nil, 0, time.Time{}, err // io.EOF at a clean end, else io.ErrUnexpectedEOF
	}
	sec, frac := r.order.Uint32(h[0:]), r.order.Uint32(h[4:])
	incl := r.order.Uint32(h[8:])
	b, err := r.readFull(int(incl))
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	ifc := r.ifaces[0]
	return b, ifc.link, ifc.time(uint64(sec)*ifc.perSec + uint64(frac)%ifc.perSec), nil
}
