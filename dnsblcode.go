package proxywatch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DNSBL answers, shared by the DNSBL server and the rbldnsd export so that
// both answer a query alike. docs/dnsbl.md holds the table in prose.

// DNSBLTestCode is the last octet of the A record answered for the RFC 5782
// test point 127.0.0.2 (and ::FFFF:7F00:2). DroneBL uses 2 for sample data.
const DNSBLTestCode = 2

// DNSBLTestTXT is the TXT record answered for the RFC 5782 test point.
const DNSBLTestTXT = "listed: RFC 5782 test point"

// DNSBLDefaultTXT is the TXT template of a DNSBL zone that does not set
// one (see DNSBLTemplate).
const DNSBLDefaultTXT = "{addr} listed: {kind} ({feed})"

// DNSBLMaxTXT is the longest TXT text a DNSBL answers: rbldnsd cuts its
// TXT records there, so the export and the server agree.
const DNSBLMaxTXT = 254

// dnsblCodes maps each kind to the last octet of its 127.0.0.x answer.
// DroneBL's codes where one fits; 20-24 are ours, for kinds DroneBL lacks.
var dnsblCodes = [numKinds]uint8{
	KindUnknown:          255, // DroneBL: uncategorized threats
	KindC2:               20,
	KindBackconnectC2:    21,
	KindCollector:        22,
	KindOpenProxy:        8,  // DroneBL: open SOCKS proxy
	KindResidentialProxy: 15, // DroneBL: compromised router / gateway
	KindAnonymizer:       19, // DroneBL: abused VPN service
	KindBruteForce:       13, // DroneBL: brute force attackers
	KindScanner:          23,
	KindMalwareHost:      24,
	KindOther:            255, // DroneBL: uncategorized threats
}

// DNSBLCode returns the last octet of the 127.0.0.x A record a DNSBL
// answers for an address listed as kind k. A kind this version does not
// know answers as KindOther.
func DNSBLCode(k Kind) uint8 {
	if k < numKinds {
		return dnsblCodes[k]
	}
	return dnsblCodes[KindOther]
}

// dnsblRank orders kinds for the DNSBL answer: the order of Kinds (c2
// first), unknown kinds as KindOther, KindUnknown last.
func dnsblRank(k Kind) int {
	switch {
	case k == KindUnknown:
		return int(numKinds)
	case k >= numKinds:
		return int(KindOther)
	}
	return int(k)
}

// CompareDNSBL orders two indicators of the same prefix for the DNSBL
// answer: it returns a negative number when a (kind ak, confidence ac,
// feed af) is answered in preference to b, positive when b is, and zero
// when either gives the same answer. The order is: kind priority (the order
// of Kinds, KindUnknown last), then higher confidence, then feed name.
// Between prefixes, the most specific prefix answers first; this order
// breaks ties between indicators of one prefix.
func CompareDNSBL(ak Kind, ac uint8, af string, bk Kind, bc uint8, bf string) int {
	if ra, rb := dnsblRank(ak), dnsblRank(bk); ra != rb {
		return ra - rb
	}
	if ac != bc {
		return int(bc) - int(ac)
	}
	return strings.Compare(af, bf)
}

// A DNSBLEntry holds what a DNSBL TXT template may name about the
// indicator that answers a query.
type DNSBLEntry struct {
	Kind       Kind
	Feed       string
	Prefix     netip.Prefix
	Confidence uint8
}

type dnsblField uint8

const (
	fieldNone dnsblField = iota
	fieldAddr
	fieldKind
	fieldFeed
	fieldCode
	fieldPrefix
	fieldConfidence
)

var dnsblFields = map[string]dnsblField{
	"{addr}": fieldAddr, "{kind}": fieldKind, "{feed}": fieldFeed,
	"{code}": fieldCode, "{prefix}": fieldPrefix, "{confidence}": fieldConfidence,
}

type dnsblPart struct {
	lit   string
	field dnsblField
}

// A DNSBLTemplate is a parsed DNSBL TXT template: text with the
// placeholders {addr} (the queried address), {kind}, {feed}, {code} (the A
// record, 127.0.0.x), {prefix} and {confidence} of the answering
// indicator. The zero DNSBLTemplate, like the empty template, gives no TXT.
//
// Templates are restricted so that rbldnsd serves the exported text
// unchanged: printable ASCII without '$', '"' or '\', no space at either
// end, and {addr} not followed by a digit or '=' (rbldnsd reads "$1" and
// "$=" as its own variables).
type DNSBLTemplate struct {
	src   string
	parts []dnsblPart
}

// ParseDNSBLTemplate parses s. It reports ErrInvalid, with the reason,
// for a template that breaks the rules of DNSBLTemplate.
func ParseDNSBLTemplate(s string) (DNSBLTemplate, error) {
	bad := func(why string) (DNSBLTemplate, error) {
		return DNSBLTemplate{}, fmt.Errorf("txt template %q: %s: %w", s, why, ErrInvalid)
	}
	if len(s) > DNSBLMaxTXT {
		return bad("longer than " + strconv.Itoa(DNSBLMaxTXT) + " bytes")
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return bad("space at either end")
	}
	t := DNSBLTemplate{src: s}
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			i = len(rest)
		}
		if i > 0 {
			t.parts = append(t.parts, dnsblPart{lit: rest[:i]})
			rest = rest[i:]
			continue
		}
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return bad("unclosed '{'")
		}
		f, ok := dnsblFields[rest[:j+1]]
		if !ok {
			return bad("unknown placeholder " + rest[:j+1])
		}
		t.parts = append(t.parts, dnsblPart{field: f})
		rest = rest[j+1:]
	}
	for i, p := range t.parts {
		for k := 0; k < len(p.lit); k++ {
			if c := p.lit[k]; c < 0x20 || c > 0x7e || c == '$' || c == '"' || c == '\\' {
				return bad(fmt.Sprintf("character %q not allowed", c))
			}
		}
		if p.field == fieldAddr && i+1 < len(t.parts) {
			next := t.parts[i+1]
			if next.field != fieldNone || next.lit[0] == '=' || (next.lit[0] >= '0' && next.lit[0] <= '9') {
				return bad("{addr} followed by a placeholder, a digit or '='")
			}
		}
	}
	return t, nil
}

// MustParseDNSBLTemplate is like ParseDNSBLTemplate but panics on an
// invalid template. It is for templates written in the program.
func MustParseDNSBLTemplate(s string) DNSBLTemplate {
	t, err := ParseDNSBLTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template as written.
func (t DNSBLTemplate) String() string { return t.src }

// IsZero reports whether the template gives no TXT.
func (t DNSBLTemplate) IsZero() bool { return len(t.parts) == 0 }

// MarshalText implements encoding.TextMarshaler.
func (t DNSBLTemplate) MarshalText() ([]byte, error) { return []byte(t.src), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *DNSBLTemplate) UnmarshalText(b []byte) error {
	v, err := ParseDNSBLTemplate(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// AppendTXT appends to dst the template's text for entry e answered for
// the address written as addr ("192.0.2.7", or rbldnsd's "$"), and returns
// the extended slice. Feed names are written with every byte outside
// [A-Za-z0-9._:/@+-] replaced by '_'. It does not cut the text; it does
// not allocate when dst has room.
func (t DNSBLTemplate) AppendTXT(dst, addr []byte, e *DNSBLEntry) []byte {
	for _, p := range t.parts {
		switch p.field {
		case fieldNone:
			dst = append(dst, p.lit...)
		case fieldAddr:
			dst = append(dst, addr...)
		case fieldKind:
			dst = append(dst, e.Kind.String()...)
		case fieldFeed:
			dst = appendFeed(dst, e.Feed)
		case fieldCode:
			dst = append(dst, "127.0.0."...)
			dst = strconv.AppendUint(dst, uint64(DNSBLCode(e.Kind)), 10)
		case fieldPrefix:
			dst = e.Prefix.AppendTo(dst)
		case fieldConfidence:
			dst = strconv.AppendUint(dst, uint64(e.Confidence), 10)
		}
	}
	return dst
}

func appendFeed(dst []byte, feed string) []byte {
	if feed == "" {
		return append(dst, '_')
	}
	for i := 0; i < len(feed); i++ {
		c := feed[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '/', c == '@', c == '+', c == '-':
		default:
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}
