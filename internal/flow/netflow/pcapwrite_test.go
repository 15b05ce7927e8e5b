package netflow_test

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// testCollector receives the datagrams written to pcap files.
var testCollector = [4]byte{192, 0, 2, 2}

const testPort = 2055

// sent is a datagram and its sender.
type sent struct {
	from    [4]byte
	payload []byte
}

// writePcapFrom writes datagrams from their senders' port 50000 to
// 192.0.2.2:2055.
func writePcapFrom(t testing.TB, path string, datagrams []sent) {
	t.Helper()
	be, le := binary.BigEndian, binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 1)
	ts := fileTimeBase
	for i, d := range datagrams {
		p := d.payload
		frame := make([]byte, 14+20+8, 42+len(p))
		copy(frame[0:6], []byte{2, 0, 0, 0, 0, 2})
		copy(frame[6:12], []byte{2, 0, 0, 0, 0, 1})
		be.PutUint16(frame[12:], 0x0800)
		ip := frame[14:34]
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		be.PutUint16(ip[2:], uint16(20+8+len(p)))
		be.PutUint16(ip[4:], uint16(i))
		copy(ip[12:16], d.from[:])
		copy(ip[16:20], testCollector[:])
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(be.Uint16(ip[j:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		be.PutUint16(ip[10:], ^uint16(sum))
		udp := frame[34:42]
		be.PutUint16(udp[0:], 50000)
		be.PutUint16(udp[2:], testPort)
		be.PutUint16(udp[4:], uint16(8+len(p)))
		frame = append(frame, p...)
		at := ts.Add(time.Duration(i) * time.Millisecond)
		b = le.AppendUint32(b, uint32(at.Unix()))
		b = le.AppendUint32(b, uint32(at.Nanosecond()/1000))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = le.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var fileTimeBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
