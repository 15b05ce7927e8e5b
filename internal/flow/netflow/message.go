package netflow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

var be = binary.BigEndian

// msg is the context of one v9 or IPFIX message while its sets are decoded.
type msg struct {
	dom      *domain
	version  uint16
	vi       int   // V9 or IPFIX
	exportNs int64 // the header's export time, Unix nanoseconds
	uptimeMs uint32
	now      time.Time
	data     uint32 // data records seen (IPFIX sequence unit)
	options  uint32 // of which options data records
	unknown  bool   // a data set could not be decoded: its record count is unknown
	err      error  // the first problem, malformations before no-template
	noTmpl   bool   // err is only data for an unknown template
}

// note counts a problem of the message and keeps it as the message's
// error when it is the first, or the first malformation after data for
// unknown templates only: a set cut short or malformed must not hide
// behind the commonplace wait for a template.
func (d *Decoder) note(m *msg, reason, format string, args ...any) {
	err := d.fail(reason, format, args...)
	if m.err == nil || (m.noTmpl && reason != flow.ReasonNoTemplate) {
		m.err, m.noTmpl = err, reason == flow.ReasonNoTemplate
	}
}

func (d *Decoder) decodeV9(dst []flow.Record, p []byte, exporter netip.Addr, t time.Time) ([]flow.Record, error) {
	if len(p) < 20 {
		return dst, d.fail(flow.ReasonShort, "v9 packet of %d bytes", len(p))
	}
	dom := d.domainFor(exporter, 9, be.Uint32(p[16:]), t)
	if dom == nil {
		return dst, d.fail(flow.ReasonLimit, "more than %d exporter domains", d.opts.MaxDomains)
	}
	m := msg{dom: dom, version: 9, vi: V9, exportNs: int64(be.Uint32(p[8:])) * 1e9, uptimeMs: be.Uint32(p[4:]), now: t}
	n := len(dst)
	dst = d.decodeSets(dst, p[20:], &m)
	d.finish(&m, be.Uint32(p[12:]), 1, 1, len(dst)-n)
	return dst, m.err
}

func (d *Decoder) decodeIPFIX(dst []flow.Record, p []byte, exporter netip.Addr, t time.Time) ([]flow.Record, error) {
	if len(p) < 16 {
		return dst, d.fail(flow.ReasonShort, "IPFIX message of %d bytes", len(p))
	}
	length := int(be.Uint16(p[2:]))
	if length < 16 {
		return dst, d.fail(flow.ReasonTruncated, "IPFIX message length %d", length)
	}
	dom := d.domainFor(exporter, 10, be.Uint32(p[12:]), t)
	if dom == nil {
		return dst, d.fail(flow.ReasonLimit, "more than %d exporter domains", d.opts.MaxDomains)
	}
	m := msg{dom: dom, version: 10, vi: IPFIX, exportNs: int64(be.Uint32(p[4:])) * 1e9, now: t}
	if length > len(p) {
		d.note(&m, flow.ReasonTruncated, "IPFIX message length %d beyond its %d-byte datagram", length, len(p))
		m.unknown = true
		length = len(p)
	}
	n := len(dst)
	dst = d.decodeSets(dst, p[16:length], &m)
	d.finish(&m, be.Uint32(p[8:]), m.data, m.data-m.options, len(dst)-n)
	return dst, m.err
}

// finish does the per-message accounting: counts, and the sequence check
// with units carried in this message.
func (d *Decoder) finish(m *msg, seq, units, flows uint32, records int) {
	d.c.packets[m.vi].Add(1)
	d.c.records[m.vi].Add(uint64(records))
	if m.unknown {
		// The message's record count is unknown: restart the check at the
		// next message rather than report loss that may not be.
		m.dom.seq.valid = false
		return
	}
	d.sequence(m.dom, m.vi, seq, units, flows)
}

func (d *Decoder) sequence(dom *domain, vi int, seq, units, flows uint32) {
	lost, late, reset := dom.seq.observe(seq, units, flows)
	switch {
	case lost > 0:
		d.c.lost[vi].Add(lost)
	case late:
		d.c.reordered[vi].Add(1)
	case reset:
		d.c.resets[vi].Add(1)
	}
}

// decodeSets walks the sets (v9 flowsets) of a message body.
func (d *Decoder) decodeSets(dst []flow.Record, b []byte, m *msg) []flow.Record {
	tmplID, optsID := uint16(0), uint16(1)
	if m.version == 10 {
		tmplID, optsID = 2, 3
	}
	for len(b) >= 4 {
		id, l := be.Uint16(b), int(be.Uint16(b[2:]))
		if l < 4 {
			if m.version == 9 && id == 0 && l == 0 {
				break // trailing zero padding some v9 exporters add
			}
			d.note(m, flow.ReasonBadSet, "set %d of length %d", id, l)
			m.unknown = true
			return dst
		}
		if l > len(b) {
			d.note(m, flow.ReasonTruncated, "set %d of length %d beyond the %d bytes left", id, l, len(b))
			m.unknown = true
			return dst
		}
		set := b[4:l]
		b = b[l:]
		switch {
		case id == tmplID:
			d.templateSet(set, m)
		case id == optsID && m.version == 9:
			d.optionsTemplateSetV9(set, m)
		case id == optsID:
			d.optionsTemplateSetIPFIX(set, m)
		case id >= 256:
			dst = d.dataSet(dst, id, set, m)
		default:
			d.note(m, flow.ReasonBadSet, "set ID %d", id)
		}
	}
	return dst
}

// templateSet reads a v9 template flowset or an IPFIX template set.
func (d *Decoder) templateSet(s []byte, m *msg) {
	fields := d.fields[:0]
	defer func() { d.fields = fields[:0] }()
	for len(s) >= 4 {
		id, n := be.Uint16(s), int(be.Uint16(s[2:]))
		s = s[4:]
		if n == 0 {
			switch {
			case m.version == 10:
				d.withdraw(m.dom, id, 2)
				continue
			case id == 0:
				return // padding
			}
		}
		if id < 256 || n == 0 {
			d.note(m, flow.ReasonBadTemplate, "template %d with %d fields", id, n)
			return
		}
		fields = fields[:0]
		for range n {
			f, rest, ok := readField(s, m.version == 10)
			if !ok {
				d.note(m, flow.ReasonTruncated, "template %d cut after %d fields", id, len(fields))
				return
			}
			if m.version == 9 && f.length == varLength {
				d.note(m, flow.ReasonBadTemplate, "v9 template %d with a variable-length field", id)
				return
			}
			fields, s = append(fields, f), rest
		}
		d.addTemplate(m, id, fields, 0, false)
	}
}

// readField reads one field specifier, with its enterprise number in IPFIX.
func readField(s []byte, ipfix bool) (field, []byte, bool) {
	if len(s) < 4 {
		return field{}, s, false
	}
	f := field{typ: be.Uint16(s), length: be.Uint16(s[2:])}
	s = s[4:]
	if ipfix && f.typ&0x8000 != 0 {
		if len(s) < 4 {
			return field{}, s, false
		}
		f.typ &^= 0x8000
		f.pen = be.Uint32(s)
		s = s[4:]
	}
	return f, s, true
}

// v9Scope marks a v9 options scope field: its type is a scope type
// (System, Interface, ...), not an element, so it is never read as one.
const v9Scope = 0xffffffff

// optionsTemplateSetV9 reads a v9 options template flowset (RFC 3954 6.1).
func (d *Decoder) optionsTemplateSetV9(s []byte, m *msg) {
	fields := d.fields[:0]
	defer func() { d.fields = fields[:0] }()
	for len(s) >= 6 {
		id, scopeLen, optLen := be.Uint16(s), int(be.Uint16(s[2:])), int(be.Uint16(s[4:]))
		if id == 0 && scopeLen == 0 && optLen == 0 {
			return // padding
		}
		if id < 256 || scopeLen%4 != 0 || optLen%4 != 0 || scopeLen+optLen == 0 {
			d.note(m, flow.ReasonBadTemplate, "options template %d with scope length %d, options length %d", id, scopeLen, optLen)
			return
		}
		s = s[6:]
		if scopeLen+optLen > len(s) {
			d.note(m, flow.ReasonTruncated, "options template %d cut", id)
			return
		}
		fields = fields[:0]
		for i := 0; i < scopeLen+optLen; i += 4 {
			f := field{typ: be.Uint16(s[i:]), length: be.Uint16(s[i+2:])}
			if i < scopeLen {
				f.pen = v9Scope
			}
			fields = append(fields, f)
		}
		s = s[scopeLen+optLen:]
		d.addTemplate(m, id, fields, scopeLen/4, true)
	}
}

// optionsTemplateSetIPFIX reads an IPFIX options template set (RFC 7011 3.4.2.2).
func (d *Decoder) optionsTemplateSetIPFIX(s []byte, m *msg) {
	fields := d.fields[:0]
	defer func() { d.fields = fields[:0] }()
	for len(s) >= 4 {
		id, n := be.Uint16(s), int(be.Uint16(s[2:]))
		if n == 0 {
			d.withdraw(m.dom, id, 3)
			s = s[4:]
			continue
		}
		if len(s) < 6 {
			d.note(m, flow.ReasonTruncated, "options template %d cut", id)
			return
		}
		scopes := int(be.Uint16(s[4:]))
		s = s[6:]
		if id < 256 || scopes == 0 || scopes > n {
			d.note(m, flow.ReasonBadTemplate, "options template %d with %d fields, %d scopes", id, n, scopes)
			return
		}
		fields = fields[:0]
		for range n {
			f, rest, ok := readField(s, true)
			if !ok {
				d.note(m, flow.ReasonTruncated, "options template %d cut after %d fields", id, len(fields))
				return
			}
			fields, s = append(fields, f), rest
		}
		d.addTemplate(m, id, fields, scopes, true)
	}
}

// addTemplate caches a template, or refreshes an identical one.
func (d *Decoder) addTemplate(m *msg, id uint16, fields []field, scopes int, options bool) {
	dom := m.dom
	if old := dom.templates[id]; old != nil && old.same(fields, scopes, options) {
		old.seen = m.now
		return
	}
	t := newTemplate(fields, scopes, options)
	if t == nil {
		d.note(m, flow.ReasonBadTemplate, "template %d describes no data", id)
		return
	}
	t.seen = m.now
	if dom.templates == nil {
		dom.templates = make(map[uint16]*template)
	}
	if _, ok := dom.templates[id]; !ok {
		if len(dom.templates) >= d.opts.MaxTemplates {
			d.note(m, flow.ReasonLimit, "more than %d templates in one domain", d.opts.MaxTemplates)
			return
		}
		d.c.templates.Add(1)
	}
	dom.templates[id] = t
}

// withdraw drops a template, or every template of the kind when id is the
// set ID itself (RFC 7011 8.1).
func (d *Decoder) withdraw(dom *domain, id uint16, setID uint16) {
	for tid, t := range dom.templates {
		if tid == id || (id == setID && t.options == (setID == 3)) {
			delete(dom.templates, tid)
			d.c.templates.Add(-1)
		}
	}
}
