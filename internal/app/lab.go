package app

import (
	"context"
	"io"
	"log/slog"

	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/telemetry"
)

// SimulateOptions are the command line's simulate settings.
type SimulateOptions struct {
	Scenario string   // a built-in name or a YAML file
	Set      []string // overrides, "path=value"
	OutDir   string
	Size     string
	Seed     uint64
	Outputs  []string
	LiveAddr string // loopback collector for a paced live export; "" for none
	LiveRate float64
	LiveVer  int
}

// Scenarios lists the simulator's built-in scenarios.
func Scenarios() []sim.Info { return sim.Scenarios() }

// Simulate runs a scenario into files (and optionally a live export).
func Simulate(ctx context.Context, o SimulateOptions, log *slog.Logger) (sim.Summary, error) {
	sc, err := sim.LoadScenario(o.Scenario)
	if err != nil {
		return sim.Summary{}, err
	}
	if err := sim.Override(&sc, o.Set); err != nil {
		return sim.Summary{}, err
	}
	opts := sim.Options{OutDir: o.OutDir, Size: o.Size, Seed: o.Seed, Outputs: o.Outputs, Logger: log}
	if o.LiveAddr != "" {
		opts.Live = &sim.LiveOptions{Addr: o.LiveAddr, Rate: o.LiveRate, Version: o.LiveVer}
	}
	return sim.Run(ctx, sc, opts)
}

// DefaultEvalOptions returns the scorer's defaults, for the command to
// adjust.
func DefaultEvalOptions() eval.Options { return eval.DefaultOptions() }

// Eval scores a findings file against a truth file.
func Eval(truth, findings io.Reader, opts eval.Options) (eval.Report, error) {
	return eval.Score(truth, findings, opts)
}

// FormatNames lists the indicator formats import and feeds accept.
func FormatNames() []string { return formats.Names() }

// NewLogger returns the process logger as the telemetry section says.
func NewLogger(c telemetry.Config, w io.Writer) *slog.Logger { return telemetry.NewLogger(c, w) }
