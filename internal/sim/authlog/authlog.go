// Package authlog writes login logs as the services write them: sshd
// messages in Debian's traditional syslog format (RFC 3164 style, as
// rsyslog's RSYSLOG_TraditionalFileFormat), a web application's login
// events as JSON lines, and nginx's combined access log.
//
// The message builders produce OpenSSH 9 text with PAM enabled, as Debian
// 12 logs it. The package writes only; parsers live in logparse.
package authlog

import (
	"bufio"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// SyslogLayout is the timestamp layout of the traditional syslog format.
const SyslogLayout = "Jan _2 15:04:05"

// A Syslog writes "Mmm dd hh:mm:ss host prog[pid]: msg" lines. It buffers;
// call Flush at the end. It is not safe for concurrent use.
type Syslog struct {
	w    *bufio.Writer
	host string
	loc  *time.Location
	buf  []byte
	n    int64
}

// NewSyslog returns a writer of lines from host, with timestamps in loc.
func NewSyslog(w io.Writer, host string, loc *time.Location) *Syslog {
	return &Syslog{w: bufio.NewWriterSize(w, 64<<10), host: host, loc: loc}
}

// Write writes one line at t (microseconds since the epoch).
func (s *Syslog) Write(t int64, prog string, pid int, msg string) error {
	b := time.UnixMicro(t).In(s.loc).AppendFormat(s.buf[:0], SyslogLayout)
	b = append(b, ' ')
	b = append(b, s.host...)
	b = append(b, ' ')
	b = append(b, prog...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, "]: "...)
	b = append(b, msg...)
	b = append(b, '\n')
	s.buf = b
	s.n++
	_, err := s.w.Write(b)
	return err
}

// Lines returns the number of lines written.
func (s *Syslog) Lines() int64 { return s.n }

// Flush writes buffered lines to the underlying writer.
func (s *Syslog) Flush() error { return s.w.Flush() }

// The login outcomes of web events.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// A WebEvent is one login attempt at the web application.
type WebEvent struct {
	Time      time.Time  `json:"time"`
	Service   string     `json:"service"`
	Host      string     `json:"host"`
	Event     string     `json:"event"` // "login"
	User      string     `json:"user"`
	SrcIP     netip.Addr `json:"src_ip"`
	SrcPort   uint16     `json:"src_port"`
	Outcome   string     `json:"outcome"`
	Reason    string     `json:"reason,omitempty"` // "bad_password", "unknown_user"
	Method    string     `json:"method"`           // "form"
	UserAgent string     `json:"user_agent"`
}

// A JSONLines writes one JSON value per line.
type JSONLines struct {
	w   *bufio.Writer
	enc *json.Encoder
	n   int64
}

// NewJSONLines returns a JSON-lines writer to w.
func NewJSONLines(w io.Writer) *JSONLines {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONLines{w: bw, enc: enc}
}

// Write writes v as one line.
func (j *JSONLines) Write(v any) error {
	j.n++
	return j.enc.Encode(v)
}

// Lines returns the number of lines written.
func (j *JSONLines) Lines() int64 { return j.n }

// Flush writes buffered lines to the underlying writer.
func (j *JSONLines) Flush() error { return j.w.Flush() }

// An AccessEntry is one request in nginx's combined log format.
type AccessEntry struct {
	Time      int64 // microseconds since the epoch
	Addr      netip.Addr
	Method    string
	Path      string
	Status    int
	Size      int
	Referer   string // "" is written as "-"
	UserAgent string
}

// AccessLayout is the layout of nginx's $time_local.
const AccessLayout = "02/Jan/2006:15:04:05 -0700"

// An Access writes nginx combined-format lines.
type Access struct {
	w   *bufio.Writer
	loc *time.Location
	buf []byte
	n   int64
}

// NewAccess returns a writer of access-log lines with times in loc.
func NewAccess(w io.Writer, loc *time.Location) *Access {
	return &Access{w: bufio.NewWriterSize(w, 64<<10), loc: loc}
}

// Write writes one line.
func (a *Access) Write(e *AccessEntry) error {
	b := e.Addr.AppendTo(a.buf[:0])
	b = append(b, " - - ["...)
	b = time.UnixMicro(e.Time).In(a.loc).AppendFormat(b, AccessLayout)
	b = append(b, `] "`...)
	b = append(b, e.Method...)
	b = append(b, ' ')
	b = append(b, e.Path...)
	b = append(b, ` HTTP/1.1" `...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.Size), 10)
	b = append(b, ` "`...)
	if e.Referer == "" {
		b = append(b, '-')
	} else {
		b = append(b, e.Referer...)
	}
	b = append(b, `" "`...)
	b = append(b, e.UserAgent...)
	b = append(b, "\"\n"...)
	a.buf = b
	a.n++
	_, err := a.w.Write(b)
	return err
}

// Lines returns the number of lines written.
func (a *Access) Lines() int64 { return a.n }

// Flush writes buffered lines to the underlying writer.
func (a *Access) Flush() error { return a.w.Flush() }
