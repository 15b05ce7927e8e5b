package iocreport

import (
	"fmt"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// A lineKind is what a line says about its records.
type lineKind struct {
	kind        proxywatch.Kind
	target      bool
	comment     string
	first, last time.Time
}

// lineKind works out the kind, comment and dates of a record line: the
// kind from the row text (tables), a label before the first record, the
// section, or the document's first sentence, in that order.
func (r *Reader) lineKind(toks []tok, first int, row bool) lineKind {
	lk := lineKind{kind: r.cur.kind, target: r.cur.target}
	if !r.sawHeader && lk.kind == proxywatch.KindUnknown {
		lk.kind = r.docKind
	}
	lk.comment = commentOf(toks)
	if first >= 0 && (toks[first].label != "" || first > 0 && toks[first-1].labelEnd) {
		var label []string
		for _, t := range toks[:first] {
			label = append(label, t.text)
		}
		label = append(label, toks[first].label)
		if k, tg := intel.Classify(strings.Join(label, " ")); k != proxywatch.KindUnknown || tg {
			lk.kind, lk.target = k, tg
		}
	}
	if row {
		if k, tg := intel.Classify(lk.comment); k != proxywatch.KindUnknown || tg {
			lk.kind, lk.target = k, tg
		}
	}
	if ds := scanDates(lk.comment); len(ds) > 0 {
		lk.first = ds[0]
		if len(ds) > 1 {
			lk.last = ds[1]
		}
	}
	lk.comment = intel.Truncate(lk.comment, 200)
	return lk
}

// items returns the records of a line's tokens.
func (r *Reader) items(toks []tok, lk lineKind) []item {
	var out []item
	for i := range toks {
		t := &toks[i]
		reason, refused := "", false
		switch t.class {
		case cText, cWeak:
			continue
		case cHash:
			reason = intel.ReasonHash
		case cEmail:
			reason = intel.ReasonOtherType
		case cFileName:
			reason = ReasonFileName
		case cBareName:
			reason = ReasonBareName
		case cBadAddr:
			reason, refused = intel.ReasonBadAddress, true
		case cBadPort:
			reason, refused = intel.ReasonBadPort, true
		case cAddr, cDomain, cURL:
			if lk.target {
				reason = ReasonTarget
			}
		}
		switch {
		case refused:
			err := fmt.Errorf("%q is not an address", t.text)
			if t.class == cBadPort {
				err = fmt.Errorf("%q: port outside 1-65535", t.text)
			}
			out = append(out, item{err: intel.NewParseError(r.feed, r.line, reason, t.raw, err)})
			continue
		case reason != "":
			out = append(out, item{err: intel.NewExclusion(r.feed, r.line, reason, t.raw)})
			continue
		}
		comment := lk.comment
		var tags []string
		if t.class == cURL {
			tags = []string{TagURL}
			comment = intel.Truncate(joinNonEmpty(" ", trimPunct(t.raw), lk.comment), 200)
		}
		for _, s := range t.subjects() {
			out = append(out, item{ind: proxywatch.Indicator{
				Subject:   s,
				Kind:      lk.kind,
				Source:    proxywatch.Source{Feed: r.feed, Section: r.cur.name, Line: r.line},
				Tags:      append([]string(nil), tags...),
				Port:      t.port,
				Proto:     t.proto,
				Comment:   comment,
				FirstSeen: lk.first,
				LastSeen:  lk.last,
			}})
		}
	}
	return out
}

// annotate applies an annotation line to the pending records.
func (r *Reader) annotate(s string) {
	var first, last time.Time
	kind := proxywatch.KindUnknown
	for _, part := range strings.Split(s, ";") {
		label, value, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(label)) {
		case "first seen", "first", "first observed":
			if ds := scanDates(value); len(ds) > 0 {
				first = ds[0]
			}
		case "last seen", "last", "last observed":
			if ds := scanDates(value); len(ds) > 0 {
				last = ds[0]
			}
		case "description", "characterization", "type", "role":
			if k, tg := intel.Classify(value); !tg {
				kind = k
			}
		}
	}
	note := strings.Join(strings.Fields(s), " ")
	for i := range r.pending {
		if r.pending[i].err != nil {
			continue
		}
		ind := &r.pending[i].ind
		if !first.IsZero() {
			ind.FirstSeen = first
		}
		if !last.IsZero() {
			ind.LastSeen = last
		}
		if kind != proxywatch.KindUnknown {
			ind.Kind = kind
		}
		ind.Comment = intel.Truncate(joinNonEmpty("; ", ind.Comment, note), 200)
	}
}
