package flow

import (
	"bufio"
	"errors"
	"io"
)

// DumpRecords writes every record r yields to w as JSON lines (see
// Record.AppendJSON): what `proxywatch flows dump` prints for NetFlow,
// IPFIX and nfdump input. Input r reports as skipped (*ParseError) is
// counted in skipped and passed over; the first is returned in first so
// the caller can show an example. It stops at io.EOF or the first other
// error, which it returns.
func DumpRecords(w io.Writer, r RecordReader) (written, skipped int, first error, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for {
		rec, rerr := r.ReadRecord()
		if rerr == io.EOF {
			return written, skipped, first, bw.Flush()
		}
		if rerr != nil {
			if _, ok := errors.AsType[*ParseError](rerr); ok {
				skipped++
				if first == nil {
					first = rerr
				}
				continue
			}
			bw.Flush()
			return written, skipped, first, rerr
		}
		b = append(rec.AppendJSON(b[:0]), '\n')
		if _, err := bw.Write(b); err != nil {
			return written, skipped, first, err
		}
		written++
	}
}

// DumpSessions is DumpRecords for sessions (Zeek input, or stitched
// records), written with Session.AppendJSON.
func DumpSessions(w io.Writer, r SessionReader) (written, skipped int, first error, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for {
		s, rerr := r.ReadSession()
		if rerr == io.EOF {
			return written, skipped, first, bw.Flush()
		}
		if rerr != nil {
			if _, ok := errors.AsType[*ParseError](rerr); ok {
				skipped++
				if first == nil {
					first = rerr
				}
				continue
			}
			bw.Flush()
			return written, skipped, first, rerr
		}
		b = append(s.AppendJSON(b[:0]), '\n')
		if _, err := bw.Write(b); err != nil {
			return written, skipped, first, err
		}
		written++
	}
}
