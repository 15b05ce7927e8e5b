// Command proxywatch defends networks and login pages against
// residential-proxy botnets: it ingests threat-intelligence feeds, answers
// whether an address is a known proxy or C2 server and why, and runs the
// login and flow detectors.
//
// Usage:
//
//	proxywatch <command> [flags] [args]
//
// Run `proxywatch help` for the commands and `proxywatch <command> --help`
// for each one's flags. Exit codes are documented in docs/cli.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes, as grep uses them: 0 success (for check: something is
// listed), 1 a negative answer (for check: nothing is listed), 2 an error
// or a usage mistake.
const (
	exitOK       = 0
	exitNegative = 1
	exitError    = 2
)

// env is what a command gets from the process: streams, arguments,
// environment. Tests build one around buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
	isTerminal     bool // stdout is a terminal
}

// A command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "run the daemon: feeds, verdict table, telemetry", runServe},
		{"check", "tell whether addresses are listed, and why", runCheck},
		{"import", "import indicator files into the local store", runImport},
		{"decisions", "list, add or delete decisions (decisions list|add|delete)", runDecisions},
		{"alerts", "list the newest alerts", runAlerts},
		{"export", "write the block list for nftables, ipset, rbldnsd, or as plain, CSV or STIX", runExport},
		{"feeds", "list configured feeds or update them now (feeds list|update)", runFeeds},
		{"flows", "run the flow detectors over NetFlow/IPFIX pcaps and Zeek logs (flows analyze|dump)", runFlows},
		{"logs", "run the login detectors over auth logs (logs scan)", runLogs},
		{"config", "check or dump the configuration (config check|dump)", runConfig},
		{"simulate", "play a proxy-botnet scenario into logs, flows and ground truth", runSimulate},
		{"eval", "score detection output against ground truth", runEval},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), isTerminal: isTerminal(os.Stdout)}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return run(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		if len(args) == 0 {
			return exitError
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "proxywatch: unknown command %q (see `proxywatch help`)\n", args[0])
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: proxywatch <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `proxywatch <command> --help` for a command's flags. Exit codes: 0 ok (check: listed),")
	fmt.Fprintln(w, "1 negative (check: not listed), 2 error.")
}

// newFlags returns a flag set for a subcommand whose usage goes to e.stderr
// and that reports errors rather than exiting.
func newFlags(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: proxywatch %s %s\n\n%s\n\nflags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, returning the exit code to use when parsing
// ended the command (help or a mistake) and ok=false. Flags may follow
// the other arguments (`logs scan auth.log --json`); after "--" every
// argument is positional.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	var positional []string
	err := fs.Parse(args)
	for err == nil && fs.NArg() > 0 {
		rest := fs.Args()
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...) // the flag package stopped at "--"
			break
		}
		positional = append(positional, rest[0])
		err = fs.Parse(rest[1:])
	}
	if err == nil {
		err = fs.Parse(append([]string{"--"}, positional...))
	}
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	default:
		return exitError, false
	}
}

// parseSub reads a command's subcommand, args[0], and parses the flags
// after it. It shows the usage for none (ok=false, exitError) and for a
// help flag in its place (ok=false, exitOK).
func parseSub(fs *flag.FlagSet, args []string) (sub string, code int, ok bool) {
	if len(args) == 0 {
		fs.Usage()
		return "", exitError, false
	}
	sub = args[0]
	if sub == "-h" || sub == "--help" || sub == "-help" {
		fs.Usage()
		return "", exitOK, false
	}
	code, ok = parseFlags(fs, args[1:])
	return sub, code, ok
}

// configFlag adds the common --config flag, defaulting to $PROXYWATCH_CONFIG.
func configFlag(fs *flag.FlagSet, e *env) *string {
	def := ""
	for _, kv := range e.environ {
		if v, ok := strings.CutPrefix(kv, "PROXYWATCH_CONFIG="); ok {
			def = v
		}
	}
	return fs.String("config", def, "configuration `file` (default $PROXYWATCH_CONFIG; none: built-in defaults)")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// errorf prints a command error and returns exitError.
func errorf(e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "proxywatch: "+format+"\n", args...)
	return exitError
}
