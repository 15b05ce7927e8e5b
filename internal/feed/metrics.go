package feed

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scheduler's Prometheus metrics. Labels are the feed name
// (from the configuration) and a reason from a fixed set.
type metrics struct {
	fetches      *prometheus.CounterVec
	errors       *prometheus.CounterVec
	holds        *prometheus.CounterVec
	forced       *prometheus.CounterVec
	guardRefused *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	state        *stateCollector
}

func newMetrics(reg prometheus.Registerer, s *Scheduler) (*metrics, error) {
	var errs []error
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
		errs = append(errs, err)
		return c
	}
	m := &metrics{
		fetches: counter("proxywatch_feed_fetches_total",
			"Feed refreshes by outcome (reason): updated, forced, not-modified, unchanged, held, failed.", "feed", "reason"),
		errors: counter("proxywatch_feed_errors_total",
			"Failed feed refreshes by reason: status, timeout, network, too-large, decompress, read, parse, sink.", "feed", "reason"),
		holds: counter("proxywatch_feed_holds_total",
			"Feed updates held back by the guard, by reason: churn, refused-share.", "feed", "reason"),
		forced: counter("proxywatch_feed_forced_accepts_total",
			"Feed updates accepted despite the guard after the configured number of holds.", "feed"),
		guardRefused: counter("proxywatch_feed_guard_refused_total",
			"Feed entries refused one by one by the guard, by reason: too-wide-v4, too-wide-v6, no-subject.", "feed", "reason"),
		bytes: counter("proxywatch_feed_fetched_bytes_total",
			"Bytes of feed documents received, after decompression.", "feed"),
	}
	sc := &stateCollector{}
	sc.src.Store(s)
	got, err := register(reg, sc)
	if err != nil {
		errs = append(errs, err)
	} else if got != sc {
		got.src.Store(s) // a reload: the registered collector now reports this scheduler
	}
	m.state = got
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register feed metrics: %w", err)
	}
	return m, nil
}

// register registers c with reg, or returns the collector already
// registered under the same descriptors (as after a reload).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if old, ok := are.ExistingCollector.(C); ok {
				return old, nil
			}
		}
		return c, err
	}
	return c, nil
}

// stateCollector reports gauges computed from the feeds' states at scrape
// time, so ages are exact.
type stateCollector struct {
	src atomic.Pointer[Scheduler]
}

var (
	descEntries = prometheus.NewDesc("proxywatch_feed_entries",
		"Indicators in the feed's current copy.", []string{"feed"}, nil)
	descLastSuccess = prometheus.NewDesc("proxywatch_feed_last_success_timestamp_seconds",
		"When the source last delivered or confirmed the feed's copy (Unix time).", []string{"feed"}, nil)
	descAge = prometheus.NewDesc("proxywatch_feed_age_seconds",
		"Seconds since the source last delivered or confirmed the feed's copy.", []string{"feed"}, nil)
	descStale = prometheus.NewDesc("proxywatch_feed_stale",
		"1 when the feed's copy is older than its max_age and does not match.", []string{"feed"}, nil)
	descLastGood = prometheus.NewDesc("proxywatch_feed_using_last_good",
		"1 while the feed serves its kept copy because the latest fetch failed or none succeeded since start-up.", []string{"feed"}, nil)
	descHolds = prometheus.NewDesc("proxywatch_feed_consecutive_holds",
		"Consecutive feed updates held by the guard.", []string{"feed"}, nil)
	descFailures = prometheus.NewDesc("proxywatch_feed_consecutive_failures",
		"Consecutive failed feed refreshes.", []string{"feed"}, nil)
	descBodyBytes = prometheus.NewDesc("proxywatch_feed_copy_bytes",
		"Size of the feed's current copy, after decompression.", []string{"feed"}, nil)
)

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEntries, descLastSuccess, descAge, descStale, descLastGood, descHolds, descFailures, descBodyBytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Load()
	if s == nil {
		return
	}
	now := time.Now()
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, st := range s.Status() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, st.Name)
		}
		gauge(descEntries, float64(st.Indicators))
		gauge(descStale, b2f(st.Stale))
		gauge(descLastGood, b2f(st.UsingLastGood))
		gauge(descHolds, float64(st.Holds))
		gauge(descFailures, float64(st.Failures))
		gauge(descBodyBytes, float64(st.Bytes))
		if !st.Checked.IsZero() {
			gauge(descLastSuccess, float64(st.Checked.UnixNano())/1e9)
			gauge(descAge, st.Age(now).Seconds())
		}
	}
}
