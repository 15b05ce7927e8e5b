// Package itest helps tests reach what lies outside the module: the shared
// real-world data set and external services (PostgreSQL, NATS, rbldnsd,
// nfdump, tshark ...). It is imported only from _test.go files.
//
// Integration tests gate themselves at run time: they skip with a specific
// reason on a developer's machine, and fail instead when the environment
// variable PROXYWATCH_TEST_REQUIRE lists the service or is "all", as CI sets
// it.
package itest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Required reports whether PROXYWATCH_TEST_REQUIRE makes service mandatory.
func Required(service string) bool {
	v := os.Getenv("PROXYWATCH_TEST_REQUIRE")
	if v == "all" {
		return true
	}
	return slices.Contains(strings.Split(v, ","), service)
}

// Unavailable skips t with msg, or fails it when service is required.
func Unavailable(t testing.TB, service, msg string) {
	t.Helper()
	msg = fmt.Sprintf("%s unavailable: %s (see docs/testing.md#%s)", service, msg, service)
	if Required(service) {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Need returns the path of the external program service, or skips (or
// fails, when required) t with the reason it cannot run. In -short mode it
// always skips.
func Need(t testing.TB, service string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: skipped in -short mode", service)
	}
	if v := os.Getenv("PROXYWATCH_TEST_" + strings.ToUpper(service)); v != "" {
		return v
	}
	p, err := exec.LookPath(service)
	if err != nil {
		Unavailable(t, service, "not in PATH (scripts/test.sh installs it)")
	}
	return p
}

// ModuleRoot returns the directory holding go.mod, found by walking up
// from the working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Data returns the path of rel inside the shared real-world data set:
// $PROXYWATCH_TEST_DATA, else ../shared/data beside the module root. It
// skips t (or fails it, when "data" is required) when the file is absent.
func Data(t testing.TB, rel string) string {
	t.Helper()
	root := os.Getenv("PROXYWATCH_TEST_DATA")
	if root == "" {
		root = filepath.Join(ModuleRoot(t), "..", "shared", "data")
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "data", fmt.Sprintf("%s: %v (set PROXYWATCH_TEST_DATA)", rel, err))
	}
	return p
}
