package intel

import (
	"bufio"
	"bytes"
	"io"
)

// MaxLine is the longest line accepted, in bytes, without its terminator.
// A longer line is consumed, counted and refused with intel.ReasonTooLong.
const MaxLine = 64 << 10

// A LineReader reads lines through a bufio.Reader sized to hold one line of
// MaxLine bytes, so memory stays bounded whatever the input. It counts
// lines, strips "\n", "\r\n" and a leading UTF-8 byte order mark.
type LineReader struct {
	br *bufio.Reader
	n  int // number of the line last returned, 1-based
}

// NewLineReader returns a LineReader over r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, MaxLine+2)}
}

// Next returns the next line. For a line longer than MaxLine it returns
// the line's first bytes and long set, having skipped the rest. err is
// io.EOF after the last line, or the underlying read error.
func (l *LineReader) Next() (line string, long bool, err error) {
	b, err := l.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		head := string(b[:min(len(b), 128)])
		for err == bufio.ErrBufferFull {
			_, err = l.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return "", false, err
		}
		l.n++
		return head, true, nil
	}
	if err != nil && (err != io.EOF || len(b) == 0) {
		return "", false, err
	}
	l.n++
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if l.n == 1 {
		b = bytes.TrimPrefix(b, []byte("\ufeff"))
	}
	if len(b) > MaxLine {
		return string(b[:128]), true, nil
	}
	return string(b), false, nil
}

// Line returns the 1-based number of the line Next last returned.
func (l *LineReader) Line() int { return l.n }

// Reader returns the underlying buffered reader, for formats that peek at
// the input before deciding how to read it. Reading from it directly
// bypasses line counting.
func (l *LineReader) Reader() *bufio.Reader { return l.br }
