package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch/internal/verdict"
)

// registerMetrics exports the table's size and the follower's position.
func registerMetrics(reg prometheus.Registerer, t *verdict.Table, f *follower) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "proxywatch_verdict_indicators",
			Help: "Indicators held by the verdict table, expired ones not yet dropped included.",
		}, func() float64 { return float64(t.Stats().Indicators) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "proxywatch_verdict_pending_changes",
			Help: "Single changes not yet folded into the main table.",
		}, func() float64 { return float64(t.Stats().Pending) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "proxywatch_store_change_cursor",
			Help: "The last store change applied to the verdict table.",
		}, func() float64 { return float64(f.applied.Load()) }),
	)
}
