package netflow

import (
	"errors"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// A Reader decodes the export datagrams of a capture (see package pcapread)
// into records, for `flows dump`, batch analysis and tests. Every datagram
// is tried, whatever its port; datagrams that are not NetFlow or IPFIX
// count as errors of reason "version". It implements flow.RecordReader.
type Reader struct {
	src  flow.DatagramReader
	dec  *Decoder
	name string
	buf  []flow.Record
	i    int
	n    int // datagrams read
}

// NewReader returns a Reader that decodes src with a new Decoder; name
// labels errors (a file name, say).
func NewReader(src flow.DatagramReader, name string, opts Options) *Reader {
	return &Reader{src: src, dec: NewDecoder(opts), name: name}
}

// Decoder returns the reader's decoder, for its Stats.
func (r *Reader) Decoder() *Decoder { return r.dec }

// ReadRecord returns the next record. A *flow.ParseError reports a skipped
// datagram (or part of one), with Line the 1-based datagram number; the
// records decoded from the rest of that datagram follow it. It returns
// io.EOF at the end of src and src's other errors as they are.
func (r *Reader) ReadRecord() (flow.Record, error) {
	for r.i >= len(r.buf) {
		d, err := r.src.ReadDatagram()
		if err != nil {
			return flow.Record{}, err
		}
		r.n++
		r.buf, r.i = r.buf[:0], 0
		var derr error
		r.buf, derr = r.dec.Decode(r.buf, d.Payload, d.Src.Addr(), d.Time)
		if pe, ok := errors.AsType[*flow.ParseError](derr); ok {
			e := *pe
			e.Name, e.Line = r.name, r.n
			return flow.Record{}, &e
		}
	}
	r.i++
	return r.buf[r.i-1], nil
}
