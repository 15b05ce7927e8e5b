package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
)

func runExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "export", "--format NAME [--kind K]... [--name SET] [--timeout] [--out FILE]",
		"export writes the live indicators of the local store as a firewall script or list: "+strings.Join(app.ExportFormats(), ", ")+".\n"+
			"Expired indicators, stale feeds and indicators below verdict.min_confidence.export are left out, and the\n"+
			"allowlist is carved out of every export. With --out the file is replaced atomically, and only when the\n"+
			"whole export succeeded. See docs/export.md for loading each format.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	format := fs.String("format", "", "export `format` (required)")
	var kinds listFlag
	fs.Var(&kinds, "kind", "export only this `kind` (repeatable; default all)")
	name := fs.String("name", "", "nftables table or ipset set `name` (default proxywatch)")
	timeout := fs.Bool("timeout", false, "give firewall elements their remaining lifetime as a timeout")
	out := fs.String("out", "", "write to this `file` instead of standard output")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *format == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitError
	}
	var ks []proxywatch.Kind
	for _, k := range kinds {
		kind, err := proxywatch.ParseKind(k)
		if err != nil {
			return errorf(e, "export: %v", err)
		}
		ks = append(ks, kind)
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
	opts := app.ExportOptions{Format: *format, Kinds: ks, Name: *name, Timeout: *timeout}
	if *out == "" {
		if _, err := l.Export(ctx, e.stdout, opts, time.Now()); err != nil {
			return errorf(e, "%v", err)
		}
		return exitOK
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return errorf(e, "export: %v", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := l.Export(ctx, tmp, opts, time.Now()); err != nil {
		tmp.Close()
		return errorf(e, "%v", err)
	}
	if err := tmp.Close(); err != nil {
		return errorf(e, "export: %v", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return errorf(e, "export: %v", err)
	}
	return exitOK
}
