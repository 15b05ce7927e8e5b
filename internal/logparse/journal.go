package logparse

import "time"

// The journald fields the sshd parser reads from `journalctl -o json`.
var journalPaths = []string{
	"MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_PID", "__REALTIME_TIMESTAMP",
}

const (
	jMessage = iota
	jHostname
	jIdentifier
	jComm
	jPID
	jSyslogPID
	jRealtime
)

// journalFields reads journald JSON entries into syslog headers. Escaped
// or binary fields are decoded into buffers reused from line to line.
type journalFields struct {
	sc   jsonScanner
	vals [7]jsonValue
	msg  []byte
	host []byte
	prog []byte
	num  []byte
}

// parse fills h from one journald entry: MESSAGE (text, or journald's
// array of bytes), _HOSTNAME, SYSLOG_IDENTIFIER (else _COMM), _PID (else
// SYSLOG_PID) and __REALTIME_TIMESTAMP (microseconds since the epoch).
func (j *journalFields) parse(line []byte, h *header) Reason {
	*h = header{}
	j.sc.paths = journalPaths
	if !j.sc.scan(line, j.vals[:]) {
		return ReasonSyntax
	}
	v := j.vals[jMessage]
	var ok bool
	switch v.kind {
	case jsonString:
		h.msg, ok = v.text(&j.msg)
	case jsonArray:
		j.msg, ok = appendByteArray(j.msg[:0], v.raw)
		h.msg = j.msg
	}
	if !ok {
		return ReasonSyntax
	}
	h.msg = trimRight(h.msg)
	h.host, _ = j.vals[jHostname].text(&j.host)
	prog := j.vals[jIdentifier]
	if prog.kind == jsonAbsent {
		prog = j.vals[jComm]
	}
	h.prog, _ = prog.text(&j.prog)
	pid := j.vals[jPID]
	if pid.kind == jsonAbsent {
		pid = j.vals[jSyslogPID]
	}
	if b, ok := pid.text(&j.num); ok {
		if n, ok := parseUint(b); ok && n <= 1<<32-1 {
			h.pid, h.hasPID = uint32(n), true
		}
	}
	ts, ok := j.vals[jRealtime].text(&j.num)
	if !ok {
		return ReasonBadTime
	}
	us, ok := parseUint(ts)
	if !ok || us > 1<<62 {
		return ReasonBadTime
	}
	h.time = time.UnixMicro(int64(us)).UTC()
	return ReasonNone
}
