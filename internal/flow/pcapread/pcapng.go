package pcapread

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// pcapng block types.
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 1
	blockOPB = 2 // obsolete packet block
	blockSPB = 3
	blockEPB = 6
)

// readSection reads a section header block and sets the byte order.
func (r *Reader) readSection() error {
	var h [12]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return fmt.Errorf("read section header: %w", unexpected(err))
	}
	switch binary.LittleEndian.Uint32(h[8:]) {
	case 0x1a2b3c4d:
		r.order = binary.LittleEndian
	case 0x4d3c2b1a:
		r.order = binary.BigEndian
	default:
		return fmt.Errorf("section byte-order magic %#x: %w", h[8:], ErrFormat)
	}
	n := int(r.order.Uint32(h[4:]))
	if n < 28 || n%4 != 0 {
		return fmt.Errorf("section header length %d: %w", n, ErrFormat)
	}
	if _, err := r.readFull(n - 12); err != nil {
		return fmt.Errorf("read section header: %w", err)
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// nextBlock reads one pcapng block and returns the packet it carries, if any.
func (r *Reader) nextBlock() ([]byte, uint32, time.Time, error) {
	head, err := r.br.Peek(8)
	if err != nil {
		if err == io.EOF && len(head) == 0 {
			return nil, 0, time.Time{}, io.EOF
		}
		return nil, 0, time.Time{}, unexpected(err)
	}
	if binary.LittleEndian.Uint32(head) == blockSHB {
		return nil, 0, time.Time{}, r.readSection()
	}
	typ := r.order.Uint32(head)
	n := int(r.order.Uint32(head[4:]))
	if n < 12 || n%4 != 0 {
		return nil, 0, time.Time{}, fmt.Errorf("block length %d: %w", n, ErrFormat)
	}
	b, err := r.readFull(n)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	body := b[8 : n-4]
	switch typ {
	case blockIDB:
		r.addInterface(body)
	case blockEPB, blockOPB:
		if len(body) < 20 {
			return nil, 0, time.Time{}, fmt.Errorf("packet block of %d bytes: %w", n, ErrFormat)
		}
		var id uint32
		if typ == blockEPB {
			id = r.order.Uint32(body)
		} else {
			id = uint32(r.order.Uint16(body))
		}
		ticks := uint64(r.order.Uint32(body[4:]))<<32 | uint64(r.order.Uint32(body[8:]))
		capLen := int(r.order.Uint32(body[12:]))
		data := body[20:]
		if capLen > len(data) {
			return nil, 0, time.Time{}, fmt.Errorf("packet block captured length %d beyond block: %w", capLen, ErrFormat)
		}
		if int(id) >= len(r.ifaces) {
			return nil, 0, time.Time{}, fmt.Errorf("packet block for undeclared interface %d: %w", id, ErrFormat)
		}
		ifc := r.ifaces[id]
		return data[:capLen], ifc.link, ifc.time(ticks), nil
	case blockSPB:
		if len(body) < 4 || len(r.ifaces) == 0 {
			return nil, 0, time.Time{}, fmt.Errorf("simple packet block: %w", ErrFormat)
		}
		orig := int(r.order.Uint32(body))
		data := body[4:]
		if orig < len(data) {
			data = data[:orig]
		}
		return data, r.ifaces[0].link, time.Time{}, nil
	}
	return nil, 0, time.Time{}, nil
}

// addInterface records an interface description block: its link type and
// timestamp resolution (if_tsresol) and offset (if_tsoffset).
func (r *Reader) addInterface(body []byte) {
	ifc := iface{perSec: 1e6}
	if len(body) >= 8 {
		ifc.link = uint32(r.order.Uint16(body))
		opts := body[8:]
		for len(opts) >= 4 {
			code, l := r.order.Uint16(opts), int(r.order.Uint16(opts[2:]))
			if code == 0 || 4+l > len(opts) {
				break
			}
			v := opts[4 : 4+l]
			switch {
			case code == 9 && l == 1:
				ifc.setResolution(v[0])
			case code == 14 && l == 8:
				ifc.offset = int64(r.order.Uint64(v))
			}
			opts = opts[min(len(opts), 4+(l+3)&^3):]
		}
	}
	r.ifaces = append(r.ifaces, ifc)
}

// setResolution applies an if_tsresol value: 10^-n or, with the high bit
// set, 2^-n seconds per tick. Values that do not fit 64 bits are ignored.
func (ifc *iface) setResolution(v byte) {
	n := int(v & 0x7f)
	if v&0x80 != 0 {
		if n < 64 {
			ifc.perSec = 1 << n
		}
		return
	}
	if n <= 19 {
		p := uint64(1)
		for range n {
			p *= 10
		}
		ifc.perSec = p
	}
}

// time converts a timestamp in ticks since the epoch to a time.
func (ifc iface) time(ticks uint64) time.Time {
	per := max(ifc.perSec, 1)
	sec, rem := ticks/per, ticks%per
	hi, lo := bits.Mul64(rem, 1e9)
	nsec, _ := bits.Div64(hi, lo, per) // hi < per since rem < per
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}
