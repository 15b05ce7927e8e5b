package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at link time with -ldflags "-X main.version=v1.2.3".
var version = "devel"

func runVersion(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "", "version prints the proxywatch version and the Go toolchain that built it.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(e.stdout, "proxywatch %s (%s)\n", version, goVersion)
	return exitOK
}
