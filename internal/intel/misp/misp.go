// Package misp reads MISP event JSON, turning the network attributes of an
// event into proxywatch indicators.
//
// A document is one of the forms MISP exports: {"Event": {...}}, the REST
// form {"response": [{"Event": {...}}, ...]}, or a bare array of
// {"Event": {...}}. An event is bounded, so the document is decoded whole
// with encoding/json, after a size check: a document larger than the
// "max_bytes" param (default 64 MiB) is refused as a whole with a final
// error before anything is returned.
//
// Records are the attributes: an event's Attribute list, then each of its
// Object[].Attribute lists, numbered from 1 in that order across the
// document; Source.Line is that number. Source.Section is the event's
// info (its title), followed by " / " and the object name for attributes
// of an object. Per attribute:
//
//   - "deleted": true, on the attribute or its object, excludes it
//     ("deleted");
//   - types md5, sha1, sha256, ssdeep, filename|sha256 and other hashes
//     are excluded as "hash", and types that are not network indicators
//     (url, filename, regkey, text, port, ...) as "other-type";
//   - "to_ids": false excludes a network attribute ("not-to-ids"), unless
//     the "to_ids" param is "ignore";
//   - ip-src and ip-dst (an address or a CIDR) give a prefix; ip-src|port
//     and ip-dst|port a prefix with the port as evidence; domain and
//     hostname a domain, hostname|port a domain and port; domain|ip gives
//     two indicators, the domain and the address; AS gives an ASN.
//
// Fields: first_seen and last_seen (of the attribute, else of its
// object) give FirstSeen and LastSeen; without last_seen, the attribute's
// timestamp (when it was last changed, so last vouched for) gives
// LastSeen. Tag names of the attribute and of the event give Tags. The
// category and comment (the attribute's, else its object's) give Comment.
// The kind comes from the attribute's comment, its object's comment and
// its tags through [intel.KindFromText]; MISP categories and event
// tags (ATT&CK techniques of the whole event) do not name a kind.
//
// Params: "to_ids" ("honour", the default, or "ignore") and "max_bytes".
package misp

import (
	"bufio"
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

// DefaultMaxBytes bounds the size of a MISP document.
const DefaultMaxBytes = 64 << 20

// A Reader reads the events of one MISP document. It is not safe for
// concurrent use.
type Reader struct {
	src      io.Reader
	feed     string
	ignoreID bool
	maxBytes int64
	queue    []item
	done     bool
	err      error
}

type item struct {
	ind proxywatch.Indicator
	err *intel.ParseError
}

var _ intel.Open = NewReader

// NewReader returns a reader of the MISP document in r. It reports an
// error for unknown params and bad param values.
func NewReader(r io.Reader, opts intel.Options) (intel.Reader, error) {
	if err := intel.CheckParams(opts.Params, "to_ids", "max_bytes"); err != nil {
		return nil, err
	}
	rd := &Reader{src: r, feed: opts.Name, maxBytes: DefaultMaxBytes}
	switch v := opts.Params["to_ids"]; v {
	case "", "honour", "honor":
	case "ignore":
		rd.ignoreID = true
	default:
		return nil, fmt.Errorf("param to_ids %q: want honour or ignore: %w", v, proxywatch.ErrInvalid)
	}
	if v, ok := opts.Params["max_bytes"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("param max_bytes %q: want a positive integer: %w", v, proxywatch.ErrInvalid)
		}
		rd.maxBytes = n
	}
	return rd, nil
}

// Read returns the next indicator; see intel.Reader.
func (r *Reader) Read() (proxywatch.Indicator, error) {
	if !r.done {
		r.done = true
		r.err = r.load()
	}
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
	return proxywatch.Indicator{}, io.EOF
}

// The parts of a MISP document the reader looks at.
type (
	document struct {
		Event    *event     `json:"Event"`
		Response []envelope `json:"response"`
	}
	envelope struct {
		Event *event `json:"Event"`
	}
	event struct {
		Info      string      `json:"info"`
		Tag       []tag       `json:"Tag"`
		Attribute []attribute `json:"Attribute"`
		Object    []object    `json:"Object"`
	}
	object struct {
		Name      string      `json:"name"`
		Comment   string      `json:"comment"`
		FirstSeen flexString  `json:"first_seen"`
		LastSeen  flexString  `json:"last_seen"`
		Deleted   flexBool    `json:"deleted"`
		Attribute []attribute `json:"Attribute"`
	}
	attribute struct {
		Type      string     `json:"type"`
		Category  string     `json:"category"`
		Value     string     `json:"value"`
		ToIDS     flexBool   `json:"to_ids"`
		Deleted   flexBool   `json:"deleted"`
		Comment   string     `json:"comment"`
		Timestamp flexString `json:"timestamp"`
		FirstSeen flexString `json:"first_seen"`
		LastSeen  flexString `json:"last_seen"`
		Tag       []tag      `json:"Tag"`
	}
	tag struct {
		Name string `json:"name"`
	}
)

// flexBool reads true, false, "1", "0", "true", "false" and null; MISP
// versions differ.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("boolean %s", data)
	}
	return nil
}

// flexString reads a string, a number or null.
type flexString string

func (s *flexString) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		*s = ""
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if _, err := strconv.ParseFloat(string(data), 64); err != nil {
		return fmt.Errorf("want a string or a number, got %s", data)
	}
	*s = flexString(data)
	return nil
}

// load decodes the document and queues every attribute's outcome.
func (r *Reader) load() error {
	br := bufio.NewReader(io.LimitReader(r.src, r.maxBytes+1))
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("read misp %q: %w", r.feed, err)
	}
	if int64(len(data)) > r.maxBytes {
		return fmt.Errorf("read misp %q: larger than %d bytes (param max_bytes)", r.feed, r.maxBytes)
	}
	events, err := decode(data)
	if err != nil {
		return fmt.Errorf("read misp %q: %w", r.feed, err)
	}
	n := 0
	for _, ev := range events {
		evTags := tagNames(ev.Tag)
		info := intel.Truncate(strings.TrimSpace(ev.Info), 120)
		for i := range ev.Attribute {
			n++
			r.attribute(n, info, evTags, &ev.Attribute[i], nil)
		}
		for i := range ev.Object {
			o := &ev.Object[i]
			section := o.Name
			if info != "" {
				section = info + " / " + o.Name
			}
			for j := range o.Attribute {
				n++
				r.attribute(n, section, evTags, &o.Attribute[j], o)
			}
		}
	}
	return io.EOF
}

// decode returns the events of a document in any of its forms.
func decode(data []byte) ([]*event, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty document")
	}
	var docs []document
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &docs); err != nil {
			return nil, err
		}
	} else {
		var d document
		if err := json.Unmarshal(trimmed, &d); err != nil {
			return nil, err
		}
		docs = []document{d}
	}
	var events []*event
	for _, d := range docs {
		if d.Event != nil {
			events = append(events, d.Event)
		}
		for _, e := range d.Response {
			if e.Event != nil {
				events = append(events, e.Event)
			}
		}
	}
	if len(events) == 0 {
		return nil, errors.New(`no "Event" in the document`)
	}
	return events, nil
}

func tagNames(tags []tag) []string {
	var names []string
	for _, t := range tags {
		if t.Name != "" {
			names = append(names, t.Name)
		}
	}
	return names
}
