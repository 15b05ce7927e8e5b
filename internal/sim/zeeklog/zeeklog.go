// Package zeeklog writes connection records as Zeek's conn.log, in the
// tab-separated format with its #-headers and in the JSON-lines format,
// byte for byte as Zeek 4 to 7 write them with Site::local_nets set.
//
// It writes only; readers of Zeek logs live with the flow decoders.
package zeeklog

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// Fields are the conn.log columns, in Zeek's order.
var Fields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
	"service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
	"missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}

// Types are the Zeek types of Fields.
var Types = []string{"time", "string", "addr", "port", "addr", "port", "enum",
	"string", "interval", "count", "count", "string", "bool", "bool",
	"count", "string", "count", "count", "count", "count", "set[string]"}

// A UID is a connection's unique identifier, written as "C" followed by 17
// base-62 digits taken from Hi (10 digits) and Lo (7 digits), which looks
// like the identifiers Zeek writes.
type UID struct{ Hi, Lo uint64 }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// AppendTo appends the textual form of u to b.
func (u UID) AppendTo(b []byte) []byte {
	var d [18]byte
	d[0] = 'C'
	hi, lo := u.Hi, u.Lo
	for i := 1; i <= 10; i++ {
		d[i] = base62[hi%62]
		hi /= 62
	}
	for i := 11; i <= 17; i++ {
		d[i] = base62[lo%62]
		lo /= 62
	}
	return append(b, d[:]...)
}

// String returns the textual form of u.
func (u UID) String() string { return string(u.AppendTo(nil)) }

// A Conn is one conn.log record. Times are microseconds since the Unix
// epoch. Zeek leaves duration, orig_bytes and resp_bytes unset for
// connections of zero duration (a single packet); so does the writer when
// Duration is 0.
type Conn struct {
	TS          int64 // first packet
	UID         UID
	Orig        netip.Addr
	OrigPort    uint16
	Resp        netip.Addr
	RespPort    uint16
	Proto       uint8  // 6 tcp, 17 udp, 1 or 58 icmp
	Service     string // "" when no analyser confirmed one
	Duration    int64  // microseconds
	OrigBytes   uint64 // payload bytes
	RespBytes   uint64
	State       string // conn_state: SF, S0, REJ, ...
	LocalOrig   bool
	LocalResp   bool
	MissedBytes uint64
	History     string
	OrigPkts    uint64
	OrigIPBytes uint64
	RespPkts    uint64
	RespIPBytes uint64
}

// ProtoName returns Zeek's name for an IP protocol number.
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1, 58:
		return "icmp"
	}
	return "unknown_transport"
}

// TimeFormat is the layout of the #open and #close headers.
const TimeFormat = "2006-01-02-15-04-05"

// A Writer writes conn records in one of the two formats. It buffers; call
// Close to write the trailer and flush. A Writer is not safe for
// concurrent use.
type Writer struct {
	w    *bufio.Writer
	json bool
	buf  []byte
	n    int64
}

// NewTSV returns a writer of the tab-separated format and writes its
// header, with open as the #open time.
func NewTSV(w io.Writer, open time.Time) (*Writer, error) {
	zw := &Writer{w: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 512)}
	b := zw.buf[:0]
	b = append(b, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t"...)
	b = open.UTC().AppendFormat(b, TimeFormat)
	b = append(b, "\n#fields"...)
	for _, f := range Fields {
		b = append(b, '\t')
		b = append(b, f...)
	}
	b = append(b, "\n#types"...)
	for _, t := range Types {
		b = append(b, '\t')
		b = append(b, t...)
	}
	b = append(b, '\n')
	_, err := zw.w.Write(b)
	return zw, err
}

// NewJSON returns a writer of the JSON-lines format (Zeek's LogAscii::use_json).
func NewJSON(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10), json: true, buf: make([]byte, 0, 512)}
}

// Count returns the number of records written.
func (zw *Writer) Count() int64 { return zw.n }

// Write writes one record.
func (zw *Writer) Write(c *Conn) error {
	var b []byte
	if zw.json {
		b = appendJSON(zw.buf[:0], c)
	} else {
		b = appendTSV(zw.buf[:0], c)
	}
	zw.buf = b
	zw.n++
	_, err := zw.w.Write(b)
	return err
}

// Close writes the TSV trailer with close as the #close time, and flushes.
// It does not close the underlying writer.
func (zw *Writer) Close(close time.Time) error {
	if !zw.json {
		b := append(zw.buf[:0], "#close\t"...)
		b = close.UTC().AppendFormat(b, TimeFormat)
		b = append(b, '\n')
		if _, err := zw.w.Write(b); err != nil {
			return err
		}
	}
	return zw.w.Flush()
}

// appendTime appends µs as seconds with six decimals.
func appendTime(b []byte, us int64) []byte {
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	b = strconv.AppendInt(b, us/1e6, 10)
	frac := us % 1e6
	b = append(b, '.')
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, d[:]...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 'T')
	}
	return append(b, 'F')
}

func appendTSV(b []byte, c *Conn) []byte {
	b = appendTime(b, c.TS)
	b = append(b, '\t')
	b = c.UID.AppendTo(b)
	b = append(b, '\t')
	b = c.Orig.AppendTo(b)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(c.OrigPort), 10)
	b = append(b, '\t')
	b = c.Resp.AppendTo(b)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(c.RespPort), 10)
	b = append(b, '\t')
	b = append(b, ProtoName(c.Proto)...)
	b = append(b, '\t')
	if c.Service == "" {
		b = append(b, '-')
	} else {
		b = append(b, c.Service...)
	}
	b = append(b, '\t')
	if c.Duration > 0 {
		b = appendTime(b, c.Duration)
		b = append(b, '\t')
		b = strconv.AppendUint(b, c.OrigBytes, 10)
		b = append(b, '\t')
		b = strconv.AppendUint(b, c.RespBytes, 10)
	} else {
		b = append(b, "-\t-\t-"...)
	}
	b = append(b, '\t')
	b = append(b, c.State...)
	b = append(b, '\t')
	b = appendBool(b, c.LocalOrig)
	b = append(b, '\t')
	b = appendBool(b, c.LocalResp)
	b = append(b, '\t')
	b = strconv.AppendUint(b, c.MissedBytes, 10)
	b = append(b, '\t')
	if c.History == "" {
		b = append(b, '-')
	} else {
		b = append(b, c.History...)
	}
	b = append(b, '\t')
	b = strconv.AppendUint(b, c.OrigPkts, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, c.OrigIPBytes, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, c.RespPkts, 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, c.RespIPBytes, 10)
	b = append(b, "\t-\n"...)
	return b
}

// appendSeconds appends µs as a JSON number of seconds, shortest form.
func appendSeconds(b []byte, us int64) []byte {
	return strconv.AppendFloat(b, float64(us)/1e6, 'f', -1, 64)
}

func appendJSON(b []byte, c *Conn) []byte {
	b = append(b, `{"ts":`...)
	b = appendSeconds(b, c.TS)
	b = append(b, `,"uid":"`...)
	b = c.UID.AppendTo(b)
	b = append(b, `","id.orig_h":"`...)
	b = c.Orig.AppendTo(b)
	b = append(b, `","id.orig_p":`...)
	b = strconv.AppendUint(b, uint64(c.OrigPort), 10)
	b = append(b, `,"id.resp_h":"`...)
	b = c.Resp.AppendTo(b)
	b = append(b, `","id.resp_p":`...)
	b = strconv.AppendUint(b, uint64(c.RespPort), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, ProtoName(c.Proto)...)
	b = append(b, '"')
	if c.Service != "" {
		b = append(b, `,"service":"`...)
		b = append(b, c.Service...)
		b = append(b, '"')
	}
	if c.Duration > 0 {
		b = append(b, `,"duration":`...)
		b = appendSeconds(b, c.Duration)
		b = append(b, `,"orig_bytes":`...)
		b = strconv.AppendUint(b, c.OrigBytes, 10)
		b = append(b, `,"resp_bytes":`...)
		b = strconv.AppendUint(b, c.RespBytes, 10)
	}
	b = append(b, `,"conn_state":"`...)
	b = append(b, c.State...)
	b = append(b, `","local_orig":`...)
	b = strconv.AppendBool(b, c.LocalOrig)
	b = append(b, `,"local_resp":`...)
	b = strconv.AppendBool(b, c.LocalResp)
	b = append(b, `,"missed_bytes":`...)
	b = strconv.AppendUint(b, c.MissedBytes, 10)
	if c.History != "" {
		b = append(b, `,"history":"`...)
		b = append(b, c.History...)
		b = append(b, '"')
	}
	b = append(b, `,"orig_pkts":`...)
	b = strconv.AppendUint(b, c.OrigPkts, 10)
	b = append(b, `,"orig_ip_bytes":`...)
	b = strconv.AppendUint(b, c.OrigIPBytes, 10)
	b = append(b, `,"resp_pkts":`...)
	b = strconv.AppendUint(b, c.RespPkts, 10)
	b = append(b, `,"resp_ip_bytes":`...)
	b = strconv.AppendUint(b, c.RespIPBytes, 10)
	b = append(b, "}\n"...)
	return b
}
