package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/app"
)

// paramsFlag collects repeated --param key=value flags.
type paramsFlag map[string]string

func (p paramsFlag) String() string { return fmt.Sprint(map[string]string(p)) }

func (p paramsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	p[k] = v
	return nil
}

func runImport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "import", "[--format NAME] [--feed NAME] [--param k=v]... [--dry-run] [--json] FILE...",
		"import reads indicator files into the local store. Each file becomes (or replaces, in one transaction)\n"+
			"the feed named after the file, or --feed. The format is detected from the content unless --format\n"+
			"names it ("+strings.Join(app.FormatNames(), ", ")+"). It reports accepted, refused (by reason),\n"+
			"excluded, guard-refused and duplicate counts. A running `serve` applies the import within a second.\n\n"+
			"Exit status: 0 when every file was imported, 2 when any failed.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	format := fs.String("format", "", "reader `name`; empty detects it")
	feedName := fs.String("feed", "", "feed `name` to import into (default: the file's base name; only with one file)")
	params := paramsFlag{}
	fs.Var(params, "param", "reader parameter `key=value` (repeatable), e.g. a CSV column mapping")
	dryRun := fs.Bool("dry-run", false, "read and count, but do not store")
	asJSON := fs.Bool("json", false, "print one JSON report per file")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError
	}
	if *feedName != "" && fs.NArg() > 1 {
		return errorf(e, "import: --feed takes one file")
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
	code := exitOK
	for _, path := range fs.Args() {
		res, err := l.Import(ctx, path, app.ImportOptions{Format: *format, Feed: *feedName, Params: params, DryRun: *dryRun}, time.Now())
		if err != nil {
			fmt.Fprintf(e.stderr, "proxywatch: %v\n", err)
			code = exitError
			continue
		}
		if *asJSON {
			json.NewEncoder(e.stdout).Encode(res)
		} else {
			printImport(e.stdout, res)
		}
	}
	return code
}

func printImport(w io.Writer, r app.ImportResult) {
	rep := r.Report
	verb := "imported"
	if !r.Stored {
		verb = "read (dry run)"
	}
	fmt.Fprintf(w, "%s: %s as feed %q (format %s): %d accepted, %d refused, %d excluded, %d guard-refused, %d duplicates\n",
		r.Path, verb, r.Feed, r.Format, rep.Accepted, rep.Read.RefusedTotal(), rep.Read.ExcludedTotal(), rep.GuardRefusedTotal(), rep.Duplicates)
	printReasons(w, "refused", rep.Read.Refused)
	printReasons(w, "excluded", rep.Read.Excluded)
	printReasons(w, "guard-refused", rep.GuardRefused)
	for i, pe := range rep.Read.Errors {
		if i == 5 {
			fmt.Fprintf(w, "  ... (%d more refusals)\n", rep.Read.RefusedTotal()-5)
			break
		}
		fmt.Fprintf(w, "  %v\n", pe)
	}
}

func printReasons(w io.Writer, what string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	fmt.Fprintf(w, "  %s: %s\n", what, strings.Join(parts, ", "))
}
