package flow

import (
	"net/netip"
	"time"
)

// A Datagram is one UDP payload as a capture file or a socket delivered
// it: the export packets of NetFlow and IPFIX travel in these. Payload is
// owned by whoever produced the Datagram and is valid only until its next
// read; copy it to keep it.
type Datagram struct {
	Time    time.Time      // capture or receive time
	Src     netip.AddrPort // the sender (the exporter), unmapped
	Dst     netip.AddrPort // the receiver (the collector), unmapped
	Payload []byte
}

// A DatagramReader streams datagrams, in the manner of encoding/csv.Reader:
// ReadDatagram returns the next datagram, or io.EOF at the end of the
// stream; any other error is final. The returned Payload is valid only
// until the next call.
type DatagramReader interface {
	ReadDatagram() (Datagram, error)
}

// A RecordReader streams unidirectional flow records: ReadRecord returns
// the next record, or io.EOF at the end. A *[ParseError] reports input
// that was skipped (a malformed line or packet); the caller may call
// ReadRecord again. Any other error is final.
type RecordReader interface {
	ReadRecord() (Record, error)
}

// A SessionReader streams bidirectional sessions, with the same contract
// as [RecordReader].
type SessionReader interface {
	ReadSession() (Session, error)
}
