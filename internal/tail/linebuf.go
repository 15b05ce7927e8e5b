package tail

import "bytes"

var cr = []byte("\r")

// readChunk is how much a lineBuf reads at once.
const readChunk = 64 << 10

// A lineBuf splits a byte stream into lines of at most max bytes, keeping
// a partial last line until its end arrives. pos is the stream offset of
// the first unconsumed byte, so after a line is taken it is the offset
// just past that line.
type lineBuf struct {
	buf        []byte
	start, end int // unconsumed bytes are buf[start:end]
	scan       int // buf[start:scan] holds no newline
	max        int
	pos        int64
	cutting    bool   // skipping the rest of an over-long line
	head       []byte // the kept head of that line
}

func newLineBuf(max int) *lineBuf {
	return &lineBuf{buf: make([]byte, max+readChunk), max: max}
}

// reset empties the buffer for a stream positioned at pos.
func (l *lineBuf) reset(pos int64) {
	l.start, l.end, l.scan, l.pos, l.cutting = 0, 0, 0, pos, false
}

// fill reads once into the free space, compacting first. It returns what
// read returned.
func (l *lineBuf) fill(read func([]byte) (int, error)) (int, error) {
	if l.start > 0 && (l.end == len(l.buf) || l.start == l.end) {
		n := copy(l.buf, l.buf[l.start:l.end])
		l.scan -= l.start
		l.start, l.end = 0, n
	}
	n, err := read(l.buf[l.end:])
	if n > 0 {
		l.end += n
	}
	return n, err
}

// line returns the next complete line, without "\n" or "\r\n". An
// over-long line is returned once its end has arrived, cut to max bytes.
func (l *lineBuf) line() (text []byte, cut bool, ok bool) {
	i := bytes.IndexByte(l.buf[l.scan:l.end], '\n')
	if i < 0 {
		l.scan = l.end
		if !l.cutting && l.end-l.start > l.max {
			// Keep the head, drop the rest as it comes.
			l.head = append(l.head[:0], l.buf[l.start:l.start+l.max]...)
			l.cutting = true
		}
		if l.cutting {
			l.pos += int64(l.end - l.start)
			l.start, l.end, l.scan = 0, 0, 0
		}
		return nil, false, false
	}
	nl := l.scan + i
	l.pos += int64(nl + 1 - l.start)
	if l.cutting {
		l.cutting = false
		l.start, l.scan = nl+1, nl+1
		return l.head, true, true
	}
	text = l.buf[l.start:nl]
	l.start, l.scan = nl+1, nl+1
	if len(text) > l.max { // a line that arrived whole but too long
		return text[:l.max], true, true
	}
	return bytes.TrimSuffix(text, cr), false, true
}

// rest returns the partial line left at the end of a finished stream.
func (l *lineBuf) rest() (text []byte, cut bool, ok bool) {
	if l.cutting {
		l.cutting = false
		l.pos += int64(l.end - l.start)
		l.start, l.end, l.scan = 0, 0, 0
		return l.head, true, true
	}
	if l.end == l.start {
		return nil, false, false
	}
	text = l.buf[l.start:l.end]
	l.pos += int64(l.end - l.start)
	l.start, l.scan = l.end, l.end
	if len(text) > l.max {
		return text[:l.max], true, true
	}
	return bytes.TrimSuffix(text, cr), false, true
}
