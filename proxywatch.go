// Package proxywatch holds the shared vocabulary of the proxywatch system:
// indicators of compromise and their kinds, verdicts, login and flow
// events, and the alert, finding and decision records that detectors emit.
//
// The package imports only the standard library and does no I/O. Everything
// that reads, stores, serves or enforces lives under internal/ and speaks in
// these types.
package proxywatch

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Kind says what an indicator's subject is known to be. The zero Kind,
// KindUnknown, means a reader did not say; the feed's default kind then
// applies.
type Kind uint8

// The kinds of indicator, in the order of their DNSBL and display priority
// (lower value, higher priority, except KindUnknown).
const (
	KindUnknown          Kind = iota
	KindC2                    // command-and-control server
	KindBackconnectC2         // backconnect server carrying relayed sessions
	KindCollector             // silent data collector (e.g. UDP)
	KindOpenProxy             // open SOCKS/HTTP proxy, often an infected device
	KindResidentialProxy      // residential proxy exit node
	KindAnonymizer            // VPN, Tor and other anonymising services
	KindBruteForce            // source of password guessing
	KindScanner               // port or vulnerability scanner
	KindMalwareHost           // malware distribution or infected host
	KindOther                 // listed for another or unstated reason
	numKinds
)

var kindNames = [numKinds]string{
	KindUnknown:          "unknown",
	KindC2:               "c2",
	KindBackconnectC2:    "backconnect-c2",
	KindCollector:        "collector",
	KindOpenProxy:        "open-proxy",
	KindResidentialProxy: "residential-proxy",
	KindAnonymizer:       "anonymizer",
	KindBruteForce:       "brute-force",
	KindScanner:          "scanner",
	KindMalwareHost:      "malware-host",
	KindOther:            "other",
}

// Kinds lists every known kind except KindUnknown, in priority order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindC2; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// String returns the kind's canonical name, such as "open-proxy".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind named s. It accepts the canonical names and
// underscores in place of hyphens; it reports ErrInvalid for anything else.
func ParseKind(s string) (Kind, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	for k, name := range kindNames {
		if n == name {
			return Kind(k), nil
		}
	}
	return KindUnknown, fmt.Errorf("kind %q: %w", s, ErrInvalid)
}

// MarshalText implements encoding.TextMarshaler.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// SubjectType says which field of a Subject is set.
type SubjectType uint8

// The subject types.
const (
	SubjectNone   SubjectType = iota // the zero Subject
	SubjectPrefix                    // an IPv4 or IPv6 prefix; an address is a /32 or /128
	SubjectDomain                    // a DNS name
	SubjectASN                       // an autonomous system number
)

// A Subject is what an indicator is about: exactly one of a prefix, a
// domain or an ASN. The zero Subject is invalid. Subjects are comparable and
// may be used as map keys.
type Subject struct {
	Prefix netip.Prefix // masked; set when the subject is a prefix
	Domain string       // lower case, without a trailing dot
	ASN    uint32
}

// PrefixSubject returns the subject for p, masked.
func PrefixSubject(p netip.Prefix) Subject { return Subject{Prefix: p.Masked()} }

// AddrSubject returns the single-address subject for a (/32 or /128).
func AddrSubject(a netip.Addr) Subject {
	a = a.Unmap()
	return Subject{Prefix: netip.PrefixFrom(a, a.BitLen())}
}

// DomainSubject returns the subject for the DNS name d, normalised.
func DomainSubject(d string) Subject {
	return Subject{Domain: strings.TrimSuffix(strings.ToLower(d), ".")}
}

// ASNSubject returns the subject for autonomous system n.
func ASNSubject(n uint32) Subject { return Subject{ASN: n} }

// Type reports which kind of subject s is.
func (s Subject) Type() SubjectType {
	switch {
	case s.Prefix.IsValid():
		return SubjectPrefix
	case s.Domain != "":
		return SubjectDomain
	case s.ASN != 0:
		return SubjectASN
	}
	return SubjectNone
}

// String formats s as "203.0.113.7/32", "2001:db8::/32", "example.org" or
// "AS64496". ParseSubject reverses it.
func (s Subject) String() string {
	switch s.Type() {
	case SubjectPrefix:
		return s.Prefix.String()
	case SubjectDomain:
		return s.Domain
	case SubjectASN:
		return "AS" + strconv.FormatUint(uint64(s.ASN), 10)
	}
	return ""
}

// ParseSubject parses the forms String produces. A bare address becomes a
// single-address prefix. It reports ErrInvalid for anything else.
func ParseSubject(str string) (Subject, error) {
	s := strings.TrimSpace(str)
	if s == "" {
		return Subject{}, fmt.Errorf("subject: empty: %w", ErrInvalid)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Subject{}, fmt.Errorf("subject %q: %w", str, ErrInvalid)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			if p.Bits() < 0 {
				return Subject{}, fmt.Errorf("subject %q: %w", str, ErrInvalid)
			}
		}
		return PrefixSubject(p), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Subject{}, fmt.Errorf("subject %q: zoned address: %w", str, ErrInvalid)
		}
		return AddrSubject(a), nil
	}
	if len(s) > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		n, err := strconv.ParseUint(s[2:], 10, 32)
		if err == nil && n != 0 {
			return ASNSubject(uint32(n)), nil
		}
	}
	if validDomain(s) {
		return DomainSubject(s), nil
	}
	return Subject{}, fmt.Errorf("subject %q: %w", str, ErrInvalid)
}

// validDomain reports whether s looks like a DNS host name: labels of
// letters, digits, hyphens and underscores, at least two labels, at most 253
// bytes, and not all-numeric.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	alpha := false
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				alpha = true
			case c >= '0' && c <= '9', c == '_':
			case c == '-' && i > 0 && i < len(label)-1:
			default:
				return false
			}
		}
	}
	return alpha
}

// ValidDomain reports whether s is acceptable as a domain subject.
func ValidDomain(s string) bool { return validDomain(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Subject) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Subject) UnmarshalText(b []byte) error {
	v, err := ParseSubject(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// A Source says where an indicator came from.
type Source struct {
	Feed    string `json:"feed"`              // configured feed name, "local", or the imported file's name
	Section string `json:"section,omitempty"` // section of the document, e.g. "Command and Control Servers"
	Line    int    `json:"line,omitempty"`    // 1-based line or record number; 0 when not line-based
}

// String formats the source as "feed", "feed:line" or "feed:line (section)".
func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.Feed)
	if s.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(s.Line))
	}
	if s.Section != "" {
		b.WriteString(" (")
		b.WriteString(s.Section)
		b.WriteByte(')')
	}
	return b.String()
}

// An Indicator says that a subject is known to be of a kind, according to a
// source, with a confidence, for a time.
//
// Readers leave fields zero when the format does not say: Kind
// KindUnknown and Confidence 0 are replaced by the feed's defaults, and zero
// times mean unknown (FirstSeen, LastSeen) or never (Expires). Port and
// Proto, from ip:port lists, are evidence shown to the operator and used for
// flow matching; they never narrow the address match.
type Indicator struct {
	Subject    Subject   `json:"subject"`
	Kind       Kind      `json:"kind"`
	Source     Source    `json:"source"`
	Confidence uint8     `json:"confidence"` // 0-100
	Tags       []string  `json:"tags,omitempty"`
	Port       uint16    `json:"port,omitempty"`
	Proto      string    `json:"proto,omitempty"`   // "tcp", "udp", "http", "socks5", ...
	Comment    string    `json:"comment,omitempty"` // free text the source gave with the entry
	FirstSeen  time.Time `json:"first_seen,omitzero"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	Expires    time.Time `json:"expires,omitzero"`
}

// MaxConfidence is the highest confidence an indicator can carry.
const MaxConfidence = 100

// ExpiredAt reports whether the indicator has expired at t. An indicator
// with a zero Expires never expires.
func (ind *Indicator) ExpiredAt(t time.Time) bool {
	return !ind.Expires.IsZero() && !t.Before(ind.Expires)
}

// Key identifies an indicator within its feed: the same subject, kind, port
// and protocol from the same feed is one indicator, whatever its line.
type Key struct {
	Feed    string
	Subject Subject
	Kind    Kind
	Port    uint16
	Proto   string
}

// Key returns the indicator's identity within its feed.
func (ind *Indicator) Key() Key {
	return Key{Feed: ind.Source.Feed, Subject: ind.Subject, Kind: ind.Kind, Port: ind.Port, Proto: ind.Proto}
}
