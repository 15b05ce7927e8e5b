package tail

import (
	"bytes"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A chunked reader returns its data in pieces of the given sizes, then
// io.EOF.
type chunked struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = max(1, c.sizes[c.i%len(c.sizes)])
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

type gotLine struct {
	Text string
	Cut  bool
	Pos  int64
}

// splitAll reads every line of data through a lineBuf.
func splitAll(data []byte, sizes []int, max int) []gotLine {
	lb := newLineBuf(max)
	src := &chunked{data: data, sizes: sizes}
	var out []gotLine
	for {
		if text, cut, ok := lb.line(); ok {
			out = append(out, gotLine{string(text), cut, lb.pos})
			continue
		}
		if _, err := lb.fill(src.Read); err == io.EOF {
			if text, cut, ok := lb.rest(); ok {
				out = append(out, gotLine{string(text), cut, lb.pos})
			}
			return out
		}
	}
}

// reference splits data the slow way.
func reference(data []byte, max int) []gotLine {
	var out []gotLine
	pos := int64(0)
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line, n := data, len(data)
		if i >= 0 {
			line, n = data[:i], i+1
		}
		pos += int64(n)
		data = data[n:]
		cut := len(line) > max
		if cut {
			line = line[:max]
		} else {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		out = append(out, gotLine{string(line), cut, pos})
	}
	return out
}

func TestLineBuf(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	tests := []struct {
		name  string
		data  string
		sizes []int
	}{
		{"lines", "a\nbb\nccc\n", nil},
		{"crlf", "a\r\nb\r\n", []int{1}},
		{"partial last line", "a\nbb", []int{3}},
		{"empty lines", "\n\n\n", []int{2}},
		{"long line in pieces", "a\n" + string(long) + "\nb\n", []int{7}},
		{"long line whole", "a\n" + string(long) + "\nb\n", nil},
		{"long last line", string(long), []int{50}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := splitAll([]byte(tc.data), tc.sizes, 256)
			if diff := cmp.Diff(reference([]byte(tc.data), 256), got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzLineBuf holds the line splitter to the reference, whatever the
// chunking.
func FuzzLineBuf(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), uint8(3))
	f.Add(bytes.Repeat([]byte("0123456789\n"), 100), uint8(7))
	f.Add(append(bytes.Repeat([]byte("y"), 700), '\n'), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		got := splitAll(data, []int{int(chunk), int(chunk) / 3, 1}, 256)
		if diff := cmp.Diff(reference(data, 256), got); diff != "" {
			t.Fatalf("lines of %q (-want +got):\n%s", data, diff)
		}
	})
}

func TestEntryCursor(t *testing.T) {
	tests := []struct{ entry, want string }{
		{`{"__CURSOR":"s=1;i=2","MESSAGE":"x"}`, "s=1;i=2"},
		{`{"MESSAGE":"x", "__CURSOR": "s=3"}`, "s=3"},
		{`{"MESSAGE":"x"}`, ""},
		{`{"__CURSOR":"s=\"bad"}`, ""},
		{`{"__CURSOR":"unterminated`, ""},
	}
	for _, tc := range tests {
		if got := string(entryCursor([]byte(tc.entry))); got != tc.want {
			t.Errorf("entryCursor(%s) = %q, want %q", tc.entry, got, tc.want)
		}
	}
}
