package main

import (
	"context"
	"fmt"

	"github.com/proxywatch/proxywatch/internal/config"
)

func runConfig(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "config", "check|dump [--config FILE]",
		"check validates the configuration (file, defaults and PROXYWATCH_* variables) and exits 0 when it is\n"+
			"valid, 2 with every problem listed when not. dump prints the effective configuration, secrets redacted.")
	cfgPath := configFlag(fs, e)
	sub, code, ok := parseSub(fs, args)
	if !ok {
		return code
	}
	f, err := config.Load(*cfgPath, e.environ)
	if err != nil {
		return errorf(e, "%v", err)
	}
	switch sub {
	case "check":
		src := *cfgPath
		if src == "" {
			src = "built-in defaults"
		}
		fmt.Fprintf(e.stdout, "%s: ok\n", src)
		return exitOK
	case "dump":
		b, err := config.Dump(f)
		if err != nil {
			return errorf(e, "dump config: %v", err)
		}
		e.stdout.Write(b)
		return exitOK
	}
	return errorf(e, "config: unknown subcommand %q (check or dump)", sub)
}
