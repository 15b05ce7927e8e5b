package logparse

import (
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONPaths bounds how many fields one scanner looks for.
const maxJSONPaths = 16

// maxJSONDepth bounds how deep the scanner descends into nested objects
// on a wanted path; deeper documents are refused.
const maxJSONDepth = 64

// JSON value kinds.
const (
	jsonAbsent byte = iota
	jsonString
	jsonNumber
	jsonTrue
	jsonFalse
	jsonNull
	jsonArray
	jsonObject
)

// A jsonValue is one value found by a jsonScanner. For a string, raw is
// the text between the quotes, still escaped when esc is set; for other
// kinds it is the value's text.
type jsonValue struct {
	kind byte
	esc  bool
	raw  []byte
}

// A jsonScanner finds the values of a few dotted paths ("a.b.c") in a
// JSON object in one pass, without building the document or allocating.
// A key that itself contains dots, as Zeek's "id.orig_h", matches the
// rest of the path literally. Keys written with escapes do not match.
type jsonScanner struct {
	paths []string
	data  []byte
	pos   int
	vals  []jsonValue
	// offs[d][i] is how much of paths[i] the keys enclosing the object at
	// depth d have consumed, or -1 when that object is off the path. It
	// lives here, not on the stack, so recursion allocates nothing.
	offs [maxJSONDepth + 2][maxJSONPaths]int16
}

// scan reads the object in data and sets vals[i] (len(vals) ==
// len(s.paths)) to the value at paths[i], or leaves it absent. It reports
// false for anything but one well-formed JSON object.
func (s *jsonScanner) scan(data []byte, vals []jsonValue) bool {
	s.data, s.pos, s.vals = data, 0, vals
	clear(vals)
	for i := range s.offs[0] {
		s.offs[0][i] = 0
		if i >= len(s.paths) {
			s.offs[0][i] = -1
		}
	}
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return false
	}
	if !s.object(0) {
		return false
	}
	s.ws()
	return s.pos == len(s.data)
}

func (s *jsonScanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// object reads the object at s.pos, at depth (s.offs[depth] holds its
// path offsets).
func (s *jsonScanner) object(depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	offs, next := &s.offs[depth], &s.offs[depth+1]
	s.pos++ // '{'
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return true
	}
	for {
		s.ws()
		key, _, ok := s.str()
		if !ok {
			return false
		}
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return false
		}
		s.pos++
		s.ws()
		descend, leaf := false, false
		for i := range s.paths {
			next[i] = -1
			o := int(offs[i])
			if o < 0 {
				continue
			}
			rest := s.paths[i][o:]
			switch {
			case rest == string(key):
				leaf = true
			case len(rest) > len(key) && rest[len(key)] == '.' && rest[:len(key)] == string(key):
				next[i], descend = int16(o+len(key)+1), true
			}
		}
		if s.pos >= len(s.data) {
			return false
		}
		switch {
		case descend && s.data[s.pos] == '{':
			if !s.object(depth + 1) {
				return false
			}
		case leaf:
			v, ok := s.value()
			if !ok {
				return false
			}
			for i := range s.paths {
				if o := int(offs[i]); o >= 0 && s.paths[i][o:] == string(key) {
					s.vals[i] = v
				}
			}
		default:
			if _, ok := s.value(); !ok {
				return false
			}
		}
		s.ws()
		if s.pos >= len(s.data) {
			return false
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// str reads a string at s.pos and returns its raw content.
func (s *jsonScanner) str() (raw []byte, esc, ok bool) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, false, false
	}
	start := s.pos + 1
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '\\':
			esc = true
			i++
		case c == '"':
			s.pos = i + 1
			return s.data[start:i], esc, true
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// value reads any value at s.pos. Arrays and objects are skipped with a
// depth counter, so nesting costs no stack.
func (s *jsonScanner) value() (jsonValue, bool) {
	if s.pos >= len(s.data) {
		return jsonValue{}, false
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		raw, esc, ok := s.str()
		return jsonValue{kind: jsonString, esc: esc, raw: raw}, ok
	case c == '{' || c == '[':
		start := s.pos
		depth := 0
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case '"':
				if _, _, ok := s.str(); !ok {
					return jsonValue{}, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.pos++
			if depth == 0 {
				kind := jsonArray
				if c == '{' {
					kind = jsonObject
				}
				return jsonValue{kind: kind, raw: s.data[start:s.pos]}, true
			}
		}
		return jsonValue{}, false
	case c == '-' || isDigit(c):
		start := s.pos
		for s.pos < len(s.data) {
			d := s.data[s.pos]
			if !isDigit(d) && d != '-' && d != '+' && d != '.' && d != 'e' && d != 'E' {
				break
			}
			s.pos++
		}
		return jsonValue{kind: jsonNumber, raw: s.data[start:s.pos]}, true
	}
	for _, lit := range [...]struct {
		text string
		kind byte
	}{{"true", jsonTrue}, {"false", jsonFalse}, {"null", jsonNull}} {
		if hasPrefix(s.data[s.pos:], lit.text) {
			v := jsonValue{kind: lit.kind, raw: s.data[s.pos : s.pos+len(lit.text)]}
			s.pos += len(lit.text)
			return v, true
		}
	}
	return jsonValue{}, false
}

// text returns v as text: a string unescaped into *buf when needed, a
// number or literal as written. It reports false for arrays, objects,
// null and absent values.
func (v jsonValue) text(buf *[]byte) ([]byte, bool) {
	switch v.kind {
	case jsonString:
		if !v.esc {
			return v.raw, true
		}
		b, ok := appendUnescaped((*buf)[:0], v.raw)
		*buf = b
		return b, ok
	case jsonNumber, jsonTrue, jsonFalse:
		return v.raw, true
	}
	return nil, false
}

// appendUnescaped appends the JSON string content raw, unescaped, to dst.
func appendUnescaped(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(raw) {
			return dst, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if r2, ok := hex4(raw[i+3:]); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		d, ok := hexDigit(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// appendByteArray appends the bytes of a JSON array of numbers 0-255
// (journald's form for a field that is not valid text) to dst.
func appendByteArray(dst, raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return dst, false
	}
	v, digits := 0, 0
	for _, c := range raw[1:] {
		switch {
		case isDigit(c):
			v = v*10 + int(c-'0')
			digits++
			if v > 255 {
				return dst, false
			}
		case c == ',' || c == ']':
			if digits == 0 {
				return dst, c == ']' && len(dst) == 0
			}
			dst = append(dst, byte(v))
			v, digits = 0, 0
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
		default:
			return dst, false
		}
	}
	return dst, true
}
