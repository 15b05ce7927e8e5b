package ipport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// maxElement bounds the bytes the JSON decoder may read for one element.
const maxElement = 1 << 20

// errElementTooLarge is returned by the guard when an element is larger
// than maxElement; the document cannot be read further.
var errElementTooLarge = fmt.Errorf("JSON element larger than %d bytes", maxElement)

// guard counts the bytes read since the last reset and fails past a limit,
// so that the decoder never buffers an unbounded element.
type guard struct {
	r io.Reader
	n int
}

func (g *guard) Read(p []byte) (int, error) {
	if g.n >= maxElement {
		return 0, errElementTooLarge
	}
	if len(p) > maxElement-g.n {
		p = p[:maxElement-g.n]
	}
	n, err := g.r.Read(p)
	g.n += n
	return n, err
}

// jsonStream reads the elements of a JSON array, or of a stream of JSON
// values, one at a time.
type jsonStream struct {
	g      *guard
	dec    *json.Decoder
	array  bool // the document is an array, whose "[" is still to be read
	opened bool
	n      int // elements read
}

func newJSONStream(br *bufio.Reader, array bool) *jsonStream {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	g := &guard{r: br}
	return &jsonStream{g: g, dec: json.NewDecoder(g), array: array}
}

// next returns the next element, or io.EOF after the last. Text after
// the array's closing "]" is not read.
func (s *jsonStream) next() (json.RawMessage, error) {
	s.g.n = 0
	if s.array && !s.opened {
		s.opened = true
		if _, err := s.dec.Token(); err != nil { // "["
			return nil, err
		}
	}
	if !s.dec.More() {
		if s.array {
			if _, err := s.dec.Token(); err != nil { // "]"
				return nil, err
			}
		}
		return nil, io.EOF
	}
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return nil, err
	}
	s.n++
	return raw, nil
}

// proxyRecord is one element of proxies.json.
type proxyRecord struct {
	Protocol string          `json:"protocol"`
	Username *string         `json:"username"`
	Host     string          `json:"host"`
	IP       string          `json:"ip"`
	Port     json.RawMessage `json:"port"`
	ExitIP   *string         `json:"exit_ip"`
	ASN      *struct {
		Number uint32 `json:"autonomous_system_number"`
	} `json:"asn"`
	Geolocation *struct {
		Country *struct {
			ISOCode string `json:"iso_code"`
		} `json:"country"`
	} `json:"geolocation"`
}

// readJSON reads one element and queues its outcome.
func (r *reader) readJSON() error {
	raw, err := r.js.next()
	if err != nil {
		if errors.Is(err, errElementTooLarge) || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("JSON element %d: %w", r.js.n+1, err)
		}
		return err
	}
	n := r.js.n
	text := string(raw)
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			r.fail(n, intel.ReasonSyntax, text, err)
		} else if !r.parseLine(s, n) {
			r.fail(n, intel.ReasonEmptyRecord, text, errors.New("empty string"))
		}
		return nil
	case '{':
	default:
		r.fail(n, intel.ReasonSyntax, text, errors.New("element is neither an object nor a string"))
		return nil
	}
	var rec proxyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		r.fail(n, intel.ReasonSyntax, text, err)
		return nil
	}
	r.proxy(rec, n, text)
	return nil
}

// proxy queues the indicators of one proxy record.
func (r *reader) proxy(rec proxyRecord, n int, text string) {
	host := strings.TrimSpace(rec.Host)
	if host == "" {
		host = strings.TrimSpace(rec.IP)
	}
	if host == "" {
		r.fail(n, intel.ReasonEmptyRecord, text, errors.New(`no "host"`))
		return
	}
	ep, reason, err := parseEndpoint(host)
	if err != nil {
		r.fail(n, reason, text, err)
		return
	}
	ind := proxywatch.Indicator{
		Subject: ep.subject,
		Kind:    proxywatch.KindOpenProxy,
		Source:  proxywatch.Source{Feed: r.feed, Line: n},
		Port:    ep.port,
		Proto:   r.proto,
	}
	if p := strings.ToLower(strings.TrimSpace(rec.Protocol)); p != "" {
		ind.Proto = p
		if known, ok := protos[p]; ok {
			ind.Proto = known
		}
	}
	if len(rec.Port) > 0 && string(rec.Port) != "null" {
		s := string(rec.Port)
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			r.fail(n, intel.ReasonBadPort, text, fmt.Errorf("port %s: want 1 to 65535", rec.Port))
			return
		}
		ind.Port = uint16(p)
	}
	if ep.auth || rec.Username != nil && *rec.Username != "" {
		ind.Tags = append(ind.Tags, TagAuth)
	}
	var geo []string
	if rec.ASN != nil && rec.ASN.Number != 0 {
		geo = append(geo, "asn:"+strconv.FormatUint(uint64(rec.ASN.Number), 10))
	}
	if rec.Geolocation != nil && rec.Geolocation.Country != nil && rec.Geolocation.Country.ISOCode != "" {
		geo = append(geo, "cc:"+rec.Geolocation.Country.ISOCode)
	}

	exit := ""
	if rec.ExitIP != nil {
		exit = strings.TrimSpace(*rec.ExitIP)
	}
	if exit == "" {
		ind.Tags = append(ind.Tags, geo...)
		r.emit(ind)
		return
	}
	a, err := netip.ParseAddr(exit)
	if err != nil || a.Zone() != "" {
		r.emit(withTags(ind, geo))
		r.fail(n, intel.ReasonBadAddress, text, fmt.Errorf("exit_ip %q: not an address", exit))
		return
	}
	xs := proxywatch.AddrSubject(a)
	if xs == ind.Subject {
		r.emit(withTags(ind, geo))
		return
	}
	ind.Comment = "exits via " + xs.Prefix.Addr().String()
	r.emit(ind)
	r.emit(proxywatch.Indicator{
		Subject: xs,
		Kind:    proxywatch.KindOpenProxy,
		Source:  ind.Source,
		Tags:    append([]string{TagProxyExit}, geo...),
		Comment: "exit address of " + proxyName(ind),
	})
}

func withTags(ind proxywatch.Indicator, tags []string) proxywatch.Indicator {
	ind.Tags = append(ind.Tags, tags...)
	return ind
}

// proxyName formats "socks5 proxy 192.0.2.1:1080".
func proxyName(ind proxywatch.Indicator) string {
	var b strings.Builder
	if ind.Proto != "" {
		b.WriteString(ind.Proto)
		b.WriteByte(' ')
	}
	b.WriteString("proxy ")
	host := ind.Subject.String()
	if ind.Subject.Type() == proxywatch.SubjectPrefix {
		host = ind.Subject.Prefix.Addr().String()
	}
	if ind.Port == 0 {
		b.WriteString(host)
	} else if ind.Subject.Type() == proxywatch.SubjectPrefix {
		b.WriteString(netip.AddrPortFrom(ind.Subject.Prefix.Addr(), ind.Port).String())
	} else {
		b.WriteString(host + ":" + strconv.Itoa(int(ind.Port)))
	}
	return b.String()
}
