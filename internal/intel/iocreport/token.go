package iocreport

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// A token's class.
const (
	cText     = iota // not an indicator: a word, a path, a number
	cAddr            // an address, prefix or range, with an optional port
	cDomain          // a defanged domain, with an optional port
	cWeak            // a bare domain-shaped name; the line decides (see weakName)
	cURL             // a URL, or host/path; subject is its host
	cHash            // a file hash: excluded
	cEmail           // an e-mail address: excluded as other-type
	cFileName        // a bare name ending in a file extension: excluded
	cBareName        // a bare name that is not taken as a domain: excluded
	cBadAddr         // looks like an address but does not parse: refused
	cBadPort         // an address or host with a port outside 1-65535: refused
)

// A tok is one whitespace-separated piece of a line, or part of one (a
// piece is split at commas and "=", outside URLs).
type tok struct {
	raw      string // as written
	text     string // refanged and trimmed of punctuation
	label    string // "sha256" of "sha256:...", "C2" of "C2:hxxp://..."
	class    int
	prefixes []netip.Prefix
	domain   string
	port     uint16
	proto    string
	defanged bool
	labelEnd bool // raw ends with ":", so it labels what follows
	bare     bool // a scheme-less host/path whose host is a domain-shaped name
}

// subjects returns the subjects of an indicator token.
func (t *tok) subjects() []proxywatch.Subject {
	if t.domain != "" {
		return []proxywatch.Subject{proxywatch.DomainSubject(t.domain)}
	}
	out := make([]proxywatch.Subject, len(t.prefixes))
	for i, p := range t.prefixes {
		out[i] = proxywatch.PrefixSubject(p)
	}
	return out
}

// isRecord reports whether the token is something other than text.
func (t *tok) isRecord() bool { return t.class != cText }

// strong reports whether the token makes its line a record line on its
// own: anything but text and bare names.
func (t *tok) strong() bool {
	switch t.class {
	case cText, cWeak, cFileName, cBareName:
		return false
	}
	return true
}

// escapes turns the literal line breaks of dumped HTTP requests
// ("Host: 192.0.2.1\r\n") into spaces. A lone "\r" or "\t" is left
// alone: Windows paths have them ("MVC\rar.in").
var escapes = strings.NewReplacer(`\r\n`, " ", `\n`, " ")

// tokenize splits a normalised line into tokens.
func tokenize(line string) []tok {
	fields := strings.Fields(escapes.Replace(line))
	out := make([]tok, 0, len(fields))
	for _, raw := range fields {
		out = appendTokens(out, raw)
	}
	return out
}

func appendTokens(out []tok, raw string) []tok {
	refanged := intel.Refang(raw)
	defanged := refanged != raw
	labelEnd := strings.HasSuffix(strings.TrimRight(raw, `'"’”`), ":")
	pieces := []string{refanged}
	if !strings.Contains(refanged, "/") {
		// "rcust.com,172.241.27.17", "banner_hashes=sha256:...": split,
		// but not URLs and paths, whose queries have both.
		pieces = strings.FieldsFunc(refanged, func(r rune) bool { return r == ',' || r == '=' })
	}
	for i, p := range pieces {
		t := classify1(p)
		t.raw, t.defanged = raw, defanged
		if len(pieces) > 1 {
			t.raw = p
		}
		t.labelEnd = labelEnd && i == len(pieces)-1
		switch {
		case t.class == cWeak && defanged:
			t.class = cDomain
		case t.class == cWeak:
			t.class = weakVerdict(t.domain)
		case t.bare && !defanged && weakVerdict(t.domain) != cWeak:
			t.class = cText // "x.bin/y": a path, not a URL
		}
		out = append(out, t)
	}
	return out
}

// trimPunct strips the quotes, brackets and punctuation that surround
// indicators in prose, lists and code.
func trimPunct(s string) string {
	const lead = `'"([{<*•‘’“”«»` + "`"
	const trail = `'")]}>,;!?.:*\‘’“”«»` + "`"
	for s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if !strings.ContainsRune(lead, r) {
			break
		}
		s = s[n:]
	}
	for s != "" {
		r, n := utf8.DecodeLastRuneInString(s)
		if !strings.ContainsRune(trail, r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// classify1 classifies one refanged piece.
func classify1(piece string) tok {
	// Bracketed IPv6 with a port loses its bracket to trimPunct; try it
	// first.
	if ap, err := netip.ParseAddrPort(strings.TrimRight(piece, ",;.")); err == nil && strings.HasPrefix(piece, "[") {
		return addrPortTok(piece, ap)
	}
	s := trimPunct(piece)
	t := tok{text: s}
	if s == "" {
		return t
	}
	if i := strings.Index(s, "://"); i > 0 {
		if j := strings.IndexByte(s, ':'); j < i && isLabel(s[:j]) {
			t2 := classify1(s[j+1:])
			t2.label = s[:j]
			return t2
		}
		return urlTok(s, s[:i], s[i+3:])
	}
	if isHash(s) {
		t.class = cHash
		return t
	}
	if ps, err := intel.ParseAny(s); err == nil {
		t.class, t.prefixes = cAddr, ps
		return t
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return addrPortTok(s, ap)
	}
	if looksLikeIPv4(s) {
		t.class = cBadAddr
		if host, port, ok := strings.Cut(s, ":"); ok && looksLikeIPv4(host) && isDigits(port) {
			if _, err := netip.ParseAddr(host); err == nil {
				t.class = cBadPort
			}
		}
		return t
	}
	if j := strings.IndexByte(s, ':'); j > 0 && isLabel(s[:j]) && !isDigits(s[j+1:]) {
		t2 := classify1(s[j+1:])
		t2.label = s[:j]
		return t2
	}
	if host, _, ok := strings.Cut(s, "/"); ok && host != "" {
		// A scheme-less host/path: "192.0.2.1:8081/x", "c2.example[.]net/a".
		h := classify1(host)
		single := len(h.prefixes) == 1 && h.prefixes[0].IsSingleIP()
		if h.class == cAddr && single || h.class == cWeak {
			h.text, h.bare, h.class = s, h.class == cWeak, cURL
			return h
		}
		return t
	}
	if strings.Contains(s, "@") {
		if _, domain, _ := strings.Cut(s, "@"); domainShaped(domain) {
			t.class = cEmail
		}
		return t
	}
	host, port := s, ""
	if i := strings.LastIndexByte(s, ':'); i > 0 && isDigits(s[i+1:]) {
		host, port = s[:i], s[i+1:]
	}
	if !domainShaped(host) {
		return t
	}
	t.domain = strings.ToLower(host)
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			t.class = cBadPort
			return t
		}
		t.port = uint16(n)
	}
	t.class = cWeak
	return t
}

func addrPortTok(s string, ap netip.AddrPort) tok {
	t := tok{text: s}
	if ap.Port() == 0 {
		t.class = cBadPort
		return t
	}
	p, err := intel.ParsePrefix(ap.Addr().String())
	if err != nil {
		t.class = cBadAddr
		return t
	}
	t.class, t.prefixes, t.port = cAddr, []netip.Prefix{p}, ap.Port()
	return t
}

// urlTok classifies scheme://rest.
func urlTok(s, scheme, rest string) tok {
	t := tok{text: s, proto: strings.ToLower(scheme)}
	hostport := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostport = rest[:i]
	}
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	if !isLabel(scheme) || hostport == "" {
		return t // "http://" alone, as in code
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i > 0 {
			host, port = hostport[1:i], strings.TrimPrefix(hostport[i+1:], ":")
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 && strings.Count(hostport, ":") == 1 {
		host, port = hostport[:i], hostport[i+1:]
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			t.class = cBadPort
			return t
		}
		t.port = uint16(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		p, err := intel.ParsePrefix(a.String())
		if err != nil {
			t.class = cBadAddr
			return t
		}
		t.class, t.prefixes = cURL, []netip.Prefix{p}
		return t
	}
	if !strings.Contains(host, ".") {
		return t // "http://%s/", "http://localhost/": not an Internet host
	}
	if looksLikeIPv4(host) || !domainShaped(host) {
		t.class = cBadAddr
		return t
	}
	t.class, t.domain = cURL, strings.ToLower(strings.TrimSuffix(host, "."))
	return t
}

// isLabel reports whether s can be a field label or URL scheme: a letter,
// then letters, digits, "-", "_" or "+", at most 40 bytes.
func isLabel(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c|0x20 >= 'a' && c|0x20 <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+'):
		default:
			return false
		}
	}
	return true
}

// isHash reports whether s is an MD5, SHA-1, SHA-256 or SHA-512 in hex.
func isHash(s string) bool {
	switch len(s) {
	case 32, 40, 64, 128:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
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

// looksLikeIPv4 reports whether s is four dot-separated groups of 1-3
// digits, with an optional ":digits".
func looksLikeIPv4(s string) bool {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if !isDigits(s[i+1:]) {
			return false
		}
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 3 || !isDigits(p) {
			return false
		}
	}
	return true
}

// domainShaped reports whether s is a syntactically valid host name whose
// last label is two or more letters.
func domainShaped(s string) bool {
	s = strings.TrimSuffix(s, ".")
	return strings.Contains(s, ".") && proxywatch.ValidDomain(s) && letters(tldOf(s))
}

// weakVerdict says what a bare (not defanged) domain-shaped name is by its
// last label: cFileName for a file extension or reserved name, cBareName
// for a label that is no common top-level domain, else cWeak (a domain
// if its line presents it as an indicator).
func weakVerdict(name string) int {
	tld := tldOf(name)
	switch {
	case fileExtensions[tld]:
		return cFileName
	case len(tld) == 2 || genericTLDs[tld]:
		return cWeak
	}
	return cBareName
}
