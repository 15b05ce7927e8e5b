package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
)

func runLogs(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "logs", "scan --format sshd|access|json [--json] [--config FILE] FILE...",
		"logs scan runs the login detectors over auth logs in batch, in event time (decision lifetimes count in\n"+
			"the logs' time): per-address brute force, one account failing from many addresses, credential-stuffing\n"+
			"campaigns over the learned baseline with their participants, attempts from listed addresses (the local\n"+
			"store), new-origin successes. Each FILE is one source; gzip'd files are read as such. It prints a summary,\n"+
			"or with --json every alert and decision as JSON lines in docs/schema.md's format (the summary then goes\n"+
			"to standard error). Exit status: 0 on success, 2 on error.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	format := fs.String("format", "sshd", "log `format`: sshd, access or json")
	asJSON := fs.Bool("json", false, "print alerts and decisions as JSON lines")
	if len(args) == 0 || args[0] != "scan" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return exitOK
		}
		fs.Usage()
		return exitError
	}
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError
	}
	cfg, err := loadConfig(*cfgPath, *dataDir, e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	l, err := app.OpenLocal(ctx, cfg, app.NewLogger(cfg.Telemetry, e.stderr))
	if err != nil {
		return errorf(e, "%v", err)
	}
	defer l.Close()

	var mu sync.Mutex
	var alerts []proxywatch.Record
	enc := json.NewEncoder(e.stdout)
	opts := app.ScanOptions{Format: *format, Files: fs.Args(), Report: func(r proxywatch.Record) {
		mu.Lock()
		defer mu.Unlock()
		if *asJSON {
			enc.Encode(r)
		} else if r.Type == proxywatch.RecordAlert {
			alerts = append(alerts, r)
		}
	}}
	if isTerminalWriter(e.stderr) {
		opts.Progress = func(n uint64) { fmt.Fprintf(e.stderr, "\r%d lines read", n) }
	}
	sum, err := l.ScanLogs(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return errorf(e, "logs scan: %v", err)
	}
	out := e.stdout
	if *asJSON {
		out = e.stderr
	}
	printScanSummary(out, sum, alerts)
	return exitOK
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

func printScanSummary(w io.Writer, s app.ScanSummary, alerts []proxywatch.Record) {
	fmt.Fprintf(w, "%d lines: %d login events, %d other lines, %d unparsed\n", s.Lines, s.Events, s.Skipped, s.Unparsed)
	d := s.Detectors
	fmt.Fprintf(w, "%d failures, %d successes (%d failures forgiven as typos), %d new failing sources\n",
		d.Failures, d.Successes, d.Forgiven, d.NewFailing)
	fmt.Fprintf(w, "%d alerts, %d campaigns (%d participants), %d decisions (%d aggregated, %d refused by the allowlist)\n",
		s.Alerts, d.Campaigns, d.Participants, s.Decided, s.Decisions.Aggregated, s.Decisions.Allowlisted)
	byDetector := map[string]int{}
	for _, r := range alerts {
		byDetector[r.Alert.Detector]++
	}
	names := make([]string, 0, len(byDetector))
	for n := range byDetector {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %d alerts\n", n, byDetector[n])
	}
	for i, r := range alerts {
		if i == 10 {
			fmt.Fprintf(w, "  ... %d more alerts (--json prints them all)\n", len(alerts)-10)
			break
		}
		a := r.Alert
		subj := make([]string, 0, 3)
		for j, s := range a.Subjects {
			if j == 3 {
				subj = append(subj, "...")
				break
			}
			subj = append(subj, s.String())
		}
		fmt.Fprintf(w, "  %s %s %s: %s\n", a.Time.UTC().Format("2006-01-02 15:04"), a.Detector, strings.Join(subj, " "), a.Summary)
	}
}
