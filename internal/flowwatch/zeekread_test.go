package flowwatch

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// readZeekTSV is a small conn.log reader for the tests, until the
// decoders of package flow/zeek can be used: the #fields header, tab
// separated values, "-" unset, and the IoT-23 variant whose last columns
// are separated by three spaces.
func readZeekTSV(r io.Reader) iter.Seq2[flow.Session, error] {
	return func(yield func(flow.Session, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var col map[string]int
		sep := "\t"
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			if line == 1 && !strings.HasPrefix(text, "#") && strings.Contains(text, "|") {
				// IoT-23's |-separated conversion: a header row.
				sep = "|"
				col = map[string]int{}
				for i, name := range strings.Split(text, "|") {
					col[name] = i
				}
				continue
			}
			if strings.HasPrefix(text, "#") {
				if f, ok := strings.CutPrefix(text, "#fields\t"); ok {
					col = map[string]int{}
					for i, name := range splitZeek(f) {
						col[name] = i
					}
				}
				continue
			}
			if col == nil || text == "" {
				continue
			}
			fs := splitZeek(text)
			if sep == "|" {
				fs = strings.Split(text, "|")
			}
			s, err := zeekSession(fs, col)
			if err != nil {
				if !yield(flow.Session{}, fmt.Errorf("line %d: %w", line, err)) {
					return
				}
				continue
			}
			if !yield(s, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(flow.Session{}, err)
		}
	}
}

func splitZeek(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, "\t") {
		if strings.Contains(f, "   ") {
			out = append(out, strings.Split(f, "   ")...)
			continue
		}
		out = append(out, f)
	}
	return out
}

func zeekSession(f []string, col map[string]int) (flow.Session, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok && i < len(f) && f[i] != "-" && f[i] != "(empty)" {
			return f[i]
		}
		return ""
	}
	num := func(name string) uint64 {
		v, _ := strconv.ParseUint(get(name), 10, 64)
		return v
	}
	var s flow.Session
	ts, err := strconv.ParseFloat(get("ts"), 64)
	if err != nil {
		return s, fmt.Errorf("ts: %w", err)
	}
	sec, frac := math.Modf(ts)
	s.Start = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	if d := get("duration"); d != "" {
		v, err := strconv.ParseFloat(d, 64)
		if err != nil {
			return s, fmt.Errorf("duration: %w", err)
		}
		s.Duration = time.Duration(v * 1e9)
	}
	oh, err1 := netip.ParseAddr(get("id.orig_h"))
	rh, err2 := netip.ParseAddr(get("id.resp_h"))
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("addresses: %v %v", err1, err2)
	}
	s.Orig = netip.AddrPortFrom(oh.Unmap(), uint16(num("id.orig_p")))
	s.Resp = netip.AddrPortFrom(rh.Unmap(), uint16(num("id.resp_p")))
	switch get("proto") {
	case "tcp":
		s.Proto = flow.ProtoTCP
	case "udp":
		s.Proto = flow.ProtoUDP
	case "icmp":
		s.Proto = flow.ProtoICMP
	}
	s.Service = get("service")
	s.OrigBytes, s.RespBytes = num("orig_bytes"), num("resp_bytes")
	s.OrigPackets, s.RespPackets = num("orig_pkts"), num("resp_pkts")
	s.State = get("conn_state")
	s.UID = get("uid")
	if l := get("label"); l != "" {
		s.Label = l
	}
	return s, nil
}
