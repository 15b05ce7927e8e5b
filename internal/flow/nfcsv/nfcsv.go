// Package nfcsv reads the CSV that `nfdump -o csv` prints into flow.Records,
// for users who keep their flows in nfcapd files: `nfdump -r FILE -o csv`
// (or -R DIR) turns them into something proxywatch reads.
//
// Columns are found by the header row's names (ts, te, sa, da, sp, dp, pr,
// flg, ipkt, ibyt, opkt, obyt, ra), so the column sets of nfdump 1.6 and
// 1.7 both work. Times are printed by nfdump in its local time zone with or
// without milliseconds; Options.Location says which zone that was. The
// summary nfdump appends after the records ends the input.
//
// Counts are taken as printed. nfcapd scales the counts of sampled
// exporters itself, so records carry a sampling rate of 1. A row with
// output counters (opkt, obyt: NSEL and other bidirectional records)
// yields a second record for the reverse direction.
package nfcsv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Options configures a Reader.
type Options struct {
	Name     string         // names the source in errors
	Location *time.Location // the time zone nfdump printed times in; nil means time.Local
}

const (
	cTS = iota
	cTE
	cSA
	cDA
	cSP
	cDP
	cPR
	cFlg
	cIPkt
	cIByt
	cOPkt
	cOByt
	cRA
	numCols
)

var names = map[string]int{"ts": cTS, "te": cTE, "sa": cSA, "da": cDA, "sp": cSP, "dp": cDP, "pr": cPR,
	"flg": cFlg, "ipkt": cIPkt, "ibyt": cIByt, "opkt": cOPkt, "obyt": cOByt, "ra": cRA}

// A Reader reads records from nfdump's CSV. It implements
// flow.RecordReader and is not safe for concurrent use.
type Reader struct {
	sc      *bufio.Scanner
	opts    Options
	cols    []int // column -> c* constant or -1
	line    int
	done    bool
	pending *flow.Record // the reverse record of the last row
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	return &Reader{sc: sc, opts: opts}
}

func (r *Reader) fail(reason, format string, args ...any) error {
	return &flow.ParseError{Name: r.opts.Name, Line: r.line, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReadRecord returns the next record. A *flow.ParseError reports a row it
// skipped; the caller may go on reading. It returns io.EOF at the end of
// the records, and read errors as they are.
func (r *Reader) ReadRecord() (flow.Record, error) {
	if p := r.pending; p != nil {
		r.pending = nil
		return *p, nil
	}
	for !r.done && r.sc.Scan() {
		r.line++
		line := bytes.TrimSpace(r.sc.Bytes())
		switch {
		case len(line) == 0:
			continue
		case bytes.Equal(line, []byte("Summary")) || bytes.HasPrefix(line, []byte("No matching flows")):
			r.done = true
			continue
		case bytes.HasPrefix(line, []byte("ts,")):
			r.header(line)
			continue
		case r.cols == nil:
			return flow.Record{}, r.fail(flow.ReasonNoHeader, "data before the ts,te,... header row")
		}
		return r.row(line)
	}
	if err := r.sc.Err(); err != nil {
		return flow.Record{}, err
	}
	return flow.Record{}, io.EOF
}

func (r *Reader) header(line []byte) {
	fs := strings.Split(string(line), ",")
	r.cols = make([]int, len(fs))
	for i, f := range fs {
		c, ok := names[strings.TrimSpace(f)]
		if !ok {
			c = -1
		}
		r.cols[i] = c
	}
}

func (r *Reader) row(line []byte) (flow.Record, error) {
	var v [numCols]string
	n := 0
	for f := range bytes.SplitSeq(line, []byte(",")) {
		if n >= len(r.cols) {
			n++
			break
		}
		if c := r.cols[n]; c >= 0 {
			v[c] = string(bytes.TrimSpace(f))
		}
		n++
	}
	if n != len(r.cols) {
		return flow.Record{}, r.fail(flow.ReasonSyntax, "%d columns, header has %d", n, len(r.cols))
	}
	var rec flow.Record
	var errs []error
	t := func(s string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04:05.999", s, r.opts.Location)
		if err != nil {
			errs = append(errs, err)
		}
		return x.UTC()
	}
	u := func(s string, bits int) uint64 {
		x, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			errs = append(errs, err)
		}
		return x
	}
	a := func(s string) netip.Addr {
		x, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, err)
		}
		return x.Unmap()
	}
	rec.Start, rec.End = t(v[cTS]), t(v[cTE])
	rec.Src, rec.Dst = a(v[cSA]), a(v[cDA])
	rec.Proto = proto(v[cPR], &errs)
	rec.SrcPort = uint16(u(v[cSP], 16))
	rec.DstPort = port(v[cDP], &errs)
	rec.TCPFlags = flags(v[cFlg])
	rec.Packets, rec.Bytes = u(v[cIPkt], 64), u(v[cIByt], 64)
	rec.SamplingRate = 1
	if v[cRA] != "" {
		if ra, err := netip.ParseAddr(v[cRA]); err == nil && !ra.IsUnspecified() {
			rec.Exporter = ra.Unmap()
		}
	}
	var op, ob uint64
	if v[cOPkt] != "" || v[cOByt] != "" {
		op, ob = u(v[cOPkt], 64), u(v[cOByt], 64)
	}
	if len(errs) > 0 {
		return flow.Record{}, r.fail(flow.ReasonBadValue, "%v", errors.Join(errs...))
	}
	if op > 0 || ob > 0 {
		rev := rec
		rev.Src, rev.Dst, rev.SrcPort, rev.DstPort = rec.Dst, rec.Src, rec.DstPort, rec.SrcPort
		rev.Packets, rev.Bytes, rev.TCPFlags = op, ob, 0
		r.pending = &rev
	}
	return rec, nil
}

// proto parses nfdump's protocol column: a name or a number.
func proto(s string, errs *[]error) uint8 {
	switch strings.ToUpper(s) {
	case "TCP":
		return flow.ProtoTCP
	case "UDP":
		return flow.ProtoUDP
	case "ICMP":
		return flow.ProtoICMP
	case "ICMP6":
		return flow.ProtoICMPv6
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("protocol %q", s))
	}
	return uint8(n)
}

// port parses a port, or ICMP's "type.code", into type<<8|code as NetFlow
// carries them.
func port(s string, errs *[]error) uint16 {
	if typ, code, ok := strings.Cut(s, "."); ok {
		t, err1 := strconv.ParseUint(typ, 10, 8)
		c, err2 := strconv.ParseUint(code, 10, 8)
		if err1 != nil || err2 != nil {
			*errs = append(*errs, fmt.Errorf("port %q", s))
		}
		return uint16(t)<<8 | uint16(c)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("port %q", s))
	}
	return uint16(n)
}

// flags parses nfdump's flag string ("...AP.SF", one column per flag from
// CWR to FIN; older versions print six columns from URG).
func flags(s string) uint8 {
	var f uint8
	for i := range len(s) {
		if s[i] != '.' {
			f |= 1 << (len(s) - 1 - i)
		}
	}
	return f
}
