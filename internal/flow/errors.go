package flow

import (
	"fmt"
	"strconv"
)

// Reasons for skipping input, shared by the decoders. They label the
// proxywatch_flow_*_errors_total metrics, so the set stays small and fixed.
const (
	ReasonShort       = "short"        // shorter than the format's header
	ReasonVersion     = "version"      // an export version (or file format) not understood
	ReasonTruncated   = "truncated"    // a length field points past the end of the data
	ReasonBadSet      = "bad-set"      // a NetFlow/IPFIX set with an invalid ID or length
	ReasonBadTemplate = "bad-template" // a template that cannot describe a record
	ReasonNoTemplate  = "no-template"  // data for a template not (or no longer) known
	ReasonLimit       = "limit"        // a configured bound (exporters, templates) was reached
	ReasonSyntax      = "syntax"       // a text line not in the format's syntax
	ReasonBadValue    = "bad-value"    // a field (address, port, number, time) that does not parse
	ReasonNoHeader    = "no-header"    // a data line before any header that names the columns
	ReasonNotUDP      = "not-udp"      // a captured frame that is not an IPv4/IPv6 UDP datagram
)

// A ParseError reports input that a reader skipped: a malformed line, record
// or packet. Readers return it and carry on with the next input.
type ParseError struct {
	Name   string // the file or source, when known
	Line   int    // 1-based line, packet or frame number; 0 when unknown
	Reason string // one of the Reason constants
	Err    error  // what was wrong
}

// Error formats the error as "name:line: reason: err".
func (e *ParseError) Error() string {
	s := e.Name
	if e.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(e.Line)
	}
	if s != "" {
		s += ": "
	}
	if e.Err == nil {
		return s + e.Reason
	}
	return fmt.Sprintf("%s%s: %v", s, e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }
