package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
)

func runDecisions(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "decisions", "list [--all] | add [--action ban|challenge] [--ttl D] [--reason R] SUBJECT | delete ID",
		"decisions lists the active decisions (--all: every stored one), adds a manual decision on an address or\n"+
			"prefix for a time, or deletes one by ID. The allowlist always wins: a decision overlapping it is refused.\n"+
			"A running `serve` applies changes to the DNSBL, forward-auth and exports within a second.\n"+
			"Exit status: 0 on success, 2 on error.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	all := fs.Bool("all", false, "list: every stored decision, expired ones included")
	action := fs.String("action", "ban", "add: `ban` or challenge")
	ttl := fs.Duration("ttl", 24*time.Hour, "add: how long the decision lasts")
	reason := fs.String("reason", "", "add: why, shown with the decision")
	asJSON := fs.Bool("json", false, "print JSON lines")
	sub, code, ok := parseSub(fs, args)
	if !ok {
		return code
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
	now := time.Now()
	switch sub {
	case "list":
		ds, err := l.Decisions(ctx, now, *all)
		if err != nil {
			return errorf(e, "decisions list: %v", err)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			for i := range ds {
				enc.Encode(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordDecision, Decision: &ds[i]})
			}
			return exitOK
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSUBJECT\tACTION\tORIGIN\tEXPIRES\tREASON")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Subject, d.Action, d.Origin, d.Expires.UTC().Format("2006-01-02 15:04"), d.Reason)
		}
		tw.Flush()
		return exitOK
	case "add":
		if fs.NArg() != 1 {
			return errorf(e, "decisions add: want one address or prefix")
		}
		s, err := proxywatch.ParseSubject(fs.Arg(0))
		if err != nil {
			return errorf(e, "decisions add: %v", err)
		}
		act := proxywatch.Action(*action)
		if act != proxywatch.ActionBan && act != proxywatch.ActionChallenge {
			return errorf(e, "decisions add: --action %q: ban or challenge", *action)
		}
		d, err := l.AddDecision(ctx, s, act, *ttl, *reason, now)
		if err != nil {
			return errorf(e, "decisions add: %v", err)
		}
		fmt.Fprintf(e.stdout, "%s: %s %s until %s\n", d.ID, d.Action, d.Subject, d.Expires.Format(time.RFC3339))
		return exitOK
	case "delete":
		if fs.NArg() != 1 {
			return errorf(e, "decisions delete: want one decision ID")
		}
		if err := l.DeleteDecision(ctx, fs.Arg(0)); err != nil {
			return errorf(e, "decisions delete: %v", err)
		}
		return exitOK
	}
	return errorf(e, "decisions: unknown subcommand %q (list, add or delete)", sub)
}

func runAlerts(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "alerts", "[--since D] [--limit N] [--json]",
		"alerts lists the newest alerts the detectors recorded in the store, with their evidence.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	since := fs.Duration("since", 24*time.Hour, "show alerts of the last `duration`")
	limit := fs.Int("limit", 100, "at most this many alerts")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if code, ok := parseFlags(fs, args); !ok {
		return code
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
	as, err := l.Alerts(ctx, time.Now().Add(-*since), *limit)
	if err != nil {
		return errorf(e, "alerts: %v", err)
	}
	enc := json.NewEncoder(e.stdout)
	for i, a := range as {
		if *asJSON {
			enc.Encode(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordAlert, Alert: &as[i]})
			continue
		}
		subj := make([]string, 0, len(a.Subjects))
		for _, s := range a.Subjects {
			subj = append(subj, s.String())
		}
		fmt.Fprintf(e.stdout, "%s %-8s %-22s %s: %s\n", a.Time.UTC().Format("2006-01-02 15:04"), a.Severity, a.Detector, strings.Join(subj, " "), a.Summary)
	}
	return exitOK
}
