package main

import (
	"context"
	"iter"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/enrich"
)

// run runs the detectors and the decision process with the shipped
// defaults over the sources, in event time, as `proxywatch logs scan`
// does, and returns the alerts and decisions taken as records. A non-nil
// en gives the detectors ASNs and countries, as `logs scan` does with the
// enrich section configured.
func run(ctx context.Context, en *enrich.Enricher, sources ...iter.Seq[proxywatch.Event]) ([]proxywatch.Record, authwatch.Stats, error) {
	var recs []proxywatch.Record
	dcfg := decision.DefaultConfig()
	m, err := decision.New(dcfg, decision.Deps{
		Allowlist: allowlist.DefaultConfig().Effective(),
		Report:    func(r proxywatch.Record) { recs = append(recs, r) },
	})
	if err != nil {
		return nil, authwatch.Stats{}, err
	}
	deps := authwatch.Deps{Out: m, Policy: &dcfg.Config}
	if en != nil {
		deps.Enrich = en.Lookup
	}
	res, err := authwatch.Scan(ctx, authwatch.DefaultConfig(), deps, sources...)
	if err != nil {
		return nil, res.Stats, err
	}
	return recs, res.Stats, nil
}
