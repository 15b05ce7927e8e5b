package flow

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// ProtoName returns the protocol's lower-case name as Zeek writes it
// ("tcp", "udp", "icmp", "icmp6"), or its number in decimal.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmp6"
	}
	return strconv.Itoa(int(p))
}

// TCPFlagsString formats TCP flags as nfdump does, one column per flag
// from CWR to FIN with a dot for an unset flag: "...A..SF".
func TCPFlagsString(f uint8) string {
	const names = "CEUAPRSF"
	var b [8]byte
	for i := range 8 {
		if f&(0x80>>i) != 0 {
			b[i] = names[i]
		} else {
			b[i] = '.'
		}
	}
	return string(b[:])
}

// AppendJSON appends r as one JSON object, the line `proxywatch flows
// dump` prints for a record:
//
//	{"first":"2026-03-02T10:00:00.123Z","last":"...","src":"198.51.100.7","src_port":52144,
//	 "dst":"203.0.113.5","dst_port":443,"proto":"tcp","tcp_flags":"...AP.SF",
//	 "packets":12,"bytes":4410,"sampling":100,"exporter":"192.0.2.1","domain":0}
//
// Times are RFC 3339 in UTC; sampling is left out when
// the record is unsampled, exporter and domain when the exporter is
// unknown. Counts are as exported, not scaled.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"first":`...)
	b = appendTime(b, r.Start)
	b = append(b, `,"last":`...)
	b = appendTime(b, r.End)
	b = appendAddrField(b, `,"src":`, r.Src)
	b = append(b, `,"src_port":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = appendAddrField(b, `,"dst":`, r.Dst)
	b = append(b, `,"dst_port":`...)
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, ProtoName(r.Proto)...)
	b = append(b, '"')
	if r.Proto == ProtoTCP {
		b = append(b, `,"tcp_flags":"`...)
		b = append(b, TCPFlagsString(r.TCPFlags)...)
		b = append(b, '"')
	}
	b = append(b, `,"packets":`...)
	b = strconv.AppendUint(b, r.Packets, 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, r.Bytes, 10)
	if r.SamplingRate > 1 {
		b = append(b, `,"sampling":`...)
		b = strconv.AppendUint(b, uint64(r.SamplingRate), 10)
	}
	if r.Exporter.IsValid() {
		b = appendAddrField(b, `,"exporter":`, r.Exporter)
		b = append(b, `,"domain":`...)
		b = strconv.AppendUint(b, uint64(r.Domain), 10)
	}
	return append(b, '}')
}

// AppendJSON appends s as one JSON object with Zeek's conn.log names
// (ts, uid, id.orig_h, ...), the line `proxywatch flows dump` prints for a
// session; package zeek reads it back. The byte counts are written as
// orig_ip_bytes and resp_ip_bytes, the unit of every source by default
// (see package zeek). The duration is in seconds; empty strings and false
// flags are left out.
func (s *Session) AppendJSON(b []byte) []byte {
	b = append(b, `{"ts":`...)
	b = appendTime(b, s.Start)
	if s.UID != "" {
		b = append(b, `,"uid":`...)
		b = appendString(b, s.UID)
	}
	b = appendAddrField(b, `,"id.orig_h":`, s.Orig.Addr())
	b = append(b, `,"id.orig_p":`...)
	b = strconv.AppendUint(b, uint64(s.Orig.Port()), 10)
	b = appendAddrField(b, `,"id.resp_h":`, s.Resp.Addr())
	b = append(b, `,"id.resp_p":`...)
	b = strconv.AppendUint(b, uint64(s.Resp.Port()), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, ProtoName(s.Proto)...)
	b = append(b, '"')
	if s.Service != "" {
		b = append(b, `,"service":`...)
		b = appendString(b, s.Service)
	}
	b = append(b, `,"duration":`...)
	b = appendSeconds(b, s.Duration)
	b = append(b, `,"orig_pkts":`...)
	b = strconv.AppendUint(b, s.OrigPackets, 10)
	b = append(b, `,"orig_ip_bytes":`...)
	b = strconv.AppendUint(b, s.OrigBytes, 10)
	b = append(b, `,"resp_pkts":`...)
	b = strconv.AppendUint(b, s.RespPackets, 10)
	b = append(b, `,"resp_ip_bytes":`...)
	b = strconv.AppendUint(b, s.RespBytes, 10)
	if s.State != "" {
		b = append(b, `,"conn_state":`...)
		b = appendString(b, s.State)
	}
	if s.Sampled {
		b = append(b, `,"sampled":true`...)
	}
	if s.Label != "" {
		b = append(b, `,"label":`...)
		b = appendString(b, s.Label)
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendAddrField(b []byte, name string, a netip.Addr) []byte {
	b = append(b, name...)
	if !a.IsValid() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

// appendSeconds appends d in seconds as an exact decimal ("1.5", "0.000001").
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	ns := int64(d % time.Second)
	if ns == 0 {
		return b
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(b, frac[:n]...)
}

// appendString appends s as a JSON string. Control characters are escaped
// and invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
