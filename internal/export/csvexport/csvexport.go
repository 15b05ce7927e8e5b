// Package csvexport writes indicators as CSV (RFC 4180), one row per
// indicator, for spreadsheets and SIEMs. (It is not named csv, so as not
// to shadow encoding/csv.)
//
// The first row names the columns:
//
//	prefix,kind,confidence,feed,first_seen,last_seen,expires,port,proto,tags,comment
//
// prefix is always in CIDR form (an address is a /32 or /128); times are
// RFC 3339 in UTC, empty when unknown (first_seen, last_seen) or never
// (expires); port is empty when the indicator has none; tags are joined
// with ";". Rows are those of [export.Select]: an indicator the allowlist
// cuts appears once per remaining prefix, and the rows are sorted by
// [export.Compare]. Indicators are not merged: the same prefix listed by
// two feeds gives two rows. Options.Timeout is ignored.
//
// Cells that a spreadsheet would take for a formula (starting with "=",
// "+", "-", "@", a tab or a carriage return) are written with a leading
// "'", since feed names, tags and comments come from outside. The file
// reads back with the csvfeed reader given the header's column names.
package csvexport

import (
	"encoding/csv"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// Header lists the columns of every file.
var Header = []string{"prefix", "kind", "confidence", "feed", "first_seen", "last_seen", "expires", "port", "proto", "tags", "comment"}

// Exporter writes CSV files. The zero Exporter is ready to use.
type Exporter struct{}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of a CSV file with a header row.
func (Exporter) ContentType() string { return "text/csv; charset=utf-8; header=present" }

// Export writes the CSV file for inds; see the package documentation and
// [export.Exporter].
func (Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	sel, st, err := export.Select(inds, opts)
	if err != nil {
		return st, err
	}
	bw := export.NewWriter(w)
	cw := csv.NewWriter(bw)
	cw.Write(Header)
	row := make([]string, len(Header))
	for i := range sel {
		ind := &sel[i]
		port := ""
		if ind.Port != 0 {
			port = strconv.Itoa(int(ind.Port))
		}
		row[0] = ind.Subject.Prefix.String()
		row[1] = ind.Kind.String()
		row[2] = strconv.Itoa(int(ind.Confidence))
		row[3] = safe(ind.Source.Feed)
		row[4] = timeCell(ind.FirstSeen)
		row[5] = timeCell(ind.LastSeen)
		row[6] = timeCell(ind.Expires)
		row[7] = port
		row[8] = safe(ind.Proto)
		row[9] = safe(strings.Join(ind.Tags, ";"))
		row[10] = safe(ind.Comment)
		cw.Write(row)
		if ind.Subject.Prefix.Addr().Is4() {
			st.V4++
		} else {
			st.V6++
		}
	}
	st.Entries = len(sel)
	cw.Flush()
	st.Bytes, err = bw.Finish()
	if err == nil {
		err = cw.Error()
	}
	return st, err
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// safe defuses a cell that a spreadsheet would evaluate as a formula.
func safe(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
