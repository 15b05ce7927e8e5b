package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the command line in-process and returns its exit code and
// output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, environ: []string{"PROXYWATCH_TELEMETRY_LOG_LEVEL=error"}}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, "", c.name, "--help")
			if code != exitOK || !strings.Contains(stderr, "usage: proxywatch "+c.name) {
				t.Errorf("%s --help = %d, %q; want 0 and a usage line", c.name, code, stderr)
			}
		})
	}
	if code, out, _ := runCmd(t, "", "help"); code != exitOK || !strings.Contains(out, "commands:") {
		t.Errorf("help = %d, %q", code, out)
	}
	if code, _, stderr := runCmd(t, "", "frobnicate"); code != exitError || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command = %d, %q", code, stderr)
	}
	if code, _, _ := runCmd(t, "", "check", "--no-such-flag"); code != exitError {
		t.Errorf("bad flag = %d, want %d", code, exitError)
	}
}

func TestImportAndCheck(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "socks.txt")
	os.WriteFile(feed, []byte("C2s used by the 5socks/anyproxy networks:\n\n203.0.113[.]42\n"), 0o644)
	nets := filepath.Join(t.TempDir(), "level1.netset")
	os.WriteFile(nets, []byte("# private space, as firehol_level1 lists it\n10.0.0.0/8\n198.51.100.0/24\n"), 0o644)

	code, out, stderr := runCmd(t, "", "import", "--data", data, feed, nets)
	if code != exitOK || !strings.Contains(out, "1 accepted") || !strings.Contains(out, "2 accepted") {
		t.Fatalf("import = %d\n%s%s", code, out, stderr)
	}

	code, out, _ = runCmd(t, "", "check", "--data", data, "203.0.113.42")
	if code != exitOK || !strings.Contains(out, "LISTED as c2") || !strings.Contains(out, "socks.txt:3 (C2s used by the 5socks/anyproxy networks)") {
		t.Errorf("check listed = %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "", "check", "--data", data, "10.1.2.3")
	if code != exitNegative || !strings.Contains(out, "allowlisted") {
		t.Errorf("check allowlisted = %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "", "check", "--data", data, "192.0.2.1")
	if code != exitNegative || !strings.Contains(out, "not listed") {
		t.Errorf("check unlisted = %d\n%s", code, out)
	}
	code, _, stderr = runCmd(t, "", "check", "--data", data, "not-an-address!")
	if code != exitError || stderr == "" {
		t.Errorf("check garbage = %d, %q", code, stderr)
	}

	// Addresses on stdin, JSON out: one object per address.
	code, out, _ = runCmd(t, "10.1.2.3\n198.51.100.20\n", "check", "--data", data, "--json")
	if code != exitOK {
		t.Errorf("check --json = %d", code)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []map[string]any
	for dec.More() {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 2 || got[0]["allowlisted"] != true || got[1]["listed"] != true {
		t.Errorf("check --json = %v", got)
	}

	code, out, _ = runCmd(t, "", "feeds", "list", "--data", data)
	if code != exitOK || !strings.Contains(out, "socks.txt") || !strings.Contains(out, "level1.netset") {
		t.Errorf("feeds list = %d\n%s", code, out)
	}
}

func TestImportErrors(t *testing.T) {
	data := t.TempDir()
	code, _, stderr := runCmd(t, "", "import", "--data", data, filepath.Join(data, "missing.txt"))
	if code != exitError || !strings.Contains(stderr, "missing.txt") {
		t.Errorf("import missing = %d, %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "", "import", "--data", data, "--format", "nosuch", "x")
	if code != exitError || stderr == "" {
		t.Errorf("import bad format = %d, %q", code, stderr)
	}
}

func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("telemetry:\n  log_format: xml\n  listn: x\n"), 0o644)
	code, _, stderr := runCmd(t, "", "config", "check", "--config", bad)
	if code != exitError || !strings.Contains(stderr, "listn") {
		t.Errorf("config check bad = %d, %q", code, stderr)
	}
	code, out, _ := runCmd(t, "", "config", "check")
	if code != exitOK || !strings.Contains(out, "built-in defaults: ok") {
		t.Errorf("config check defaults = %d, %q", code, out)
	}
	code, out, _ = runCmd(t, "", "config", "dump")
	if code != exitOK || !strings.Contains(out, "data_dir: ./proxywatch-data") || !strings.Contains(out, "listen: 127.0.0.1:9410") {
		t.Errorf("config dump = %d\n%s", code, out)
	}
	if code, _, _ := runCmd(t, "", "config", "explain"); code != exitError {
		t.Errorf("config explain = %d, want %d", code, exitError)
	}
}

func TestSimulateAndEval(t *testing.T) {
	code, out, _ := runCmd(t, "", "simulate", "--list")
	if code != exitOK || !strings.Contains(out, "5socks") || !strings.Contains(out, "nsocks") {
		t.Fatalf("simulate --list = %d\n%s", code, out)
	}
	dir := t.TempDir()
	code, out, stderr := runCmd(t, "", "simulate", "--scenario", "smoke", "--out", dir, "--seed", "3", "--output", "truth", "--output", "sshd")
	if code != exitOK || !strings.Contains(out, "scenario smoke") {
		t.Fatalf("simulate = %d\n%s%s", code, out, stderr)
	}
	truth := filepath.Join(dir, "truth.json")
	if _, err := os.Stat(truth); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = runCmd(t, "", "eval", "--truth", truth, "--json", "-")
	if code != exitOK || !strings.Contains(out, "{") {
		t.Errorf("eval with no findings = %d\n%s%s", code, out, stderr)
	}
	if code, _, _ := runCmd(t, "", "eval", "--truth", filepath.Join(dir, "missing.json"), "-"); code != exitError {
		t.Errorf("eval with a missing truth file = %d, want %d", code, exitError)
	}
}

func TestExport(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "c2.txt")
	os.WriteFile(feed, []byte("Command and Control Servers:\n203.0.113.42\n10.9.9.9\n2001:db8::7\n"), 0o644)
	if code, out, stderr := runCmd(t, "", "import", "--data", data, feed); code != exitOK {
		t.Fatalf("import = %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := runCmd(t, "", "export", "--data", data, "--format", "plain")
	if code != exitOK || !strings.Contains(out, "203.0.113.42") || !strings.Contains(out, "2001:db8::7") || strings.Contains(out, "10.9.9.9") {
		t.Errorf("export plain = %d (allowlisted 10.9.9.9 must be carved out)\n%s%s", code, out, stderr)
	}
	path := filepath.Join(t.TempDir(), "pw.nft")
	if code, _, stderr := runCmd(t, "", "export", "--data", data, "--format", "nftables", "--out", path); code != exitOK {
		t.Fatalf("export nftables = %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "203.0.113.42") {
		t.Errorf("nftables export lacks the listed address:\n%s", b)
	}
	if code, _, _ := runCmd(t, "", "export", "--data", data, "--format", "pf"); code != exitError {
		t.Errorf("export unknown format = %d, want %d", code, exitError)
	}
	if code, out, _ := runCmd(t, "", "export", "--data", data, "--format", "rbldnsd"); code != exitOK || !strings.Contains(out, "203.0.113.42") {
		t.Errorf("export rbldnsd = %d\n%s", code, out)
	}
}

func TestLogsScan(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "Mar  2 10:%02d:01 host sshd[%d]: Failed password for root from 203.0.113.9 port %d ssh2\n", i, 1000+i, 40000+i)
	}
	log := filepath.Join(dir, "auth.log")
	os.WriteFile(log, []byte(b.String()), 0o644)
	code, out, stderr := runCmd(t, "", "logs", "scan", "--data", t.TempDir(), "--format", "sshd", "--json", log)
	if code != exitOK {
		t.Fatalf("logs scan = %d\n%s", code, stderr)
	}
	if !strings.Contains(out, `"type":"alert"`) || !strings.Contains(out, "203.0.113.9/32") || !strings.Contains(out, `"type":"decision"`) {
		t.Errorf("logs scan --json found no brute force by 203.0.113.9:\n%s", out)
	}
	if !strings.Contains(stderr, "30 lines") {
		t.Errorf("logs scan summary = %q", stderr)
	}
	if code, _, _ := runCmd(t, "", "logs", "scan", "--format", "syslog-ng", log); code != exitError {
		t.Errorf("logs scan with an unknown format = %d, want %d", code, exitError)
	}
}

func TestFlowsAnalyzeAndDump(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCmd(t, "", "simulate", "--scenario", "smoke", "--out", dir, "--output", "zeek", "--output", "ipfix"); code != exitOK {
		t.Fatalf("simulate = %d: %s", code, stderr)
	}
	conn := filepath.Join(dir, "conn.log")
	code, out, stderr := runCmd(t, "", "flows", "analyze", "--data", t.TempDir(), "--inside", "198.18.0.0/15", "--json", conn)
	if code != exitOK {
		t.Fatalf("flows analyze = %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"type":"finding"`) || !strings.Contains(stderr, "sessions") {
		t.Errorf("flows analyze --json found nothing in the smoke scenario:\n%.500s\n%s", out, stderr)
	}
	code, out, stderr = runCmd(t, "", "flows", "dump", filepath.Join(dir, "ipfix.pcap"))
	if code != exitOK || !strings.Contains(stderr, "records") {
		t.Errorf("flows dump = %d\n%.300s\n%s", code, out, stderr)
	}
	// The lines are the documented form (docs/flows.md).
	first, _, _ := strings.Cut(out, "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(first), &rec); err != nil {
		t.Fatalf("flows dump line %q: %v", first, err)
	}
	for _, k := range []string{"first", "last", "src", "src_port", "dst", "dst_port", "proto", "packets", "bytes", "exporter"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("flows dump line has no %q: %s", k, first)
		}
	}
	if code, _, _ := runCmd(t, "", "flows", "analyze", "--data", t.TempDir(), conn); code != exitError {
		t.Errorf("flows analyze without inside prefixes = %d, want %d", code, exitError)
	}
}

func TestDecisionsCommand(t *testing.T) {
	data := t.TempDir()
	code, out, stderr := runCmd(t, "", "decisions", "add", "--data", data, "--ttl", "1h", "--reason", "seen in a campaign", "203.0.113.9")
	if code != exitOK || !strings.Contains(out, "ban 203.0.113.9/32") {
		t.Fatalf("decisions add = %d\n%s%s", code, out, stderr)
	}
	id := strings.SplitN(out, ":", 2)[0]
	if code, out, _ := runCmd(t, "", "decisions", "list", "--data", data); code != exitOK || !strings.Contains(out, id) {
		t.Errorf("decisions list = %d\n%s", code, out)
	}
	// The decision is mirrored as an indicator: check lists the address.
	if code, out, _ := runCmd(t, "", "check", "--data", data, "203.0.113.9"); code != exitOK {
		t.Errorf("check after a decision = %d\n%s", code, out)
	}
	if code, _, stderr := runCmd(t, "", "decisions", "add", "--data", data, "10.0.0.0/24"); code != exitError || !strings.Contains(stderr, "allowlist") {
		t.Errorf("decisions add on the allowlist = %d, %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", "decisions", "delete", "--data", data, id); code != exitOK {
		t.Errorf("decisions delete = %d: %s", code, stderr)
	}
	if code, _, _ := runCmd(t, "", "check", "--data", data, "203.0.113.9"); code != exitNegative {
		t.Errorf("check after delete = %d, want %d", code, exitNegative)
	}
	if code, _, _ := runCmd(t, "", "alerts", "--data", data); code != exitOK {
		t.Errorf("alerts = %d", code)
	}
}

// TestFlagsAfterArguments checks that flags may follow file arguments,
// and that "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	log := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(log, []byte("Mar  2 10:00:00 web1 sshd[1]: Failed password for root from 203.0.113.5 port 4000 ssh2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCmd(t, "", "logs", "scan", log, "--format", "sshd", "--json", "--data", t.TempDir())
	if code != exitOK || stderr == "" || strings.Contains(stderr, "open --json") {
		t.Errorf("logs scan FILE --flags = %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCmd(t, "", "logs", "scan", "--format", "sshd", "--data", t.TempDir(), "--", "--json"); code != exitError || !strings.Contains(stderr, "--json") {
		t.Errorf("logs scan -- --json = %d, %q; want the file --json not found", code, stderr)
	}
}
