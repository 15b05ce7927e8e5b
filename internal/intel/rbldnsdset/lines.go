package rbldnsdset

import (
	"bufio"
	"bytes"
	"io"
)

// maxLine is the longest line accepted, in bytes, without its terminator.
// A longer line is consumed, counted and refused with intel.ReasonTooLong.
const maxLine = 64 << 10

// lineReader reads lines through a bufio.Reader sized to hold one line of
// maxLine bytes, so memory stays bounded whatever the input. It counts
// lines, strips "\n", "\r\n" and a leading UTF-8 byte order mark.
type lineReader struct {
	br *bufio.Reader
	n  int // number of the line last returned, 1-based
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxLine+2)}
}

// next returns the next line. For a line longer than maxLine it returns
// the line's first bytes and long set, having skipped the rest. err is
// io.EOF after the last line, or the underlying read error.
func (l *lineReader) next() (line string, long bool, err error) {
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
	if len(b) > maxLine {
		return string(b[:128]), true, nil
	}
	return string(b), false, nil
}
