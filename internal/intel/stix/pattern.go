package stix

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file parses the STIX 2.x patterning language (STIX 2.1 part 9) into
// a small syntax tree: observation expressions joined by OR, AND and
// FOLLOWEDBY, each a bracketed comparison expression with optional
// qualifiers; comparisons joined by OR and AND, each an object path, an
// operator and a literal. Everything the grammar allows is parsed, so that
// what proxywatch does not evaluate is refused as unsupported by eval.go
// rather than as a syntax error.

// maxPatternLen bounds the pattern text, and maxDepth the nesting of
// parentheses and brackets, so that hostile input cannot exhaust the stack.
const (
	maxPatternLen = 64 << 10
	maxDepth      = 64
)

// An obsExpr is an observation expression.
type obsExpr interface{ obsString(*strings.Builder) }

// obsOp joins observation expressions with OR, AND or FOLLOWEDBY.
type obsOp struct {
	op    string // "OR", "AND", "FOLLOWEDBY"
	items []obsExpr
}

// obsQualified is "[...]" or "(...)" with its qualifiers.
type obsQualified struct {
	cmp   cmpExpr // set for "[...]"
	inner obsExpr // set for "(...)"
	quals []qualifier
}

// A qualifier is START/STOP, WITHIN or REPEATS.
type qualifier struct {
	kind  string // "START", "WITHIN", "REPEATS"
	start string // START t'...'
	stop  string // STOP t'...'
	n     string // WITHIN n SECONDS, REPEATS n TIMES
}

// A cmpExpr is a comparison expression.
type cmpExpr interface{ cmpString(*strings.Builder) }

// cmpOp joins comparison expressions with OR or AND.
type cmpOp struct {
	op    string // "OR", "AND"
	items []cmpExpr
}

// A test is one comparison: path op value, or EXISTS path.
type test struct {
	path   objectPath
	not    bool
	op     string    // "=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"
	values []literal // one, or several for IN
}

// objectPath is "type:component.component[index]...".
type objectPath struct {
	objType string
	parts   []string // components; an index is written "[0]" or "[*]"
}

// A literal is a typed constant.
type literal struct {
	kind byte   // 's' string, 'i' int, 'f' float, 'b' bool, 't' timestamp, 'h' hex, 'x' binary
	text string // decoded string value, or the number or bool as written
}

func (p objectPath) String() string {
	var b strings.Builder
	b.WriteString(p.objType)
	b.WriteByte(':')
	for i, c := range p.parts {
		switch {
		case strings.HasPrefix(c, "["):
			b.WriteString(c)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if isIdent(c) && !strings.Contains(c, "-") {
				b.WriteString(c)
			} else {
				b.WriteString(quote(c))
			}
		}
	}
	return b.String()
}

// key returns the path with indexes replaced by "[*]", e.g.
// "network-traffic:protocols[*]", for matching known paths.
func (p objectPath) key() string {
	var b strings.Builder
	b.WriteString(p.objType)
	b.WriteByte(':')
	for i, c := range p.parts {
		if strings.HasPrefix(c, "[") {
			b.WriteString("[*]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(c)
	}
	return b.String()
}

func (l literal) String() string {
	switch l.kind {
	case 's':
		return quote(l.text)
	case 't', 'h':
		return string(l.kind) + quote(l.text)
	case 'x':
		return "b" + quote(l.text)
	}
	return l.text
}

var quoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func quote(s string) string { return "'" + quoter.Replace(s) + "'" }

// obsString writes the items without parentheses: the parser only nests a
// lower-precedence operator inside a higher one through "(...)", which is
// an obsQualified and writes its own.
func (o *obsOp) obsString(b *strings.Builder) {
	for i, it := range o.items {
		if i > 0 {
			b.WriteString(" " + o.op + " ")
		}
		it.obsString(b)
	}
}

func (o *obsQualified) obsString(b *strings.Builder) {
	if o.cmp != nil {
		b.WriteByte('[')
		o.cmp.cmpString(b)
		b.WriteByte(']')
	} else {
		b.WriteByte('(')
		o.inner.obsString(b)
		b.WriteByte(')')
	}
	for _, q := range o.quals {
		switch q.kind {
		case "START":
			b.WriteString(" START t" + quote(q.start) + " STOP t" + quote(q.stop))
		case "WITHIN":
			b.WriteString(" WITHIN " + q.n + " SECONDS")
		case "REPEATS":
			b.WriteString(" REPEATS " + q.n + " TIMES")
		}
	}
}

// cmpString parenthesises nested groups, which the parser flattens away
// when it reads them, so that the written form reads back to the same tree.
func (c *cmpOp) cmpString(b *strings.Builder) {
	for i, it := range c.items {
		if i > 0 {
			b.WriteString(" " + c.op + " ")
		}
		if _, nested := it.(*cmpOp); nested {
			b.WriteByte('(')
			it.cmpString(b)
			b.WriteByte(')')
			continue
		}
		it.cmpString(b)
	}
}

func (t *test) cmpString(b *strings.Builder) {
	if t.op == "EXISTS" {
		b.WriteString("EXISTS " + t.path.String())
		return
	}
	b.WriteString(t.path.String())
	if t.not {
		b.WriteString(" NOT")
	}
	b.WriteString(" " + t.op + " ")
	if t.op == "IN" {
		b.WriteByte('(')
		for i, v := range t.values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
		b.WriteByte(')')
		return
	}
	b.WriteString(t.values[0].String())
}

// patternString formats e in a canonical, fully parenthesised form that
// parsePattern reads back to the same tree.
func patternString(e obsExpr) string {
	var b strings.Builder
	e.obsString(&b)
	return b.String()
}

// A SyntaxError reports where a pattern stopped parsing.
type SyntaxError struct {
	Offset int // byte offset in the pattern
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("pattern offset %d: %s", e.Offset, e.Msg) }

// parsePattern parses a STIX pattern.
func parsePattern(s string) (obsExpr, error) {
	if len(s) > maxPatternLen {
		return nil, &SyntaxError{Offset: maxPatternLen, Msg: "pattern too long"}
	}
	p := &parser{lx: lexer{src: s}}
	p.next()
	e, err := p.observations(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s after pattern", p.tok)
	}
	return e, nil
}

type parser struct {
	lx  lexer
	tok token
	err error
}

func (p *parser) next() {
	if p.err != nil {
		p.tok = token{kind: tEOF, pos: p.tok.pos}
		return
	}
	p.tok, p.err = p.lx.next()
}

func (p *parser) errorf(format string, args ...any) error {
	if p.err != nil {
		return p.err
	}
	return &SyntaxError{Offset: p.tok.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) keyword(k string) bool { return p.tok.kind == tIdent && p.tok.text == k }

func (p *parser) punct(c string) bool { return p.tok.kind == tPunct && p.tok.text == c }

func (p *parser) expect(c string) error {
	if !p.punct(c) {
		return p.errorf("want %q, got %s", c, p.tok)
	}
	p.next()
	return nil
}

// observations parses observation expressions. As in the standard's
// grammar, FOLLOWEDBY binds loosest, then OR, then AND.
func (p *parser) observations(depth int) (obsExpr, error) {
	return p.obsLevel(depth, 0)
}

var obsOps = []string{"FOLLOWEDBY", "OR", "AND"}

func (p *parser) obsLevel(depth, level int) (obsExpr, error) {
	if level == len(obsOps) {
		return p.observation(depth)
	}
	first, err := p.obsLevel(depth, level+1)
	if err != nil {
		return nil, err
	}
	items := []obsExpr{first}
	for p.keyword(obsOps[level]) {
		p.next()
		e, err := p.obsLevel(depth, level+1)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if len(items) == 1 {
		return first, nil
	}
	return &obsOp{op: obsOps[level], items: items}, nil
}

func (p *parser) observation(depth int) (obsExpr, error) {
	if depth >= maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	o := &obsQualified{}
	switch {
	case p.punct("["):
		p.next()
		c, err := p.comparisons(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect("]"); err != nil {
			return nil, err
		}
		o.cmp = c
	case p.punct("("):
		p.next()
		e, err := p.observations(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		o.inner = e
	default:
		return nil, p.errorf("want \"[\" or \"(\", got %s", p.tok)
	}
	for {
		q, ok, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		if !ok {
			return o, nil
		}
		o.quals = append(o.quals, q)
	}
}

func (p *parser) qualifier() (qualifier, bool, error) {
	switch {
	case p.keyword("START"):
		p.next()
		start, err := p.timestamp()
		if err != nil {
			return qualifier{}, false, err
		}
		if !p.keyword("STOP") {
			return qualifier{}, false, p.errorf("want STOP, got %s", p.tok)
		}
		p.next()
		stop, err := p.timestamp()
		if err != nil {
			return qualifier{}, false, err
		}
		return qualifier{kind: "START", start: start, stop: stop}, true, nil
	case p.keyword("WITHIN"):
		p.next()
		if p.tok.kind != tNumber {
			return qualifier{}, false, p.errorf("want a number after WITHIN, got %s", p.tok)
		}
		n := p.tok.text
		p.next()
		if !p.keyword("SECONDS") {
			return qualifier{}, false, p.errorf("want SECONDS, got %s", p.tok)
		}
		p.next()
		return qualifier{kind: "WITHIN", n: n}, true, nil
	case p.keyword("REPEATS"):
		p.next()
		if p.tok.kind != tNumber {
			return qualifier{}, false, p.errorf("want a number after REPEATS, got %s", p.tok)
		}
		n := p.tok.text
		p.next()
		if !p.keyword("TIMES") {
			return qualifier{}, false, p.errorf("want TIMES, got %s", p.tok)
		}
		p.next()
		return qualifier{kind: "REPEATS", n: n}, true, nil
	}
	return qualifier{}, false, nil
}

func (p *parser) timestamp() (string, error) {
	if p.tok.kind != tLiteral || p.tok.lit.kind != 't' {
		return "", p.errorf("want a t'...' timestamp, got %s", p.tok)
	}
	s := p.tok.lit.text
	p.next()
	return s, nil
}

// comparisons parses AND-groups joined by OR.
func (p *parser) comparisons(depth int) (cmpExpr, error) {
	first, err := p.cmpAnd(depth)
	if err != nil {
		return nil, err
	}
	items := []cmpExpr{first}
	for p.keyword("OR") {
		p.next()
		e, err := p.cmpAnd(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if len(items) == 1 {
		return first, nil
	}
	return &cmpOp{op: "OR", items: items}, nil
}

func (p *parser) cmpAnd(depth int) (cmpExpr, error) {
	first, err := p.propTest(depth)
	if err != nil {
		return nil, err
	}
	items := []cmpExpr{first}
	for p.keyword("AND") {
		p.next()
		e, err := p.propTest(depth)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if len(items) == 1 {
		return first, nil
	}
	return &cmpOp{op: "AND", items: items}, nil
}

func (p *parser) propTest(depth int) (cmpExpr, error) {
	if depth >= maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	if p.punct("(") {
		p.next()
		e, err := p.comparisons(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if p.keyword("EXISTS") {
		p.next()
		path, err := p.objectPath()
		if err != nil {
			return nil, err
		}
		return &test{path: path, op: "EXISTS"}, nil
	}
	path, err := p.objectPath()
	if err != nil {
		return nil, err
	}
	t := &test{path: path}
	if p.keyword("NOT") {
		t.not = true
		p.next()
	}
	switch {
	case p.tok.kind == tPunct && isCompareOp(p.tok.text):
		t.op = p.tok.text
		p.next()
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		t.values = []literal{v}
	case p.keyword("IN"):
		t.op = "IN"
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			t.values = append(t.values, v)
			if p.punct(",") {
				p.next()
				continue
			}
			break
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	case p.keyword("LIKE"), p.keyword("MATCHES"), p.keyword("ISSUBSET"), p.keyword("ISSUPERSET"):
		t.op = p.tok.text
		p.next()
		if p.tok.kind != tLiteral || p.tok.lit.kind != 's' {
			return nil, p.errorf("want a string after %s, got %s", t.op, p.tok)
		}
		t.values = []literal{p.tok.lit}
		p.next()
	default:
		return nil, p.errorf("want a comparison operator, got %s", p.tok)
	}
	return t, nil
}

func isCompareOp(s string) bool {
	switch s {
	case "=", "!=", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func (p *parser) literal() (literal, error) {
	switch p.tok.kind {
	case tLiteral:
		l := p.tok.lit
		p.next()
		return l, nil
	case tNumber:
		l := literal{kind: 'i', text: p.tok.text}
		if strings.ContainsAny(l.text, ".eE") {
			l.kind = 'f'
		}
		p.next()
		return l, nil
	case tIdent:
		if p.tok.text == "true" || p.tok.text == "false" {
			l := literal{kind: 'b', text: p.tok.text}
			p.next()
			return l, nil
		}
	}
	return literal{}, p.errorf("want a literal, got %s", p.tok)
}

// objectPath parses "type:first(.component | [index])*".
func (p *parser) objectPath() (objectPath, error) {
	if p.tok.kind != tIdent || isKeyword(p.tok.text) {
		return objectPath{}, p.errorf("want an object type, got %s", p.tok)
	}
	path := objectPath{objType: p.tok.text}
	p.next()
	if err := p.expect(":"); err != nil {
		return objectPath{}, err
	}
	c, err := p.component()
	if err != nil {
		return objectPath{}, err
	}
	path.parts = append(path.parts, c)
	for {
		switch {
		case p.punct("."):
			p.next()
			c, err := p.component()
			if err != nil {
				return objectPath{}, err
			}
			path.parts = append(path.parts, c)
		case p.punct("["):
			p.next()
			var idx string
			switch {
			case p.punct("*"):
				idx = "*"
			case p.tok.kind == tNumber && isDigits(p.tok.text):
				idx = p.tok.text
			default:
				return objectPath{}, p.errorf("want an index or \"*\", got %s", p.tok)
			}
			p.next()
			if err := p.expect("]"); err != nil {
				return objectPath{}, err
			}
			path.parts = append(path.parts, "["+idx+"]")
		default:
			return path, nil
		}
	}
}

func (p *parser) component() (string, error) {
	switch {
	case p.tok.kind == tIdent:
		s := p.tok.text
		p.next()
		return s, nil
	case p.tok.kind == tLiteral && p.tok.lit.kind == 's':
		s := p.tok.lit.text
		p.next()
		if s == "" || strings.HasPrefix(s, "[") {
			return "", p.errorf("bad path component %q", s)
		}
		return s, nil
	}
	return "", p.errorf("want a path component, got %s", p.tok)
}

func isKeyword(s string) bool {
	switch s {
	case "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET",
		"IN", "EXISTS", "START", "STOP", "WITHIN", "REPEATS", "SECONDS", "TIMES":
		return true
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	if s == "" || isKeyword(s) || s == "true" || s == "false" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !identByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func identByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-':
		return !first
	}
	return false
}

// The lexer.

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tLiteral
	tPunct
)

type token struct {
	kind tokKind
	text string
	lit  literal
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tLiteral:
		return t.lit.String()
	}
	return strconv.Quote(t.text)
}

type lexer struct {
	src string
	pos int
}

var errUnterminated = errors.New("unterminated string")

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case c == '\'':
		s, err := l.str()
		if err != nil {
			return token{}, &SyntaxError{Offset: start, Msg: err.Error()}
		}
		return token{kind: tLiteral, lit: literal{kind: 's', text: s}, pos: start}, nil
	case (c == 't' || c == 'h' || c == 'b') && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\'':
		l.pos++
		s, err := l.str()
		if err != nil {
			return token{}, &SyntaxError{Offset: start, Msg: err.Error()}
		}
		kind := c
		if c == 'b' {
			kind = 'x'
		}
		return token{kind: tLiteral, lit: literal{kind: kind, text: s}, pos: start}, nil
	case identByte(c, true):
		for l.pos < len(l.src) && identByte(l.src[l.pos], false) {
			l.pos++
		}
		return token{kind: tIdent, text: l.src[start:l.pos], pos: start}, nil
	case c >= '0' && c <= '9' || (c == '-' || c == '+') && l.pos+1 < len(l.src) && l.src[l.pos+1] >= '0' && l.src[l.pos+1] <= '9':
		l.pos++
		for l.pos < len(l.src) {
			d := l.src[l.pos]
			if d >= '0' && d <= '9' || d == '.' || d == 'e' || d == 'E' ||
				(d == '-' || d == '+') && (l.src[l.pos-1] == 'e' || l.src[l.pos-1] == 'E') {
				l.pos++
				continue
			}
			break
		}
		text := l.src[start:l.pos]
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return token{}, &SyntaxError{Offset: start, Msg: fmt.Sprintf("bad number %q", text)}
		}
		return token{kind: tNumber, text: text, pos: start}, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">", "[", "]", "(", ")", ",", ":", ".", "*"} {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += len(op)
			return token{kind: tPunct, text: op, pos: start}, nil
		}
	}
	return token{}, &SyntaxError{Offset: start, Msg: fmt.Sprintf("unexpected character %q", c)}
}

// str reads a quoted string at l.pos, decoding \' and \\.
func (l *lexer) str() (string, error) {
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '\'':
			l.pos++
			return b.String(), nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				return "", errUnterminated
			}
			e := l.src[l.pos+1]
			if e != '\'' && e != '\\' {
				return "", fmt.Errorf("bad escape \\%c", e)
			}
			b.WriteByte(e)
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", errUnterminated
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
