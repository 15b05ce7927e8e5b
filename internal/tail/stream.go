package tail

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// OpenStream returns a reader of the lines of in, such as standard input,
// to its end. Streams cannot be resumed: checkpoints carry only the
// sequence number. A blocked read of in cannot be interrupted; when ctx
// ends, Next returns and the read finishes in the background.
func OpenStream(c Config, in io.Reader) *Reader {
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultConfig().MaxLine
	}
	r := newReader(c.Name, c.Logger, Checkpoint{})
	r.src = newStream(in, c.MaxLine, nil)
	return r
}

// A stream reads lines from a reader that may block, through a goroutine
// started by the first Next, so that Next can return when its context
// ends.
type stream struct {
	lb     *lineBuf
	in     io.Reader
	onLine func(text []byte, r *Reader) bool // false drops the line
	stop   func() error

	once    sync.Once
	data    chan []byte
	free    chan []byte
	done    chan struct{}
	err     error // set before data is closed
	cur     []byte
	pending []byte
	eof     bool
}

func newStream(in io.Reader, maxLine int, stop func() error) *stream {
	return &stream{lb: newLineBuf(maxLine), in: in, stop: stop}
}

func (s *stream) run() {
	defer close(s.data)
	for {
		var buf []byte
		select {
		case buf = <-s.free:
		case <-s.done:
			return
		}
		n, err := s.in.Read(buf[:cap(buf)])
		if n > 0 {
			select {
			case s.data <- buf[:n]:
			case <-s.done:
				return
			}
		} else {
			s.free <- buf
		}
		if err != nil {
			s.err = err
			return
		}
	}
}

// read is the lineBuf's source: it waits for the goroutine's next chunk.
func (s *stream) read(ctx context.Context) func([]byte) (int, error) {
	return func(p []byte) (int, error) {
		if len(s.pending) == 0 {
			if s.cur != nil {
				s.free <- s.cur[:0]
				s.cur = nil
			}
			select {
			case b, ok := <-s.data:
				if !ok {
					if s.err == nil || s.err == io.EOF {
						return 0, io.EOF
					}
					return 0, s.err
				}
				s.cur, s.pending = b, b
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
}

func (s *stream) next(ctx context.Context, r *Reader) ([]byte, bool, error) {
	s.once.Do(func() {
		s.data, s.free, s.done = make(chan []byte, 2), make(chan []byte, 3), make(chan struct{})
		for range 3 {
			s.free <- make([]byte, 0, readChunk)
		}
		go s.run()
	})
	for {
		if text, cut, ok := s.lb.line(); ok {
			r.cp.Offset = s.lb.pos
			if s.onLine == nil || s.onLine(text, r) {
				return text, cut, nil
			}
			continue
		}
		if s.eof {
			if text, cut, ok := s.lb.rest(); ok {
				r.cp.Offset = s.lb.pos
				if s.onLine == nil || s.onLine(text, r) {
					return text, cut, nil
				}
			}
			return nil, false, io.EOF
		}
		_, err := s.lb.fill(s.read(ctx))
		switch {
		case err == io.EOF:
			s.eof = true
		case err != nil:
			return nil, false, err
		}
	}
}

func (s *stream) close() error {
	if s.done != nil {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	if s.stop != nil {
		return s.stop()
	}
	return nil
}

// OpenFiles returns a reader of the lines of each file in paths, in
// order, to the end of the last (batch mode). Gzip'd files, told by their
// first bytes, are decompressed. Next returns io.EOF at the end.
func OpenFiles(c Config, paths []string) *Reader {
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultConfig().MaxLine
	}
	if c.Fingerprint <= 0 {
		c.Fingerprint = DefaultConfig().Fingerprint
	}
	r := newReader(c.Name, c.Logger, Checkpoint{})
	r.src = &batch{paths: paths, f: newFollower(c)}
	return r
}

// A batch reads files once each, with a follower's machinery for one
// file at a time.
type batch struct {
	paths []string
	i     int
	f     *follower
	open  bool
}

func (b *batch) next(ctx context.Context, r *Reader) ([]byte, bool, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if !b.open {
			if b.i >= len(b.paths) {
				return nil, false, io.EOF
			}
			p := b.paths[b.i]
			b.i++
			o, err := openCandidate(&candidate{path: p, gz: isGzip(p)})
			if err != nil {
				return nil, false, fmt.Errorf("open %s: %w", p, err)
			}
			b.f.install(r, o, 0, r.cp.File)
			b.open = true
		}
		if text, cut, ok := b.f.lb.line(); ok {
			b.f.deliver(r)
			return text, cut, nil
		}
		n, err := b.f.lb.fill(b.f.read)
		if n > 0 {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrHeader) {
				r.stats.Lost++
			} else {
				return nil, false, fmt.Errorf("read %s: %w", b.f.cur.path, err)
			}
		}
		text, cut, ok := b.f.lb.rest()
		b.open = false
		if ok {
			b.f.deliver(r)
			return text, cut, nil
		}
	}
}

func (b *batch) close() error { return b.f.close() }
