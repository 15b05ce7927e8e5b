package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/nfcsv"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// flowFile is one opened flow file: exactly one of sessions (Zeek) and
// records (NetFlow/IPFIX pcaps, nfdump CSV) is set.
type flowFile struct {
	format   string
	sessions flow.SessionReader
	records  flow.RecordReader
	close    func() error
}

// openFlowFile opens path in format, or in the format its first bytes
// show when format is "".
func openFlowFile(path, format string) (*flowFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if format == "" {
		head, _ := br.Peek(4096)
		format = flow.DetectFormat(head)
	}
	ff := &flowFile{format: format, close: f.Close}
	name := filepath.Base(path)
	switch format {
	case flow.FormatZeek:
		ff.sessions = zeek.NewReader(br, zeek.Options{Name: name})
	case flow.FormatNfdumpCSV:
		ff.records = nfcsv.NewReader(br, nfcsv.Options{Name: name})
	case flow.FormatPcap:
		pr, err := pcapread.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ff.records = netflow.NewReader(pr, name, netflow.Options{})
	case flow.FormatNfcapd:
		f.Close()
		return nil, fmt.Errorf("%s: an nfcapd file: convert it with `nfdump -r %s -o csv` first", path, path)
	default:
		f.Close()
		return nil, fmt.Errorf("%s: unknown flow format %q (zeek, nfdump-csv, pcap)", path, format)
	}
	return ff, nil
}

// FlowCounts counts what reading flow files did.
type FlowCounts struct {
	Files    int            `json:"files"`
	Records  uint64         `json:"records"`
	Sessions uint64         `json:"sessions"`
	Skipped  map[string]int `json:"skipped,omitempty"` // malformed input, by reason
}

func (c *FlowCounts) skip(err error) bool {
	var pe *flow.ParseError
	if !errors.As(err, &pe) {
		return false
	}
	if c.Skipped == nil {
		c.Skipped = map[string]int{}
	}
	c.Skipped[pe.Reason]++
	return true
}

// FlowsDump decodes flow files and writes each record or session to w as
// a JSON line (flow.Record.AppendJSON, flow.Session.AppendJSON), as
// `nfdump -r` prints what it reads. Input it cannot use is counted.
func FlowsDump(ctx context.Context, paths []string, format string, w io.Writer) (FlowCounts, error) {
	var c FlowCounts
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	write := func(b []byte) error {
		line = append(b, '\n')
		_, err := bw.Write(line)
		return err
	}
	for _, path := range paths {
		ff, err := openFlowFile(path, format)
		if err != nil {
			return c, err
		}
		c.Files++
		err = readFlowFile(ctx, ff, &c,
			func(r flow.Record) error { return write(r.AppendJSON(line[:0])) },
			func(s flow.Session) error { return write(s.AppendJSON(line[:0])) })
		ff.close()
		if err != nil {
			bw.Flush()
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c, bw.Flush()
}

// readFlowFile reads ff to the end, counting skipped input.
func readFlowFile(ctx context.Context, ff *flowFile, c *FlowCounts, onRecord func(flow.Record) error, onSession func(flow.Session) error) error {
	for ctx.Err() == nil {
		var err error
		if ff.sessions != nil {
			var s flow.Session
			if s, err = ff.sessions.ReadSession(); err == nil {
				c.Sessions++
				err = onSession(s)
			}
		} else {
			var r flow.Record
			if r, err = ff.records.ReadRecord(); err == nil {
				c.Records++
				err = onRecord(r)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case c.skip(err):
		default:
			return err
		}
	}
	return ctx.Err()
}

// FlowsResult is what `flows analyze` found.
type FlowsResult struct {
	Counts FlowCounts
	flowwatch.Result
}

// FlowsAnalyze runs the flow detectors over flow files in batch, in event
// time. inside overrides flowwatch.inside when not empty. Addresses the
// local store lists are flagged. NetFlow and nfdump records are stitched
// into bidirectional sessions first.
func (l *Local) FlowsAnalyze(ctx context.Context, paths []string, format string, inside []netip.Prefix, onFinding func(proxywatch.Finding)) (FlowsResult, error) {
	var res FlowsResult
	cfg := l.cfg.FlowWatch
	if len(inside) > 0 {
		cfg.Inside = inside
	}
	if len(cfg.Inside) == 0 {
		return res, errors.New("flows analyze: no inside prefixes (--inside or flowwatch.inside)")
	}
	tbl, err := l.loadTable(ctx)
	if err != nil {
		return res, err
	}
	minConf := l.cfg.Verdict.MinConfidence.Check
	deps := flowwatch.Deps{
		Logger:    l.log.With("component", "flowwatch"),
		Listed:    listedFunc(tbl, minConf),
		OnFinding: onFinding,
	}
	var readErr error
	sessions := func(yield func(flow.Session) bool) {
		for _, path := range paths {
			ff, err := openFlowFile(path, format)
			if err != nil {
				readErr = err
				return
			}
			res.Counts.Files++
			if ff.records != nil {
				// Join the two directions of each conversation, and
				// sessions split by active timeouts.
				sr, err := stitch.NewReader(ff.records, stitch.DefaultConfig())
				if err != nil {
					ff.close()
					readErr = err
					return
				}
				ff.sessions, ff.records = sr, nil
			}
			stop := errors.New("stop")
			err = readFlowFile(ctx, ff, &res.Counts,
				func(flow.Record) error { return nil },
				func(s flow.Session) error {
					if !yield(s) {
						return stop
					}
					return nil
				})
			ff.close()
			if err != nil && err != stop {
				readErr = fmt.Errorf("%s: %w", path, err)
				return
			}
		}
	}
	r, err := flowwatch.Analyze(ctx, cfg, deps, iter.Seq[flow.Session](sessions))
	res.Result = r
	if err == nil {
		err = readErr
	}
	return res, err
}

// listedFunc looks addresses up in tbl for the flow detectors; it is safe
// for concurrent use.
func listedFunc(tbl *verdict.Table, minConf uint8) func(netip.Addr) (flowwatch.Listing, bool) {
	return func(a netip.Addr) (flowwatch.Listing, bool) {
		var buf [8]verdict.Hit
		s := verdict.Summarize(tbl.Lookup(a, buf[:0]), minConf)
		if !s.Listed {
			return flowwatch.Listing{}, false
		}
		return flowwatch.Listing{Kind: s.Top.Kind(), Confidence: s.Top.Confidence(), Feed: s.Top.Feed()}, true
	}
}
