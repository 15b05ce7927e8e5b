// Package logparse turns login log lines into [proxywatch.Event] values:
// sshd messages in syslog (RFC 3164 with the year inferred, RFC 5424, the
// ISO 8601 prefix of current rsyslog) and journald JSON; web access logs
// in the nginx and Apache combined and common formats, with a rule set
// saying which requests are login failures or successes; and generic JSON
// events with configurable field paths.
//
// A [Parser] reads one line at a time and keeps no reference to it. Parsers
// are built for the hot path: no allocation per line once their small
// intern tables have warmed up, and a few hundred nanoseconds per line.
// Reading files, following them through rotation and checkpointing is the
// tail package's job; windows and detection belong to the detectors.
package logparse

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A Parser turns log lines of one format into events.
//
// Parse reads one line, without its terminator; seq is the line's sequence
// number in its source (its line number in a file), recorded in the event
// and in errors. It returns how many times the line reports its event: 0
// when the line carries no event (another program's line, a message that is
// not a login event, a line held until its connection's address is known),
// 1 for most event lines, and N for a syslog "message repeated N times"
// line. When n > 0, Parse has overwritten *ev entirely. A malformed line
// returns 0 and a *[ParseError]; parsing may continue with the next line.
// Parse never panics and keeps no reference to line.
//
// Parsers hold state (the sshd connection table, year inference, intern
// tables) and are not safe for concurrent use: use one per source.
type Parser interface {
	Parse(line []byte, seq uint64, ev *proxywatch.Event) (n int, err error)
	// Stats returns the counts of lines parsed so far.
	Stats() Stats
}

// Format names, as used in configuration.
const (
	FormatSSHD   = "sshd"
	FormatAccess = "access"
	FormatJSON   = "json"
)

// Config selects and configures a parser. Only the section of the chosen
// format is used.
type Config struct {
	Format string       `yaml:"format"` // "sshd", "access" or "json"
	SSHD   SSHDConfig   `yaml:"sshd"`
	Access AccessConfig `yaml:"access"`
	JSON   JSONConfig   `yaml:"json"`
}

// DefaultConfig returns the configuration of an sshd parser with every
// format's defaults filled in.
func DefaultConfig() Config {
	return Config{
		Format: FormatSSHD,
		SSHD:   DefaultSSHDConfig(),
		Access: DefaultAccessConfig(),
		JSON:   DefaultJSONConfig(),
	}
}

// Validate reports every problem in c's chosen format.
func (c Config) Validate() error {
	switch c.Format {
	case FormatSSHD:
		return c.SSHD.Validate()
	case FormatAccess:
		return c.Access.Validate()
	case FormatJSON:
		return c.JSON.Validate()
	}
	return fmt.Errorf("format %q: must be sshd, access or json: %w", c.Format, proxywatch.ErrInvalid)
}

// New returns a parser of c.Format for the source named source (recorded
// in each event's Source field).
func New(c Config, source string) (Parser, error) {
	switch c.Format {
	case FormatSSHD:
		return NewSSHD(c.SSHD, source)
	case FormatAccess:
		return NewAccess(c.Access, source)
	case FormatJSON:
		return NewJSON(c.JSON, source)
	}
	return nil, c.Validate()
}

// A Reason says why a line produced no event. Reasons are a small fixed
// set, usable as metric labels.
type Reason uint8

// The reasons. Those marked "error" come with a *ParseError; the others are
// lines that are well formed but carry no event.
const (
	ReasonNone         Reason = iota // the line produced an event
	ReasonOtherProgram               // a syslog line of another program
	ReasonNoEvent                    // a recognised message that is not a login event
	ReasonUnknown                    // a message of the right program that no rule recognises
	ReasonNoAddress                  // an event whose client is a host name or missing
	ReasonPending                    // held until a later line of its connection gives the address
	ReasonNoRule                     // an access-log request that matches no login rule
	ReasonUnmapped                   // a JSON event whose outcome maps to no event type
	ReasonSyntax                     // error: the line is not in the format's syntax
	ReasonBadTime                    // error: a timestamp that does not parse
	ReasonBadAddress                 // error: a client address that does not parse
	NumReasons                       // the number of reasons
)

var reasonNames = [NumReasons]string{
	"none", "other-program", "no-event", "unknown-message", "no-address", "pending",
	"no-rule", "unmapped-outcome", "syntax", "bad-time", "bad-address",
}

// String returns the reason's name, such as "unknown-message".
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Stats counts what a parser did with its lines. The zero Stats is empty.
type Stats struct {
	Lines    uint64             // lines given to Parse
	Events   uint64             // lines that produced an event
	Repeats  uint64             // extra events reported by "message repeated N times" lines
	ByReason [NumReasons]uint64 // lines without an event, by reason (ByReason[ReasonNone] stays 0)
}

// Skipped returns the number of lines that produced no event.
func (s Stats) Skipped() uint64 {
	var n uint64
	for _, v := range s.ByReason {
		n += v
	}
	return n
}

// A ParseError reports a malformed line.
type ParseError struct {
	Source string // the source name given to the parser
	Line   uint64 // the line's sequence number, as given to Parse
	Reason Reason // ReasonSyntax, ReasonBadTime or ReasonBadAddress
	Text   string // the line, truncated to 120 bytes
	Err    error  // what was wrong
}

func (e *ParseError) Error() string {
	msg := e.Source + ":" + strconv.FormatUint(e.Line, 10) + ": " + e.Reason.String()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + ": " + strconv.Quote(e.Text)
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Errors used as the Err of a ParseError.
var (
	errSyntax  = errors.New("not in the expected syntax")
	errTime    = errors.New("timestamp does not parse")
	errAddress = errors.New("client address does not parse")
	errJSON    = errors.New("not a JSON object")
)

// counter is the bookkeeping every parser shares.
type counter struct {
	source string
	stats  Stats
}

// skip counts a line without an event.
func (c *counter) skip(r Reason) (int, error) {
	c.stats.ByReason[r]++
	return 0, nil
}

// fail counts a malformed line and returns its error.
func (c *counter) fail(r Reason, seq uint64, line []byte, err error) (int, error) {
	c.stats.ByReason[r]++
	return 0, &ParseError{Source: c.source, Line: seq, Reason: r, Text: truncate(line, 120), Err: err}
}

// hit counts an event line reported n times.
func (c *counter) hit(n int) (int, error) {
	c.stats.Events++
	c.stats.Repeats += uint64(n - 1)
	return n, nil
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// loadLocation returns the named time zone; "" and "Local" are the
// machine's zone.
func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "Local":
		return time.Local, nil
	case "UTC":
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	return loc, nil
}
