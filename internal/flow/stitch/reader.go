package stitch

import (
	"io"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// A Reader turns a record stream into a session stream: it pulls records
// from its source, stitches them and yields the sessions as they close,
// then the rest at the end. It implements flow.SessionReader, so batch
// analysis treats NetFlow, IPFIX and nfdump files like Zeek logs.
type Reader struct {
	src     flow.RecordReader
	s       *Stitcher
	pending []flow.Session
	i       int
	done    bool
}

// NewReader returns a Reader stitching src with cfg.
func NewReader(src flow.RecordReader, cfg Config) (*Reader, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &Reader{src: src, s: s}, nil
}

// Stitcher returns the reader's stitcher, for its Stats.
func (r *Reader) Stitcher() *Stitcher { return r.s }

// ReadSession returns the next session. Errors of the source are passed
// on as they come (a *flow.ParseError means the source skipped input and
// reading may go on); io.EOF comes once every session has been returned.
func (r *Reader) ReadSession() (flow.Session, error) {
	emit := func(x flow.Session) { r.pending = append(r.pending, x) }
	for r.i >= len(r.pending) {
		r.pending, r.i = r.pending[:0], 0
		if r.done {
			return flow.Session{}, io.EOF
		}
		rec, err := r.src.ReadRecord()
		if err == io.EOF {
			r.done = true
			r.s.Flush(emit)
			continue
		}
		if err != nil {
			return flow.Session{}, err
		}
		r.s.Add(&rec, emit)
	}
	r.i++
	return r.pending[r.i-1], nil
}
