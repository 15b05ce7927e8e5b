package csvfeed

import (
	"fmt"
	"io"
	"strings"

	"github.com/proxywatch/proxywatch/internal/intel"
)

// quote states of a CSV record as encoding/csv reads it with LazyQuotes.
const (
	fieldStart = iota // at the start of a field
	unquoted          // inside an unquoted field
	quoted            // inside a quoted field
	quoteSeen         // just after a quote inside a quoted field
)

// scanQuotes returns the quote state after line, starting from state.
func scanQuotes(line string, comma rune, state int) int {
	for _, c := range line {
		switch state {
		case fieldStart:
			switch c {
			case '"':
				state = quoted
			case comma:
			default:
				state = unquoted
			}
		case unquoted:
			if c == comma {
				state = fieldStart
			}
		case quoted:
			if c == '"' {
				state = quoteSeen
			}
		case quoteSeen:
			switch c {
			case comma:
				state = fieldStart
			default: // an escaped quote, or a lazy quote inside the field
				state = quoted
			}
		}
	}
	return state
}

// record returns the text of the next record, ending in a newline, and
// the line it starts on. text is empty for a blank or comment line. A
// record or line beyond intel.MaxLine is returned as perr; err is final.
func (r *reader) record() (text string, line int, perr *intel.ParseError, err error) {
	r.rec.Reset()
	state := fieldStart
	for {
		s, long, err := r.lr.Next()
		if err != nil {
			if r.rec.Len() > 0 && err == io.EOF {
				// An unterminated quoted field at the end: the record ends here.
				r.rec.WriteByte('\n')
				return r.rec.String(), line, nil, nil
			}
			return "", 0, nil, err
		}
		if r.rec.Len() == 0 {
			line = r.lr.Line()
			if long {
				return "", line, r.tooLong(line, s), nil
			}
			t := strings.TrimLeft(s, " \t")
			if t == "" || r.commentPrefix != "" && strings.HasPrefix(t, r.commentPrefix) {
				return "", line, nil, nil
			}
		} else if long || r.rec.Len()+len(s) > intel.MaxLine {
			// Skip the rest of an overlong record: its remaining lines are
			// read as new records, and refused if they do not parse.
			return "", line, r.tooLong(line, r.rec.String()), nil
		}
		r.rec.WriteString(s)
		r.rec.WriteByte('\n')
		state = scanQuotes(s, r.comma, state)
		if state != quoted {
			return r.rec.String(), line, nil, nil
		}
		// The line break is inside a quoted field: the record goes on.
	}
}

func (r *reader) tooLong(line int, text string) *intel.ParseError {
	return intel.NewParseError(r.feed, line, intel.ReasonTooLong, text,
		fmt.Errorf("record longer than %d bytes", intel.MaxLine))
}
