package main

import (
	"context"
	"iter"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/decision"
)

// run runs the detectors and the decision process with the shipped
// defaults over the sources, in event time, as `proxywatch logs scan`
// does, and returns the alerts and decisions taken as records.
func run(ctx context.Context, sources ...iter.Seq[proxywatch.Event]) ([]proxywatch.Record, authwatch.Stats, error) {
	var recs []proxywatch.Record
	dcfg := decision.DefaultConfig()
	m, err := decision.New(dcfg, decision.Deps{
		Allowlist: allowlist.DefaultConfig().Effective(),
		Report:    func(r proxywatch.Record) { recs = append(recs, r) },
	})
	if err != nil {
		return nil, authwatch.Stats{}, err
	}
	res, err := authwatch.Scan(ctx, authwatch.DefaultConfig(), authwatch.Deps{Out: m, Policy: &dcfg.Config}, sources...)
	if err != nil {
		return nil, res.Stats, err
	}
	return recs, res.Stats, nil
}
