package zeek

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// maxLine bounds a conn.log line.
const maxLine = 1 << 20

// A Reader reads sessions from a conn.log stream. It implements
// flow.SessionReader. It is not safe for concurrent use.
type Reader struct {
	sc *bufio.Scanner
	p  *Parser
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader, opts Options) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Reader{sc: sc, p: NewParser(opts)}
}

// ReadSession returns the next session. A *flow.ParseError reports a line
// it skipped, with its number; the caller may go on reading. It returns
// io.EOF at the end of the stream, and read errors (including a line
// longer than 1 MiB) as final errors.
func (r *Reader) ReadSession() (flow.Session, error) {
	for r.sc.Scan() {
		s, ok, err := r.p.Parse(r.sc.Bytes())
		if err != nil || ok {
			return s, err
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return flow.Session{}, fmt.Errorf("%s:%d: line longer than %d bytes: %w", r.p.opts.Name, r.p.line+1, maxLine, err)
		}
		return flow.Session{}, err
	}
	return flow.Session{}, io.EOF
}

// Line returns the number of the line last read.
func (r *Reader) Line() int { return r.p.line }
