package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/app"
	"github.com/proxywatch/proxywatch/internal/config"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func runSimulate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "simulate", "[--list] [--scenario NAME|FILE] [--out DIR] [--size small|full] [--seed N] [--set path=value]... [--live ADDR]",
		"simulate plays a proxy-botnet incident into the formats real networks produce (Zeek conn.log, NetFlow v9\n"+
			"and IPFIX pcaps, sshd syslog, web login events, an nginx access log), with a synthetic MaxMind\n"+
			"database and the ground truth (truth.json) that `proxywatch eval` scores detections against.\n"+
			"The same scenario, size and seed give byte-identical files. --live also sends the flow export\n"+
			"to a loopback collector, paced. See docs/simulator.md.")
	list := fs.Bool("list", false, "list the built-in scenarios and exit")
	scenario := fs.String("scenario", "5socks", "built-in scenario `name`, or a YAML file")
	out := fs.String("out", "", "output `directory` (required unless --live alone)")
	size := fs.String("size", "small", "small (minutes of work for tests and tours) or full (a week, ~1,000 bots)")
	seed := fs.Uint64("seed", 0, "random `seed` (0: the scenario's own)")
	var set, outputs listFlag
	fs.Var(&set, "set", "override a scenario key, `path=value` in YAML syntax (repeatable)")
	fs.Var(&outputs, "output", "write only this `output` (repeatable; default all)")
	live := fs.String("live", "", "also send the flow export to this loopback `addr:port`")
	rate := fs.Float64("rate", 0, "live export rate in datagrams/s (0: 5000)")
	liveVer := fs.Int("live-version", 0, "live export version: 9 or 10 (IPFIX, the default)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *list {
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SCENARIO\tBOTNET\tFULL\tSMALL\tDESCRIPTION")
		for _, s := range app.Scenarios() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Botnet, s.Duration, s.Small, s.Description)
		}
		tw.Flush()
		return exitOK
	}
	if *out == "" && *live == "" {
		return errorf(e, "simulate: --out or --live is required")
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return errorf(e, "simulate: %v", err)
		}
	}
	log := app.NewLogger(config.Default().Telemetry, e.stderr)
	sum, err := app.Simulate(ctx, app.SimulateOptions{
		Scenario: *scenario, Set: set, OutDir: *out, Size: *size, Seed: *seed, Outputs: outputs,
		LiveAddr: *live, LiveRate: *rate, LiveVer: *liveVer,
	}, log)
	if err != nil {
		return errorf(e, "simulate: %v", err)
	}
	if err := sum.WriteText(e.stdout); err != nil {
		return errorf(e, "simulate: %v", err)
	}
	return exitOK
}

// roleFlag collects --detector-role name=role.
type roleFlag map[string]proxywatch.Role

func (r roleFlag) String() string { return fmt.Sprint(map[string]proxywatch.Role(r)) }
func (r roleFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("want detector=role, got %q", s)
	}
	r[k] = proxywatch.Role(v)
	return nil
}

func runEval(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "eval", "--truth FILE [--json] [--grace D] [--any-time] FINDINGS.jsonl",
		"eval scores detection output (alert, finding and decision records as JSON lines, docs/schema.md) against\n"+
			"a truth file (the simulator's truth.json, or labelled addresses or flows as JSON lines) and prints\n"+
			"precision, recall, F1 and detection delay per role, as a table or as JSON. FINDINGS may be - for stdin.")
	truthPath := fs.String("truth", "", "truth `file` (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	opts := app.DefaultEvalOptions()
	fs.DurationVar(&opts.Grace, "grace", opts.Grace, "widen truth spans by this `duration` on both sides when matching")
	fs.BoolVar(&opts.AnyTime, "any-time", opts.AnyTime, "match records to truth addresses whatever their times")
	fs.IntVar(&opts.MaxPrefix4, "max-prefix4", opts.MaxPrefix4, "widest IPv4 prefix `bits` that counts for the addresses it covers")
	fs.IntVar(&opts.MaxPrefix6, "max-prefix6", opts.MaxPrefix6, "widest IPv6 prefix `bits` that counts for the addresses it covers")
	roles := roleFlag{}
	fs.Var(roles, "detector-role", "the role a detector's alerts and decisions assert, `detector=role` (repeatable)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *truthPath == "" || fs.NArg() != 1 {
		fs.Usage()
		return exitError
	}
	if len(roles) > 0 {
		if opts.DetectorRoles == nil {
			opts.DetectorRoles = map[string]proxywatch.Role{}
		}
		for k, v := range roles {
			opts.DetectorRoles[k] = v
		}
	}
	tf, err := os.Open(*truthPath)
	if err != nil {
		return errorf(e, "eval: %v", err)
	}
	defer tf.Close()
	findings := e.stdin
	if p := fs.Arg(0); p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return errorf(e, "eval: %v", err)
		}
		defer f.Close()
		findings = f
	}
	rep, err := app.Eval(tf, findings, opts)
	if err != nil {
		return errorf(e, "eval: %v", err)
	}
	if *asJSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteTable(e.stdout)
	}
	if err != nil {
		return errorf(e, "eval: %v", err)
	}
	return exitOK
}
