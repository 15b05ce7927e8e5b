// Package ipport reads open-proxy lists: ip:port lines, with or without a
// scheme, and JSON arrays of proxy records such as monosans' proxies.json.
//
// Text lines (proxy-list-raw.txt, proxies/*.txt, proxies/all.txt and
// clarketm's proxy-list.txt and proxy-list-status.txt):
//
//	192.0.2.10:8080                     address and port
//	[2001:db8::10]:1080                 IPv6 in brackets
//	socks5://192.0.2.11:1080            http, https, socks4, socks4a,
//	                                    socks5 and socks5h set Proto
//	http://user:secret@192.0.2.12:3128  credentials are dropped; tag "auth"
//	proxy.example.org:8080              a host name is a domain subject
//	192.0.2.13                          no port: Port 0
//	2001:db8::13                        IPv6 without brackets has no port
//	192.0.2.14:8080 US-H-S! +           clarketm flags, see below
//	192.0.2.15:80 => failure            clarketm status: tag "status:failure"
//	192.0.2.16:80 any other text        the text becomes the Comment
//
// Empty lines and lines starting with "#" or ";" are not records, and text
// after " #" is a comment. clarketm's flags "CC-A-S!" and "+"/"-" become
// tags: "cc:US"; "anonymity:none", "anonymity:anonymous" or
// "anonymity:high" (N, A, H); "https" (S: it also proxies HTTPS);
// "exit-differs" (!: its outgoing address differs from the incoming one);
// "google-passed" (+). A line of several words that starts with a letter
// and holds no address, such as a list's header or footer ("Proxy list
// updated at ...", "SUCCESS rate:"), is excluded with reason "prose".
// Other lines are refused: bad-address, bad-port (outside 1-65535),
// unsupported (an unknown scheme), too-long (beyond 64 KiB).
//
// JSON: when the document's first non-space byte is "[" it is read as an
// array, and when it is "{" as a stream of objects, with encoding/json's
// streaming decoder (one element at a time, of about 1 MiB at most; a larger
// element or broken JSON is a final error). Source.Line is the element's
// 1-based index. An element that is a string is read as a text line. An
// object is a proxy record:
//
//	{"protocol":"socks5","host":"192.0.2.20","port":1080,"exit_ip":"198.51.100.9",
//	 "username":null,"asn":{"autonomous_system_number":64496},
//	 "geolocation":{"country":{"iso_code":"NL"}}}
//
// ("ip" is accepted for "host", and port may be a string.) It yields the
// proxy's own address with its port and protocol and, when exit_ip
// differs from host, a second indicator for the exit address, tagged
// "proxy-exit", whose Comment names the proxy: the two are distinct
// evidence, one where the proxy listens and one where its traffic leaves.
// The ASN and country, which the list's checker looked up for the exit
// address, become tags "asn:N" and "cc:XX" on the exit address's
// indicator (the proxy's own when they are the same).
//
// Every indicator has Kind proxywatch.KindOpenProxy: these lists are open
// proxies by construction. Confidence is left to the feed.
//
// Params: "proto" sets Proto for entries without a scheme, such as the
// lines of proxies/socks5.txt; it must be one of the schemes above.
package ipport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// ReasonProse excludes a line of text that is not a proxy entry, such as
// a list's header.
const ReasonProse = "prose"

// Tags set on indicators.
const (
	TagAuth         = "auth"
	TagProxyExit    = "proxy-exit"
	TagExitDiffers  = "exit-differs"
	TagHTTPS        = "https"
	TagGooglePassed = "google-passed"
)

// protos maps the accepted schemes to the Proto they set.
var protos = map[string]string{
	"http": "http", "https": "https",
	"socks4": "socks4", "socks4a": "socks4a",
	"socks5": "socks5", "socks5h": "socks5h",
}

// result is one queued outcome of a record that yields several.
type result struct {
	ind proxywatch.Indicator
	err error
}

type reader struct {
	br      *bufio.Reader
	lr      *intel.LineReader // text mode
	js      *jsonStream       // JSON mode, after the first byte is seen
	started bool
	feed    string
	proto   string
	pending []result
	next    int
	err     error
}

// NewReader returns a reader of the proxy list in r. It reports an error
// only for unknown or invalid params.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params, "proto"); err != nil {
		return nil, err
	}
	rd := &reader{feed: opts.Name}
	if v, ok := opts.Params["proto"]; ok {
		p, ok := protos[strings.ToLower(v)]
		if !ok {
			return nil, fmt.Errorf("param %q: %q is not http, https, socks4, socks4a, socks5 or socks5h: %w", "proto", v, proxywatch.ErrInvalid)
		}
		rd.proto = p
	}
	rd.lr = intel.NewLineReader(r)
	rd.br = rd.lr.Reader()
	return rd, nil
}

// Read returns the next indicator; see intel.Reader.
func (r *reader) Read() (proxywatch.Indicator, error) {
	for {
		if r.next < len(r.pending) {
			res := r.pending[r.next]
			r.next++
			return res.ind, res.err
		}
		r.pending, r.next = r.pending[:0], 0
		if r.err != nil {
			return proxywatch.Indicator{}, r.err
		}
		if !r.started {
			r.started = true
			if c, err := firstByte(r.br); err == nil && (c == '[' || c == '{') {
				r.js = newJSONStream(r.br, c == '[')
			}
		}
		var err error
		if r.js != nil {
			err = r.readJSON()
		} else {
			err = r.readLine()
		}
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("read %s: %w", r.feed, err)
			}
			r.err = err
		}
	}
}

// firstByte peeks at the first byte that is not white space or a byte
// order mark, without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf:
			if i >= 4096 {
				return 0, errors.New("no content in the first 4096 bytes")
			}
		default:
			return c, nil
		}
	}
}

// readLine reads text lines until one is a record, and queues its
// outcome. It returns io.EOF or a read error at the end.
func (r *reader) readLine() error {
	for {
		line, long, err := r.lr.Next()
		if err != nil {
			return err
		}
		if long {
			r.fail(r.lr.Line(), intel.ReasonTooLong, line, fmt.Errorf("line longer than %d bytes", intel.MaxLine))
			return nil
		}
		if r.parseLine(line, r.lr.Line()) {
			return nil
		}
	}
}

func (r *reader) fail(n int, reason, text string, err error) {
	r.pending = append(r.pending, result{err: intel.NewParseError(r.feed, n, reason, text, err)})
}

func (r *reader) emit(ind proxywatch.Indicator) {
	r.pending = append(r.pending, result{ind: ind})
}

// parseLine queues the outcome of one text line numbered n and reports
// whether the line was a record.
func (r *reader) parseLine(line string, n int) bool {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' || s[0] == ';' {
		return false
	}
	ind := proxywatch.Indicator{
		Kind:   proxywatch.KindOpenProxy,
		Source: proxywatch.Source{Feed: r.feed, Line: n},
		Proto:  r.proto,
	}
	if i := strings.Index(s, " #"); i >= 0 {
		ind.Comment = strings.TrimSpace(strings.TrimLeft(s[i:], " #"))
		s = strings.TrimSpace(s[:i])
	} else if i := strings.Index(s, "\t#"); i >= 0 {
		ind.Comment = strings.TrimSpace(strings.TrimLeft(s[i:], " \t#"))
		s = strings.TrimSpace(s[:i])
	}
	tok, rest := s, ""
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		tok, rest = s[:i], strings.TrimSpace(s[i:])
	}
	ep, reason, err := parseEndpoint(tok)
	if err != nil {
		if reason == intel.ReasonBadAddress && isProse(s) {
			r.pending = append(r.pending, result{err: intel.NewExclusion(r.feed, n, ReasonProse, line)})
			return true
		}
		r.fail(n, reason, line, err)
		return true
	}
	ind.Subject, ind.Port = ep.subject, ep.port
	if ep.proto != "" {
		ind.Proto = ep.proto
	}
	if ep.auth {
		ind.Tags = append(ind.Tags, TagAuth)
	}
	if rest != "" {
		r.annotate(&ind, rest)
	}
	r.emit(ind)
	return true
}

// endpoint is a parsed proxy address.
type endpoint struct {
	subject proxywatch.Subject
	port    uint16
	proto   string
	auth    bool
}

// parseEndpoint parses [scheme://][user[:pass]@]host[:port][/path], where
// host is an IPv4 address, an IPv6 address (in brackets when a port
// follows) or a DNS name.
func parseEndpoint(tok string) (ep endpoint, reason string, err error) {
	tok = intel.Refang(tok)
	if scheme, rest, ok := strings.Cut(tok, "://"); ok {
		p, known := protos[strings.ToLower(scheme)]
		if !known {
			return ep, intel.ReasonUnsupported, fmt.Errorf("scheme %q: not a proxy protocol", scheme)
		}
		ep.proto = p
		tok = rest
		if i := strings.IndexByte(tok, '/'); i >= 0 {
			tok = tok[:i]
		}
	}
	if i := strings.LastIndexByte(tok, '@'); i >= 0 {
		ep.auth = true
		tok = tok[i+1:]
	}
	tok = strings.TrimSuffix(tok, ":") // "192.0.2.1:80:" in status lists
	host, port := tok, ""
	switch {
	case strings.HasPrefix(tok, "["):
		end := strings.IndexByte(tok, ']')
		if end < 0 {
			return ep, intel.ReasonBadAddress, fmt.Errorf("%q: missing ']'", tok)
		}
		host, port = tok[1:end], tok[end+1:]
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return ep, intel.ReasonBadAddress, fmt.Errorf("%q: text after ']'", tok)
			}
			port = p
		}
	case strings.Count(tok, ":") == 1:
		host, port, _ = strings.Cut(tok, ":")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return ep, intel.ReasonBadAddress, fmt.Errorf("%q: zoned address", host)
		}
		ep.subject = proxywatch.AddrSubject(a)
	} else if proxywatch.ValidDomain(host) {
		ep.subject = proxywatch.DomainSubject(host)
	} else {
		return ep, intel.ReasonBadAddress, fmt.Errorf("%q: not an address or host name", host)
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return ep, intel.ReasonBadPort, fmt.Errorf("port %q: want 1 to 65535", port)
		}
		ep.port = uint16(n)
	}
	return ep, "", nil
}
