// Package stix reads STIX 2.0 and 2.1 bundles, turning the indicators whose
// pattern names addresses, prefixes or domains into proxywatch indicators.
//
// The bundle's "objects" array is streamed with encoding/json's Decoder,
// one object at a time, so memory stays flat however large the bundle:
// the live heap is bounded by the largest single object, not the number
// of objects (the 2.4 MB Talos brute-force bundle with 3,926 indicators
// is read within 250 KB, most of it the decoder's buffer for the report
// object and its 3,927 object_refs; see TestTalosLowMemory and
// BenchmarkTalos). A document that is a bare JSON array of STIX objects
// is read the same way.
//
// Each object of type "indicator" is one record; Source.Line is its
// 1-based position in "objects". Its pattern (pattern_type "stix" or
// absent) is parsed by a parser of the STIX patterning grammar and
// evaluated as eval.go describes: a comparison or an OR of comparisons
// over ipv4-addr, ipv6-addr, domain-name or network-traffic
// dst_ref/src_ref values gives one indicator per value, with the port and
// protocol kept as evidence when ANDed on the same end; an address ANDed
// with anything else is refused as unsupported, and patterns naming no
// address (file hashes, URLs, file names) are excluded as "hash" or
// "other-type". One indicator object may therefore give several
// indicators and several errors, all with the same line.
//
// Fields: valid_from gives FirstSeen and valid_until Expires; confidence
// (0-100) gives Confidence; labels and indicator_types give Tags; name (or
// else description) gives Comment. The kind comes from indicator_types,
// labels and name through [intel.KindFromText] ("C2 channel" gives
// c2, "brute force" brute-force, "proxy" open-proxy, "anonymization"
// anonymizer); "malicious-activity" names no kind and leaves KindUnknown.
// Indicators typed "benign" are excluded ("benign"), revoked ones
// excluded ("revoked"). Other pattern types (snort, yara, sigma, ...) are
// refused as unsupported.
//
// Objects of other types (identity, malware, relationship, report,
// observed-data, infrastructure, and cyber-observables such as ipv4-addr)
// are not records: they are counted by type in [Reader.Skipped]. Bare
// observables and observed-data state what was seen, not that it is
// malicious, and following relationships from infrastructure objects
// would need the whole bundle in memory, so neither becomes an indicator.
//
// The reader takes no params.
package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// Reasons this format adds to intel's.
const (
	ReasonRevoked = "revoked" // excluded: an indicator marked revoked
	ReasonBenign  = "benign"  // excluded: an indicator typed "benign"
)

// A Reader reads one STIX bundle. It is not safe for concurrent use.
type Reader struct {
	dec     *json.Decoder
	feed    string
	state   int
	array   bool // the document is a bare array of objects
	bundle  bool // the top-level object has "type": "bundle"
	ordinal int
	queue   []item
	skipped map[string]int
	err     error
}

// Reader states.
const (
	stateStart = iota
	stateObjects
	stateDone
)

type item struct {
	ind proxywatch.Indicator
	err *intel.ParseError
}

var _ intel.Open = NewReader

// NewReader returns a reader of the STIX bundle in r. It takes no params
// and reports an error for any.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &Reader{dec: dec, feed: opts.Name, skipped: map[string]int{}}, nil
}

// Skipped returns how many objects of each type other than "indicator"
// the reader has passed over so far. The map is a copy.
func (r *Reader) Skipped() map[string]int { return maps.Clone(r.skipped) }

// Read returns the next indicator; see intel.Reader.
func (r *Reader) Read() (proxywatch.Indicator, error) {
	for {
		if len(r.queue) > 0 {
			it := r.queue[0]
			r.queue = r.queue[1:]
			if it.err != nil {
				return proxywatch.Indicator{}, it.err
			}
			return it.ind, nil
		}
		if r.err != nil {
			return proxywatch.Indicator{}, r.err
		}
		r.err = r.step()
	}
}

// step advances through the document until it has queued something or
// reached the end, which it reports as io.EOF.
func (r *Reader) step() error {
	switch r.state {
	case stateStart:
		return r.start()
	case stateObjects:
		if !r.dec.More() {
			if _, err := r.dec.Token(); err != nil { // "]"
				return r.fatal(err)
			}
			if r.array {
				r.state = stateDone
				return io.EOF
			}
			return r.rest()
		}
		r.ordinal++
		var obj object
		if err := r.dec.Decode(&obj); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				r.queue = append(r.queue, item{err: intel.NewParseError(r.feed, r.ordinal, intel.ReasonBadValue, obj.ID, err)})
				return nil
			}
			return r.fatal(err)
		}
		r.object(&obj)
		return nil
	}
	return io.EOF
}

// start reads up to the first object of the "objects" array.
func (r *Reader) start() error {
	tok, err := r.dec.Token()
	if err != nil {
		if err == io.EOF {
			return r.fatal(errors.New("empty document"))
		}
		return r.fatal(err)
	}
	switch tok {
	case json.Delim('['):
		r.array, r.state = true, stateObjects
		return nil
	case json.Delim('{'):
	default:
		return r.fatal(fmt.Errorf("document starts with %v, not a bundle", tok))
	}
	for r.dec.More() {
		key, err := r.key()
		if err != nil {
			return err
		}
		switch key {
		case "objects":
			tok, err := r.dec.Token()
			if err != nil {
				return r.fatal(err)
			}
			if tok != json.Delim('[') {
				return r.fatal(errors.New(`"objects" is not an array`))
			}
			r.state = stateObjects
			return nil
		case "type":
			var typ string
			if err := r.dec.Decode(&typ); err != nil {
				return r.fatal(fmt.Errorf(`"type": %w`, err))
			}
			if typ != "bundle" {
				return r.fatal(fmt.Errorf("type %q, not a bundle", typ))
			}
			r.bundle = true
		default:
			if err := skipValue(r.dec); err != nil {
				return r.fatal(err)
			}
		}
	}
	if _, err := r.dec.Token(); err != nil { // "}"
		return r.fatal(err)
	}
	r.state = stateDone
	if !r.bundle {
		return r.fatal(errors.New(`no "objects" and no "type": "bundle"`))
	}
	return io.EOF
}

// rest reads the bundle's keys after "objects" up to its end.
func (r *Reader) rest() error {
	for r.dec.More() {
		if _, err := r.key(); err != nil {
			return err
		}
		if err := skipValue(r.dec); err != nil {
			return r.fatal(err)
		}
	}
	if _, err := r.dec.Token(); err != nil {
		return r.fatal(err)
	}
	r.state = stateDone
	return io.EOF
}

func (r *Reader) key() (string, error) {
	tok, err := r.dec.Token()
	if err != nil {
		return "", r.fatal(err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", r.fatal(fmt.Errorf("object key %v", tok))
	}
	return k, nil
}

// fatal wraps a final error with the document and position.
func (r *Reader) fatal(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	r.state = stateDone
	return fmt.Errorf("read stix %q at byte %d: %w", r.feed, r.dec.InputOffset(), err)
}

// skipValue reads and discards one JSON value.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// object is the part of a STIX object the reader looks at.
type object struct {
	Type           string      `json:"type"`
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	Pattern        string      `json:"pattern"`
	PatternType    string      `json:"pattern_type"`
	Labels         []string    `json:"labels"`
	IndicatorTypes []string    `json:"indicator_types"`
	ValidFrom      string      `json:"valid_from"`
	ValidUntil     string      `json:"valid_until"`
	Confidence     json.Number `json:"confidence"`
	Revoked        bool        `json:"revoked"`
}

// object queues the outcome of one STIX object.
func (r *Reader) object(o *object) {
	if o.Type != "indicator" {
		typ := o.Type
		if typ == "" {
			typ = "(none)"
		}
		if len(r.skipped) < 256 || r.skipped[typ] > 0 {
			r.skipped[typ]++
		} else {
			r.skipped["(other)"]++
		}
		return
	}
	refuse := func(reason string, err error) {
		r.queue = append(r.queue, item{err: intel.NewParseError(r.feed, r.ordinal, reason, o.Pattern, err)})
	}
	exclude := func(reason string) {
		r.queue = append(r.queue, item{err: intel.NewExclusion(r.feed, r.ordinal, reason, o.Pattern)})
	}
	switch {
	case o.Revoked:
		exclude(ReasonRevoked)
		return
	case contains(o.IndicatorTypes, "benign") || contains(o.Labels, "benign"):
		exclude(ReasonBenign)
		return
	case o.PatternType != "" && o.PatternType != "stix":
		refuse(intel.ReasonUnsupported, fmt.Errorf("pattern_type %q", o.PatternType))
		return
	case o.Pattern == "":
		refuse(intel.ReasonSyntax, errors.New("indicator without a pattern"))
		return
	}
	base, err := r.base(o)
	if err != nil {
		refuse(intel.ReasonBadValue, err)
		return
	}
	expr, err := parsePattern(o.Pattern)
	if err != nil {
		refuse(intel.ReasonSyntax, err)
		return
	}
	seen := map[atom]bool{}
	for _, out := range evalPattern(expr) {
		if out.reason != "" {
			var pe *intel.ParseError
			if out.excluded {
				pe = intel.NewExclusion(r.feed, r.ordinal, out.reason, out.text)
			} else {
				pe = intel.NewParseError(r.feed, r.ordinal, out.reason, out.text, out.err)
			}
			r.queue = append(r.queue, item{err: pe})
			continue
		}
		for _, a := range out.atoms {
			if seen[a] {
				continue
			}
			seen[a] = true
			ind := base
			ind.Subject, ind.Port, ind.Proto = a.subject, a.port, a.proto
			ind.Tags = append([]string(nil), base.Tags...)
			r.queue = append(r.queue, item{ind: ind})
		}
	}
}

// base returns the indicator fields an indicator object gives every
// indicator of its pattern.
func (r *Reader) base(o *object) (proxywatch.Indicator, error) {
	ind := proxywatch.Indicator{Source: proxywatch.Source{Feed: r.feed, Line: r.ordinal}}
	var err error
	if ind.FirstSeen, err = parseTime("valid_from", o.ValidFrom); err != nil {
		return ind, err
	}
	if ind.Expires, err = parseTime("valid_until", o.ValidUntil); err != nil {
		return ind, err
	}
	if o.Confidence != "" {
		n, err := strconv.Atoi(o.Confidence.String())
		if err != nil || n < 0 || n > proxywatch.MaxConfidence {
			return ind, fmt.Errorf("confidence %s: want an integer 0-100", o.Confidence)
		}
		ind.Confidence = uint8(n)
	}
	for _, l := range append(append([]string(nil), o.IndicatorTypes...), o.Labels...) {
		if l != "" && !contains(ind.Tags, l) {
			ind.Tags = append(ind.Tags, l)
		}
	}
	for _, s := range append(ind.Tags, o.Name) {
		if k := intel.KindFromText(s); k != proxywatch.KindUnknown {
			ind.Kind = k
			break
		}
	}
	ind.Comment = o.Name
	if ind.Comment == "" {
		ind.Comment = o.Description
	}
	ind.Comment = intel.Truncate(ind.Comment, 200)
	return ind, nil
}

func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", field, s, err)
	}
	return t.UTC(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
