package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
)

func runFlows(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "flows", "analyze|dump [--format zeek|pcap|nfdump-csv] [--inside PREFIX]... [--json] FILE...",
		"flows analyze runs the flow detectors over Zeek conn.logs (TSV or JSON), pcaps of NetFlow v5/v9/IPFIX\n"+
			"export packets, or nfdump CSV output, in event time: proxy relays and backconnect bots inside, C2 servers\n"+
			"(fan-in, beacons) and UDP collectors outside, exposed proxies, contacts with listed addresses. It prints\n"+
			"the findings and the compromised-inside-hosts report, or with --json the findings as JSON lines in\n"+
			"docs/schema.md's format. flows dump prints the decoded records (or Zeek sessions) as JSON lines.\n"+
			"The format is detected unless --format names it. Exit status: 0 on success, 2 on error.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	format := fs.String("format", "", "flow file `format`; empty detects it")
	var insides listFlag
	fs.Var(&insides, "inside", "an inside `prefix` (repeatable; overrides flowwatch.inside)")
	asJSON := fs.Bool("json", false, "print findings as JSON lines")
	sub, code, ok := parseSub(fs, args)
	if !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError
	}
	switch sub {
	case "dump":
		c, err := app.FlowsDump(ctx, fs.Args(), *format, e.stdout)
		if err != nil {
			return errorf(e, "flows dump: %v", err)
		}
		fmt.Fprintf(e.stderr, "%d files: %d records, %d sessions, %d skipped\n", c.Files, c.Records, c.Sessions, sum(c.Skipped))
		return exitOK
	case "analyze":
	default:
		return errorf(e, "flows: unknown subcommand %q (analyze or dump)", sub)
	}
	var inside []netip.Prefix
	for _, s := range insides {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return errorf(e, "flows analyze: --inside %q: %v", s, err)
		}
		inside = append(inside, p.Masked())
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
	res, err := l.FlowsAnalyze(ctx, fs.Args(), *format, inside, nil)
	if err != nil {
		return errorf(e, "%v", err)
	}
	out := e.stdout
	if *asJSON {
		out = e.stderr
		enc := json.NewEncoder(e.stdout)
		for i := range res.Findings {
			enc.Encode(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordFinding, Finding: &res.Findings[i]})
		}
	}
	c := res.Counts
	fmt.Fprintf(out, "%d files: %d records, %d sessions, %d skipped\n", c.Files, c.Records, c.Sessions, sum(c.Skipped))
	byRole := map[proxywatch.Role]int{}
	for _, f := range res.Findings {
		byRole[f.Role]++
	}
	roles := make([]string, 0, len(byRole))
	for r := range byRole {
		roles = append(roles, string(r))
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(out, "  %-16s %d findings\n", r, byRole[proxywatch.Role(r)])
	}
	if len(res.Indicators) > 0 {
		best := map[proxywatch.Subject]proxywatch.Indicator{}
		var order []proxywatch.Subject
		for _, ind := range res.Indicators {
			b, ok := best[ind.Subject]
			if !ok {
				order = append(order, ind.Subject)
			}
			if !ok || ind.Confidence > b.Confidence {
				best[ind.Subject] = ind
			}
		}
		fmt.Fprintf(out, "outside addresses promoted to indicators: %d\n", len(order))
		for _, s := range order {
			ind := best[s]
			fmt.Fprintf(out, "  %-20s %-15s confidence %d\n", ind.Subject, ind.Kind, ind.Confidence)
		}
	}
	if len(res.Report) > 0 {
		fmt.Fprintf(out, "compromised inside hosts (reported, never blocked): %d\n", len(res.Report))
		for i, row := range res.Report {
			if i == 20 {
				fmt.Fprintf(out, "  ... %d more (--json prints every finding)\n", len(res.Report)-20)
				break
			}
			rs := make([]string, len(row.Roles))
			for j, r := range row.Roles {
				rs[j] = string(r)
			}
			fmt.Fprintf(out, "  %-40s %-28s confidence %d, %s to %s\n", row.Host, strings.Join(rs, ","), row.Confidence,
				row.First.UTC().Format("01-02 15:04"), row.Last.UTC().Format("01-02 15:04"))
		}
	}
	return exitOK
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
