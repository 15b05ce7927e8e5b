// Package drop reads the Spamhaus Don't Route Or Peer lists: DROP, EDROP
// and DROPv6 as text, and ASN-DROP (and the DROP JSON files) as JSON lines.
//
// Each line is read on its own; a line whose first non-space byte is "{"
// is JSON, any other is text, so a reader takes every form, mixed or not.
//
// Text lines, as in drop.txt, edrop.txt, drop_ipv6.txt and FireHOL's
// spamhaus_drop.netset and spamhaus_edrop.netset:
//
//	; Spamhaus DROP List 2024/02/27 - (c) 2024 The Spamhaus Project SLU
//	192.0.2.0/24 ; SBL123456
//	2001:db8::/32
//
// A prefix (or a bare address) is followed by an optional comment after
// ";" or "#", kept as the indicator's Comment (the SBL reference). Lines
// that are empty or start with ";" or "#" are not records.
//
// JSON lines, as in asn_drop.json and drop_v4.json / drop_v6.json:
//
//	{"asn":64496,"rir":"arin","domain":"example.net","cc":"US","asname":"EXAMPLE"}
//	{"cidr":"192.0.2.0/24","sblid":"SBL123456","rir":"ripencc"}
//	{"type":"metadata","timestamp":1709006105,"size":17905,"records":201}
//
// An object with "asn" becomes an ASN subject whose Comment names the AS
// ("EXAMPLE (example.net; US; arin)"); an object with "cidr" becomes a
// prefix with the SBL id as Comment; the "metadata" object is not a
// record. Unknown fields are ignored.
//
// Indicators have Kind proxywatch.KindOther (DROP lists networks run by
// spam and cybercrime operations, not a narrower kind) and the tag
// "spamhaus-drop", or "spamhaus-asn-drop" for ASNs; Confidence is left to
// the feed. Refusals: bad-address (a prefix or ASN that does not parse),
// syntax (text after the prefix, JSON that does not parse or has neither
// "asn" nor "cidr"), too-long (a line beyond 64 KiB). The reader takes no
// params.
package drop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Tags set on the indicators.
const (
	TagDROP    = "spamhaus-drop"
	TagASNDROP = "spamhaus-asn-drop"
)

type reader struct {
	lr   *intel.LineReader
	feed string
	err  error
}

// NewReader returns a reader of the DROP document in r. It takes no
// params and reports an error for any.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params); err != nil {
		return nil, err
	}
	return &reader{lr: intel.NewLineReader(r), feed: opts.Name}, nil
}

// Read returns the next indicator; see intel.Reader.
func (r *reader) Read() (proxywatch.Indicator, error) {
	if r.err != nil {
		return proxywatch.Indicator{}, r.err
	}
	for {
		line, long, err := r.lr.Next()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("read %s: %w", r.feed, err)
			}
			r.err = err
			return proxywatch.Indicator{}, err
		}
		if long {
			return proxywatch.Indicator{}, intel.NewParseError(r.feed, r.lr.Line(), intel.ReasonTooLong, line,
				fmt.Errorf("line longer than %d bytes", intel.MaxLine))
		}
		s := strings.TrimSpace(line)
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		var ind proxywatch.Indicator
		var ok bool
		var reason string
		if s[0] == '{' {
			ind, ok, reason, err = parseJSON(s)
		} else {
			ind, reason, err = parseText(s)
			ok = true
		}
		if err != nil {
			return proxywatch.Indicator{}, intel.NewParseError(r.feed, r.lr.Line(), reason, line, err)
		}
		if !ok {
			continue
		}
		ind.Kind = proxywatch.KindOther
		ind.Source = proxywatch.Source{Feed: r.feed, Line: r.lr.Line()}
		return ind, nil
	}
}

// parseText reads "prefix [; comment]".
func parseText(s string) (ind proxywatch.Indicator, reason string, err error) {
	body := s
	if i := strings.IndexAny(s, ";#"); i >= 0 {
		body = s[:i]
		ind.Comment = strings.TrimSpace(strings.TrimLeft(s[i:], ";# \t"))
	}
	body = strings.TrimSpace(body)
	if strings.ContainsAny(body, " \t") {
		return ind, intel.ReasonSyntax, errors.New("unexpected text after the prefix")
	}
	p, err := intel.ParsePrefix(body)
	if err != nil {
		return ind, intel.ReasonBadAddress, err
	}
	ind.Subject = proxywatch.PrefixSubject(p)
	ind.Tags = []string{TagDROP}
	return ind, "", nil
}

// jsonLine holds the fields of every DROP JSON line shape.
type jsonLine struct {
	Type   string          `json:"type"`
	ASN    json.RawMessage `json:"asn"`
	RIR    string          `json:"rir"`
	Domain string          `json:"domain"`
	CC     string          `json:"cc"`
	ASName string          `json:"asname"`
	CIDR   string          `json:"cidr"`
	SBLID  string          `json:"sblid"`
}

// parseJSON reads one JSON line; ok is false for the metadata line.
func parseJSON(s string) (ind proxywatch.Indicator, ok bool, reason string, err error) {
	var v jsonLine
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&v); err != nil {
		return ind, false, intel.ReasonSyntax, fmt.Errorf("decode JSON: %w", err)
	}
	if dec.More() {
		return ind, false, intel.ReasonSyntax, errors.New("text after the JSON object")
	}
	switch {
	case v.Type == "metadata":
		return ind, false, "", nil
	case len(v.ASN) > 0 && !bytes.Equal(v.ASN, []byte("null")):
		n, err := parseASN(v.ASN)
		if err != nil {
			return ind, false, intel.ReasonBadAddress, err
		}
		ind.Subject = proxywatch.ASNSubject(n)
		ind.Comment = asnComment(v)
		ind.Tags = []string{TagASNDROP}
		return ind, true, "", nil
	case v.CIDR != "":
		p, err := intel.ParsePrefix(strings.TrimSpace(v.CIDR))
		if err != nil {
			return ind, false, intel.ReasonBadAddress, err
		}
		ind.Subject = proxywatch.PrefixSubject(p)
		ind.Comment = strings.TrimSpace(v.SBLID)
		ind.Tags = []string{TagDROP}
		return ind, true, "", nil
	}
	return ind, false, intel.ReasonSyntax, errors.New(`JSON object has neither "asn" nor "cidr"`)
}

// parseASN accepts 64496, "64496" and "AS64496".
func parseASN(raw json.RawMessage) (uint32, error) {
	s := string(raw)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "AS"), "as")
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("asn %s: want 1 to 4294967295", raw)
	}
	return uint32(n), nil
}

// asnComment formats "NAME (domain; CC; rir)", leaving out empty parts.
func asnComment(v jsonLine) string {
	var parts []string
	for _, p := range []string{v.Domain, v.CC, v.RIR} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	name := strings.TrimSpace(v.ASName)
	switch {
	case len(parts) == 0:
		return name
	case name == "":
		return strings.Join(parts, "; ")
	}
	return name + " (" + strings.Join(parts, "; ") + ")"
}
