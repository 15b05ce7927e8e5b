package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/proxywatch/proxywatch/internal/app"
)

func runFeeds(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "feeds", "list|update [--config FILE] [--data DIR] [--json] [NAME...]",
		"list shows every feed in the store and every configured feed: source, format, when it was last\n"+
			"fetched and accepted, counts, holds, staleness and the last error. update fetches the named\n"+
			"configured feeds (all when none is named) now, applies the guard and writes accepted copies to\n"+
			"the store; a running `serve` applies them within a second.\n\n"+
			"Exit status: 0 on success, 2 when a feed failed or the command could not run.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	asJSON := fs.Bool("json", false, "print JSON")
	sub, code, ok := parseSub(fs, args)
	if !ok {
		return code
	}
	cfg, err := loadConfig(*cfgPath, *dataDir, e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	log := app.NewLogger(cfg.Telemetry, e.stderr)
	l, err := app.OpenLocal(ctx, cfg, log)
	if err != nil {
		return errorf(e, "%v", err)
	}
	defer l.Close()
	switch sub {
	case "list":
		feeds, err := l.Feeds(ctx, time.Now())
		if err != nil {
			return errorf(e, "%v", err)
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			for _, f := range feeds {
				enc.Encode(f)
			}
			return exitOK
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FEED\tFORMAT\tINDICATORS\tREFUSED\tGUARD\tDUPS\tLAST GOOD\tSTATUS\tSOURCE")
		for _, f := range feeds {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", f.Name, f.Format, f.Indicators, f.Refused,
				f.GuardRefused, f.Duplicates, ago(f.LastGood), f.Status, f.Source)
		}
		tw.Flush()
		return exitOK
	case "update":
		results, err := l.UpdateFeeds(ctx, log.With("component", "feed"), fs.Args()...)
		if err != nil {
			return errorf(e, "%v", err)
		}
		code := exitOK
		for _, r := range results {
			if *asJSON {
				json.NewEncoder(e.stdout).Encode(r)
			} else {
				fmt.Fprintf(e.stdout, "%s: %s", r.Name, r.Outcome)
				if r.Detail != "" {
					fmt.Fprintf(e.stdout, " (%s)", r.Detail)
				}
				fmt.Fprintln(e.stdout)
			}
			if r.Failed {
				code = exitError
			}
		}
		return code
	}
	log.Debug("unknown subcommand", slog.String("sub", sub))
	return errorf(e, "feeds: unknown subcommand %q (list or update)", sub)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}
