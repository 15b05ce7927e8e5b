package dnsbl

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values. Every label comes from one of these fixed sets.
var (
	rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"}
	qtypeNames = [...]string{"A", "TXT", "ANY", "SOA", "NS", "AAAA", "other"}
)

const (
	transportUDP = 0
	transportTCP = 1
)

var transportNames = [...]string{"udp", "tcp"}

func rcodeIndex(rc int) int {
	switch {
	case rc >= 0 && rc <= rcodeRefused:
		return rc
	case rc == 16: // BADVERS
		return 6
	}
	return 7
}

func qtypeIndex(t uint16) int {
	switch t {
	case typeA:
		return 0
	case typeTXT:
		return 1
	case typeANY:
		return 2
	case typeSOA:
		return 3
	case typeNS:
		return 4
	case typeAAAA:
		return 5
	}
	return 6
}

// metrics are the server's Prometheus metrics. Counters are resolved
// once, so that counting on the hot path is one atomic add.
type metrics struct {
	queries     [len(transportNames)][len(rcodeNames)][len(qtypeNames)]prometheus.Counter
	latency     prometheus.Histogram
	rateDropped prometheus.Counter
	rateSlipped prometheus.Counter
	refusedACL  prometheus.Counter
	refusedZone prometheus.Counter
	errors      struct{ short, formerr, pack, panics, read, write prometheus.Counter }
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	queries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "proxywatch_dnsbl_queries_total",
		Help: "DNSBL queries answered, by transport, response code and query type.",
	}, []string{"transport", "rcode", "qtype"})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "proxywatch_dnsbl_request_duration_seconds",
		Help:    "Time from reading a UDP query to sending its answer.",
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2},
	})
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "proxywatch_dnsbl_rate_limited_total",
		Help: "UDP responses held back by response-rate limiting, by action: dropped, or slipped (sent truncated).",
	}, []string{"action"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "proxywatch_dnsbl_refused_total",
		Help: "Queries refused, by reason: acl (client not allowed; dropped over UDP) or zone (outside every zone).",
	}, []string{"reason"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "proxywatch_dnsbl_errors_total",
		Help: "Queries that could not be answered normally, by reason.",
	}, []string{"reason"})
	m := &metrics{
		latency:     latency,
		rateDropped: limited.WithLabelValues("dropped"),
		rateSlipped: limited.WithLabelValues("slipped"),
		refusedACL:  refused.WithLabelValues("acl"),
		refusedZone: refused.WithLabelValues("zone"),
	}
	m.errors.short = errs.WithLabelValues("short")
	m.errors.formerr = errs.WithLabelValues("formerr")
	m.errors.pack = errs.WithLabelValues("pack")
	m.errors.panics = errs.WithLabelValues("panic")
	m.errors.read = errs.WithLabelValues("read")
	m.errors.write = errs.WithLabelValues("write")
	for t, tn := range transportNames {
		for r, rn := range rcodeNames {
			for q, qn := range qtypeNames {
				m.queries[t][r][q] = queries.WithLabelValues(tn, rn, qn)
			}
		}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{queries, latency, limited, refused, errs} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dnsbl: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) count(transport, rcode int, qtype uint16) {
	m.queries[transport][rcodeIndex(rcode)][qtypeIndex(qtype)].Inc()
}
