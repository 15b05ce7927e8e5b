package netflow

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics exports a Collector's counters. Labels come from fixed sets:
// version ("5", "9", "10") and reason (Reasons).
type metrics struct {
	c                                                  *Collector
	packets, records, lost, reordered, resets          *prometheus.Desc
	errors, noAddress, templates, domains, expired     *prometheus.Desc
	datagrams, bytes, drops, blocked, rcvbuf, batchCap *prometheus.Desc
}

func newMetrics(c *Collector) *metrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("proxywatch_flow_"+name, help, labels, nil)
	}
	return &metrics{
		c:         c,
		packets:   d("packets_total", "Export packets decoded, by version.", "version"),
		records:   d("records_total", "Flow records decoded, by version.", "version"),
		lost:      d("lost_total", "Units missing by sequence numbers: flows (v5), packets (v9), data records (IPFIX).", "version"),
		reordered: d("reordered_packets_total", "Export packets that arrived after a later one.", "version"),
		resets:    d("sequence_resets_total", "Sequence restarts (exporter reboots, jumps).", "version"),
		errors:    d("errors_total", "Export packets or parts of them skipped, by reason.", "reason"),
		noAddress: d("no_address_records_total", "Data records without both addresses, skipped."),
		templates: d("templates", "Templates cached."),
		domains:   d("exporter_domains", "Exporter and observation-domain pairs tracked."),
		expired:   d("templates_expired_total", "Templates dropped for not being announced again."),
		datagrams: d("datagrams_total", "UDP datagrams received."),
		bytes:     d("received_bytes_total", "UDP payload bytes received."),
		drops:     d("socket_drops_total", "Datagrams the kernel dropped because the socket buffer was full."),
		blocked:   d("output_blocked_seconds_total", "Time spent waiting for the consumer of record batches."),
		rcvbuf:    d("receive_buffer_bytes", "Socket receive buffer obtained."),
		batchCap:  d("batch_queue_length", "Record batches waiting for the consumer."),
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.packets, m.records, m.lost, m.reordered, m.resets, m.errors, m.noAddress,
		m.templates, m.domains, m.expired, m.datagrams, m.bytes, m.drops, m.blocked, m.rcvbuf, m.batchCap} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.c.dec.Stats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	for v, name := range VersionNames {
		counter(m.packets, float64(s.Packets[v]), name)
		counter(m.records, float64(s.Records[v]), name)
		counter(m.lost, float64(s.Lost[v]), name)
		counter(m.reordered, float64(s.Reordered[v]), name)
		counter(m.resets, float64(s.Resets[v]), name)
	}
	for i, r := range Reasons {
		counter(m.errors, float64(s.Errors[i]), r)
	}
	counter(m.noAddress, float64(s.NoAddress))
	gauge(m.templates, float64(s.Templates))
	gauge(m.domains, float64(s.Domains))
	counter(m.expired, float64(s.Expired))
	sk := &m.c.sock
	counter(m.datagrams, float64(sk.datagrams.Load()))
	counter(m.bytes, float64(sk.bytes.Load()))
	counter(m.drops, float64(sk.drops.Load()))
	counter(m.blocked, float64(sk.blockedNs.Load())/1e9)
	gauge(m.rcvbuf, float64(sk.rcvbuf.Load()))
	gauge(m.batchCap, float64(len(m.c.out)))
}
