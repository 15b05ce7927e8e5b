package iocreport

import (
	"encoding/csv"
	"regexp"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// A table is a header row naming columns, as in
//
//	IP address	Characterization	First Seen	Last Seen
//	C2 IP,Targeted IP,Port,First seen (UTC),Last seen (UTC),...
//
// Columns are separated by commas (quoted as in CSV) or, when the header
// has tabs or runs of two or more spaces, by those. A header counts as
// one when it has at least two columns, all short, and one of them names
// indicators (see roleOf). Rows with as many columns as the header are
// read by column: indicators only from indicator columns, dates from date
// columns, the kind from a "Characterization", "Description" or "Type"
// cell, or else from the indicator column's name ("C2 IP"); indicators in
// a "Targeted IP" column are excluded as targets. Rows with another
// number of columns ("Dec 11, 2022" splits a comma row) are read like
// any line, taking the dates in order (first seen, then last seen) and
// the kind from the row's text. A line with nothing to read ends the
// table.
type table struct {
	comma bool
	roles []int
	names []string
}

// Column roles.
const (
	colOther = iota
	colIOC
	colTarget
	colFirst
	colLast
	colTimeframe
	colKind
)

var spaceColumns = regexp.MustCompile(`\t\s*| {2,}`)

// splitColumns splits a line into trimmed columns.
func splitColumns(line string, comma bool) []string {
	var cols []string
	if comma {
		r := csv.NewReader(strings.NewReader(line))
		r.LazyQuotes, r.FieldsPerRecord, r.TrimLeadingSpace = true, -1, true
		rec, err := r.Read()
		if err != nil {
			return nil
		}
		cols = rec
	} else {
		cols = spaceColumns.Split(line, -1)
	}
	for i := range cols {
		cols[i] = strings.TrimSpace(cols[i])
	}
	return cols
}

// parseTableHeader returns the table line heads, or nil.
func parseTableHeader(line string) *table {
	line = strings.TrimSpace(line)
	comma := !spaceColumns.MatchString(line)
	if comma && !strings.Contains(line, ",") {
		return nil
	}
	names := splitColumns(line, comma)
	if len(names) < 2 {
		return nil
	}
	t := &table{comma: comma, names: names}
	ioc := false
	for _, n := range names {
		if len(strings.Fields(n)) > 5 {
			return nil
		}
		role := roleOf(n)
		ioc = ioc || role == colIOC
		t.roles = append(t.roles, role)
	}
	if !ioc {
		return nil
	}
	return t
}

// roleOf says what a column named name holds.
func roleOf(name string) int {
	n := strings.ToLower(name)
	if i := strings.IndexByte(n, '('); i > 0 {
		n = n[:i] // "first seen (utc)"
	}
	n = strings.Join(strings.Fields(n), " ")
	switch {
	case strings.Contains(n, "target") || strings.Contains(n, "victim"):
		if iocName(n) {
			return colTarget
		}
		return colOther
	case iocName(n):
		return colIOC
	case strings.HasPrefix(n, "first seen") || n == "first" || n == "start":
		return colFirst
	case strings.HasPrefix(n, "last seen") || n == "last" || n == "end":
		return colLast
	case strings.Contains(n, "timeframe") || strings.Contains(n, "time frame") || n == "date" || n == "dates" || n == "seen":
		return colTimeframe
	case n == "characterization" || n == "characterisation" || n == "description" || n == "type" || n == "role" || n == "purpose":
		return colKind
	}
	return colOther
}

// iocName reports whether a column name says it holds indicators.
func iocName(n string) bool {
	switch n {
	case "ioc", "iocs", "indicator", "indicators", "ip", "ips", "ip address", "ip addresses",
		"address", "addresses", "domain", "domains", "hostname", "host", "url", "urls",
		"c2", "c2s", "server", "ip:port":
		return true
	}
	for _, suffix := range []string{" ip", " ips", " ip address", " address", " domain", " url", " host", " indicator"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

// tableRow reads a line as a row of the current table. It returns false
// when the line has nothing a row would have.
func (r *Reader) tableRow(s string) bool {
	cols := splitColumns(s, r.table.comma)
	if len(cols) == len(r.table.roles) {
		return r.positionalRow(cols)
	}
	toks := tokenize(s)
	first := firstRecord(toks)
	for i := range toks {
		if toks[i].class == cWeak {
			toks[i].class = cBareName
			if i == first {
				toks[i].class = cDomain
			}
		}
	}
	if !hasRecord(toks) {
		return false
	}
	r.endBlock()
	r.ready = append(r.ready, r.items(toks, r.lineKind(toks, first, true))...)
	r.sawRecord = true
	return true
}

// positionalRow reads a row column by column.
func (r *Reader) positionalRow(cols []string) bool {
	lk := lineKind{kind: r.cur.kind, target: r.cur.target}
	if !r.sawHeader && lk.kind == proxywatch.KindUnknown {
		lk.kind = r.docKind
	}
	var toks, targets []tok
	var notes []string
	var kindText, iocColumn string
	for i, c := range cols {
		if c == "" {
			continue
		}
		switch r.table.roles[i] {
		case colIOC, colTarget:
			ts := tokenize(c)
			for j := range ts {
				switch ts[j].class {
				case cWeak, cBareName:
					ts[j].class = cDomain // the column says it is an indicator
				case cText:
					notes = append(notes, ts[j].raw)
				}
			}
			if r.table.roles[i] == colTarget {
				targets = append(targets, ts...)
				continue
			}
			if hasRecord(ts) && iocColumn == "" {
				iocColumn = r.table.names[i]
			}
			toks = append(toks, ts...)
			continue
		case colFirst:
			if ds := scanDates(c); len(ds) > 0 {
				lk.first = ds[0]
			}
		case colLast:
			if ds := scanDates(c); len(ds) > 0 {
				lk.last = ds[0]
			}
		case colTimeframe:
			if ds := scanDates(c); len(ds) > 0 {
				lk.first, lk.last = ds[0], ds[len(ds)-1]
			}
		case colKind:
			kindText = c
		}
		notes = append(notes, c)
	}
	if !hasRecord(toks) && !hasRecord(targets) {
		return false
	}
	if k, tg := intel.Classify(kindText); k != proxywatch.KindUnknown || tg {
		lk.kind, lk.target = k, tg
	} else if k, tg := intel.Classify(iocColumn); k != proxywatch.KindUnknown || tg {
		lk.kind, lk.target = k, tg
	}
	lk.comment = intel.Truncate(strings.Join(notes, "; "), 200)
	r.endBlock()
	r.ready = append(r.ready, r.items(toks, lk)...)
	lk.target = true
	r.ready = append(r.ready, r.items(targets, lk)...)
	r.sawRecord = true
	return true
}
