package forwardauth

import (
	"errors"
	"strings"
)

// A forNode is the for= parameter of one Forwarded element: the node, and
// whether the element had a for= parameter at all.
type forNode struct {
	node    string
	present bool
}

// maxElements bounds the elements read from Forwarded, against a header
// made of nothing but commas.
const maxElements = 256

var errForwarded = errors.New("malformed Forwarded header")

// parseForwarded appends to dst the for= node of each element of one
// Forwarded header line (RFC 7239 section 4):
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// Empty list elements are skipped, as RFC 9110 section 5.6.1 asks. A
// parameter given twice in one element, a pair without "=", or an
// unterminated quoted string makes the whole line malformed.
func parseForwarded(line string, dst []forNode) ([]forNode, error) {
	i, n := 0, len(line)
	for i <= n {
		var el forNode
		pairs := 0
		var seen uint8 // the RFC 7239 parameters met, by bit
		for {
			i = skipOWS(line, i)
			if i >= n || line[i] == ',' {
				break
			}
			if line[i] == ';' {
				i++
				continue
			}
			k := i
			for i < n && isTchar(line[i]) {
				i++
			}
			key := strings.ToLower(line[k:i])
			if key == "" || i >= n || line[i] != '=' {
				return dst, errForwarded
			}
			i++
			var val string
			var err error
			if val, i, err = parseValue(line, i); err != nil {
				return dst, err
			}
			if bit := paramBit(key); bit != 0 {
				if seen&bit != 0 {
					return dst, errForwarded
				}
				seen |= bit
			}
			if key == "for" {
				el = forNode{node: val, present: true}
			}
			pairs++
			i = skipOWS(line, i)
			if i < n && line[i] != ';' && line[i] != ',' {
				return dst, errForwarded
			}
		}
		if pairs > 0 {
			if len(dst) >= maxElements {
				return dst, errForwarded
			}
			dst = append(dst, el)
		}
		i++ // past the comma, or past the end
	}
	return dst, nil
}

// parseValue reads a token or a quoted string at line[i:].
func parseValue(line string, i int) (string, int, error) {
	n := len(line)
	if i < n && line[i] == '"' {
		i++
		var b []byte
		start, escaped := i, false
		for i < n {
			c := line[i]
			switch {
			case c == '\\':
				// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
				if i+1 >= n || (line[i+1] < ' ' && line[i+1] != '\t') || line[i+1] == 0x7f {
					return "", i, errForwarded
				}
				b = append(append(b, line[start:i]...), line[i+1])
				escaped = true
				i += 2
				start = i
				continue
			case c == '"':
				if !escaped {
					return line[start:i], i + 1, nil
				}
				return string(append(b, line[start:i]...)), i + 1, nil
			case c < ' ' && c != '\t' || c == 0x7f:
				return "", i, errForwarded
			}
			i++
		}
		return "", i, errForwarded
	}
	k := i
	for i < n && isTchar(line[i]) {
		i++
	}
	if i == k {
		return "", i, errForwarded
	}
	return line[k:i], i, nil
}

// paramBit returns the bit of an RFC 7239 parameter, 0 for extensions,
// whose repetition is not checked.
func paramBit(key string) uint8 {
	switch key {
	case "for":
		return 1
	case "by":
		return 2
	case "host":
		return 4
	case "proto":
		return 8
	}
	return 0
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// encodeForwarded writes nodes as one Forwarded line, each as the for=
// parameter of its own element, quoted, and "" for an element without
// one (written as a lone "by=_x" so that the element is not empty).
func encodeForwarded(nodes []forNode) string {
	var b strings.Builder
	for i, n := range nodes {
		if i > 0 {
			b.WriteString(", ")
		}
		if !n.present {
			b.WriteString("by=_x")
			continue
		}
		b.WriteString(`for="`)
		for j := 0; j < len(n.node); j++ {
			if c := n.node[j]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(n.node[j])
		}
		b.WriteByte('"')
	}
	return b.String()
}
