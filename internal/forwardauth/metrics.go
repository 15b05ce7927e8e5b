package forwardauth

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// The reasons of a decision, a fixed set used as metric labels and in the
// reason header.
const (
	reasonListed        = "listed"         // some hit reaches the minimum confidence
	reasonUnlisted      = "unlisted"       // no hit, or none reaching the minimum
	reasonAllowlisted   = "allowlisted"    // would be listed, but the address is allowlisted
	reasonUnknownClient = "unknown_client" // no usable client address; decided by unknown_client
)

// metrics are the endpoint's Prometheus metrics. Every label value comes
// from a fixed set; counters are resolved once so that a request costs no
// label lookup.
type metrics struct {
	decisions    *prometheus.CounterVec
	clientErrors *prometheus.CounterVec
	latency      prometheus.Histogram
	panics       prometheus.Counter

	allowUnlisted, allowAllowlisted, allowUnknown, denyListed, denyUnknown prometheus.Counter
	noPeer, missing, malformed, obfuscated                                 prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxywatch_forwardauth_decisions_total",
			Help: "Forward-auth decisions (allow, deny) by reason: listed, unlisted, allowlisted, unknown_client.",
		}, []string{"decision", "reason"}),
		clientErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxywatch_forwardauth_client_errors_total",
			Help: "Forward-auth requests without a usable client address, by reason: no_peer, missing, malformed, obfuscated.",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "proxywatch_forwardauth_request_duration_seconds",
			Help:    "Forward-auth decision latency, from the end of the headers to the answer.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .01, .1},
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "proxywatch_forwardauth_panics_total",
			Help: "Forward-auth requests whose handler panicked; each is logged.",
		}),
	}
	if reg != nil {
		var errs []error
		m.decisions, errs = register(reg, m.decisions, errs)
		m.clientErrors, errs = register(reg, m.clientErrors, errs)
		m.latency, errs = register(reg, m.latency, errs)
		m.panics, errs = register(reg, m.panics, errs)
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("register forwardauth metrics: %w", err)
		}
	}
	m.allowUnlisted = m.decisions.WithLabelValues("allow", reasonUnlisted)
	m.allowAllowlisted = m.decisions.WithLabelValues("allow", reasonAllowlisted)
	m.allowUnknown = m.decisions.WithLabelValues("allow", reasonUnknownClient)
	m.denyListed = m.decisions.WithLabelValues("deny", reasonListed)
	m.denyUnknown = m.decisions.WithLabelValues("deny", reasonUnknownClient)
	m.noPeer = m.clientErrors.WithLabelValues(errNoPeer.Error())
	m.missing = m.clientErrors.WithLabelValues(errMissing.Error())
	m.malformed = m.clientErrors.WithLabelValues(errMalformed.Error())
	m.obfuscated = m.clientErrors.WithLabelValues(errObfuscated.Error())
	return m, nil
}

// register registers c, or returns the collector registered before (a
// server rebuilt on reload keeps counting into the same series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errs []error) (C, []error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev, errs
			}
		}
		return c, append(errs, err)
	}
	return c, errs
}

func (m *metrics) clientError(err error) {
	switch err {
	case errNoPeer:
		m.noPeer.Inc()
	case errMissing:
		m.missing.Inc()
	case errMalformed:
		m.malformed.Inc()
	case errObfuscated:
		m.obfuscated.Inc()
	}
}
