package api

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// routeUnmatched labels requests that matched no route.
const routeUnmatched = "unmatched"

// metrics are the API's Prometheus metrics. The route label is a route
// pattern ("GET /v1/ip/{addr}") or "unmatched", never a path; the code
// label is an HTTP status the API produces.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	panics   prometheus.Counter
	routes   sync.Map // route -> *routeMetrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxywatch_api_requests_total",
			Help: "API requests by route pattern and HTTP status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "proxywatch_api_request_duration_seconds",
			Help:    "API request latency by route pattern, from the end of the headers to the end of the handler.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "proxywatch_api_panics_total",
			Help: "API requests whose handler panicked; each is logged.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	m.requests, errs = register(reg, m.requests, errs)
	m.latency, errs = register(reg, m.latency, errs)
	m.panics, errs = register(reg, m.panics, errs)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register api metrics: %w", err)
	}
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

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.route(route).observe(code, d)
}

// route returns the series of one route, made on first use.
func (m *metrics) route(route string) *routeMetrics {
	if rm, ok := m.routes.Load(route); ok {
		return rm.(*routeMetrics)
	}
	rm, _ := m.routes.LoadOrStore(route, &routeMetrics{m: m, route: route, latency: m.latency.WithLabelValues(route)})
	return rm.(*routeMetrics)
}

// routeMetrics caches a route's series, so that a request costs no label
// hashing.
type routeMetrics struct {
	m       *metrics
	route   string
	latency prometheus.Observer
	codes   sync.Map // int -> prometheus.Counter
}

func (rm *routeMetrics) observe(code int, d time.Duration) {
	c, ok := rm.codes.Load(code)
	if !ok {
		c, _ = rm.codes.LoadOrStore(code, rm.m.requests.WithLabelValues(rm.route, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
	rm.latency.Observe(d.Seconds())
}
