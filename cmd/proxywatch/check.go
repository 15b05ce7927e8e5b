package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
)

func runCheck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "check", "[--json] [--config FILE] [--data DIR] ADDRESS... (or addresses on stdin)",
		"check tells whether each address is listed, with every indicator that covers it (feed, line, section,\n"+
			"kind, confidence, since, until) and what enrichment knows of it. Domains and AS numbers are looked up\n"+
			"in the store too. It reads the local store and needs no running daemon.\n\n"+
			"Exit status, as grep's: 0 when at least one address is listed, 1 when none is, 2 on error.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	asJSON := fs.Bool("json", false, "print one JSON object per address instead of a table")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := loadConfig(*cfgPath, *dataDir, e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	words := fs.Args()
	if len(words) == 0 {
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
				words = append(words, strings.Fields(w)[0])
			}
		}
		if err := sc.Err(); err != nil {
			return errorf(e, "check: read stdin: %v", err)
		}
	}
	if len(words) == 0 {
		fs.Usage()
		return exitError
	}
	var addrs []netip.Addr
	var subjects []proxywatch.Subject
	for _, w := range words {
		if a, err := netip.ParseAddr(w); err == nil {
			addrs = append(addrs, a.WithZone(""))
			continue
		}
		s, err := proxywatch.ParseSubject(w)
		if err != nil || s.Type() == proxywatch.SubjectPrefix {
			return errorf(e, "check: %q is not an address, domain or AS number", w)
		}
		subjects = append(subjects, s)
	}
	l, err := app.OpenLocal(ctx, cfg, app.NewLogger(cfg.Telemetry, e.stderr))
	if err != nil {
		return errorf(e, "%v", err)
	}
	defer l.Close()
	now := time.Now()
	verdicts, err := l.Check(ctx, addrs, now)
	if err != nil {
		return errorf(e, "%v", err)
	}
	listed := false
	for _, v := range verdicts {
		listed = listed || v.Listed
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, v := range verdicts {
			enc.Encode(v)
		}
	} else {
		printVerdicts(e.stdout, verdicts, now)
	}
	for _, s := range subjects {
		inds, err := l.Lookup(ctx, s)
		if err != nil {
			return errorf(e, "check %s: %v", s, err)
		}
		live := 0
		for _, ind := range inds {
			if !ind.ExpiredAt(now) {
				live++
			}
		}
		listed = listed || live > 0
		if *asJSON {
			json.NewEncoder(e.stdout).Encode(map[string]any{"subject": s, "listed": live > 0, "evidence": inds})
		} else {
			printSubject(e.stdout, s, inds, now)
		}
	}
	if listed {
		return exitOK
	}
	return exitNegative
}

func printVerdicts(w io.Writer, vs []app.Verdict, now time.Time) {
	for i, v := range vs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		status := "not listed"
		switch {
		case v.Listed:
			status = "LISTED as " + v.Kind
		case v.Allowlisted:
			status = "not listed (allowlisted)"
		case len(v.Evidence) > 0:
			status = "not listed (below the minimum confidence)"
		}
		fmt.Fprintf(w, "%s: %s\n", v.Addr, status)
		if en := v.Enrichment; en != nil {
			var parts []string
			if en.ASN != 0 {
				parts = append(parts, fmt.Sprintf("AS%d %s", en.ASN, en.Org))
			}
			if en.Country != "" {
				parts = append(parts, en.Country)
			}
			if en.ConnectionType != "" {
				parts = append(parts, en.ConnectionType)
			}
			if len(parts) > 0 {
				fmt.Fprintf(w, "  network: %s\n", strings.Join(parts, ", "))
			}
		}
		if len(v.StaleFeeds) > 0 {
			fmt.Fprintf(w, "  ignored stale feeds: %s\n", strings.Join(v.StaleFeeds, ", "))
		}
		if len(v.Evidence) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  KIND\tCONF\tMATCH\tSOURCE\tSINCE\tUNTIL\tDETAIL")
		for _, ev := range v.Evidence {
			conf := fmt.Sprint(ev.Confidence)
			if !ev.Counts {
				conf += "*"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Kind, conf, ev.Subject, ev.Source,
				day(ev.FirstSeen), until(ev.Expires, now), detail(ev.Indicator, v.Allowlisted))
		}
		tw.Flush()
	}
}

func printSubject(w io.Writer, s proxywatch.Subject, inds []proxywatch.Indicator, now time.Time) {
	if len(inds) == 0 {
		fmt.Fprintf(w, "%s: not listed\n", s)
		return
	}
	fmt.Fprintf(w, "%s: listed\n", s)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  KIND\tCONF\tSOURCE\tUNTIL\tDETAIL")
	for _, ind := range inds {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", ind.Kind, ind.Confidence, ind.Source, until(ind.Expires, now), detail(ind, false))
	}
	tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func until(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if !t.After(now) {
		return "expired"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func detail(ind proxywatch.Indicator, allowlisted bool) string {
	var parts []string
	if allowlisted {
		parts = append(parts, "allowlisted")
	}
	if ind.Port != 0 {
		p := fmt.Sprintf("port %d", ind.Port)
		if ind.Proto != "" {
			p += "/" + ind.Proto
		}
		parts = append(parts, p)
	}
	if ind.Comment != "" {
		parts = append(parts, ind.Comment)
	}
	if len(ind.Tags) > 0 {
		parts = append(parts, "tags "+strings.Join(ind.Tags, ","))
	}
	s := strings.Join(parts, "; ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
