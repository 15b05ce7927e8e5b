package app

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch/internal/logparse"
)

// parseSnapshot is a log source's parser counts, copied by its reader
// goroutine (a parser is not safe for concurrent use) for the metrics.
type parseSnapshot struct {
	mu sync.Mutex
	st logparse.Stats
}

func (p *parseSnapshot) set(st logparse.Stats) {
	p.mu.Lock()
	p.st = st
	p.mu.Unlock()
}

func (p *parseSnapshot) get() logparse.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// watchCollector exports login watch's and flow watch's counts in serve.
type watchCollector struct {
	a *App

	lines, events, unparsed, commits, commitErrs  *prometheus.Desc
	authStats, decStats                           *prometheus.Desc
	flowInds, flowIndsDropped, zeekSess, zeekErrs *prometheus.Desc
	flowStats, flowRounds                         *prometheus.Desc
}

func newWatchCollector(a *App) *watchCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &watchCollector{
		a:               a,
		lines:           d("proxywatch_log_lines_total", "Lines read from a followed login log.", "source"),
		events:          d("proxywatch_log_events_total", "Login events a followed log's lines gave the detectors.", "source"),
		unparsed:        d("proxywatch_log_skipped_lines_total", "Lines of a followed log that gave no event, by reason (syntax, bad-time and bad-address are malformed lines).", "source", "reason"),
		commits:         d("proxywatch_log_commits_total", "Store transactions committing log positions with the alerts and decisions derived before them."),
		commitErrs:      d("proxywatch_log_commit_errors_total", "Commits of log positions that failed (retried at the next commit)."),
		authStats:       d("proxywatch_authwatch_total", "Counts of the login detectors, by what they count.", "count"),
		decStats:        d("proxywatch_decisions_total", "Counts of the decision process, by what they count.", "count"),
		flowInds:        d("proxywatch_flow_indicators_written_total", "Outside servers the flow detectors promoted, written to the store."),
		flowIndsDropped: d("proxywatch_flow_indicators_dropped_total", "Promoted indicators not written (queue full or store error)."),
		zeekSess:        d("proxywatch_zeek_sessions_total", "Sessions read from a followed Zeek conn.log.", "source"),
		zeekErrs:        d("proxywatch_zeek_refused_lines_total", "Lines of a followed Zeek conn.log refused as malformed.", "source"),
		flowStats:       d("proxywatch_flowwatch_total", "Counts of the flow detectors, by what they count (late sessions are dropped: they ended before the watermark).", "count"),
		flowRounds:      d("proxywatch_flowwatch_round_seconds_total", "Time the flow detectors' scoring rounds took."),
	}
}

// Describe implements prometheus.Collector.
func (c *watchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lines, c.events, c.unparsed, c.commits, c.commitErrs, c.authStats,
		c.decStats, c.flowInds, c.flowIndsDropped, c.zeekSess, c.zeekErrs, c.flowStats, c.flowRounds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *watchCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if lw := c.a.logs; lw != nil {
		for _, s := range lw.srcs {
			counter(c.lines, s.lines.Load(), s.cfg.Name)
			counter(c.events, s.events.Load(), s.cfg.Name)
			st := s.parsed.get()
			for r := logparse.Reason(1); r < logparse.NumReasons; r++ {
				counter(c.unparsed, st.ByReason[r], s.cfg.Name, r.String())
			}
		}
		counter(c.commits, lw.commits.Load())
		counter(c.commitErrs, lw.commitErrs.Load())
	}
	if c.a.watch != nil {
		st := c.a.watch.Stats()
		for k, v := range map[string]uint64{
			"events": st.Events, "late": st.Late, "failures": st.Failures, "successes": st.Successes,
			"forgiven": st.Forgiven, "alerts": st.Alerts, "decisions_proposed": st.Decisions,
			"campaigns": st.Campaigns, "participants": st.Participants, "sources_evicted": st.SourcesEvict,
			"users_evicted": st.UsersEvict, "members_folded": st.MembersFolded,
		} {
			counter(c.authStats, v, k)
		}
	}
	if c.a.dm != nil {
		st := c.a.dm.Stats()
		for k, v := range map[string]uint64{
			"proposed": st.Proposed, "taken": st.Taken, "aggregated": st.Aggregated, "escalated": st.Escalated,
			"duplicate": st.Duplicate, "allowlisted": st.Allowlisted, "refused": st.Refused, "expired": st.Expired,
			"alerts": st.Alerts, "store_errors": st.StoreErrors,
		} {
			counter(c.decStats, v, k)
		}
	}
	if fp := c.a.flows; fp != nil {
		counter(c.flowInds, fp.written.Load())
		counter(c.flowIndsDropped, fp.dropped.Load())
		for _, z := range fp.zeek {
			counter(c.zeekSess, z.sessions.Load(), z.cfg.Name)
			counter(c.zeekErrs, z.errs.Load(), z.cfg.Name)
		}
		st := fp.watch.Stats()
		for k, v := range map[string]int64{
			"sessions": st.Sessions, "late": st.Late, "internal": st.Internal, "external": st.External,
			"invalid": st.Invalid, "findings": st.Findings, "promoted": st.Promoted, "evictions": st.Evictions,
			"rounds": st.Evals,
		} {
			counter(c.flowStats, uint64(v), k)
		}
		ch <- prometheus.MustNewConstMetric(c.flowRounds, prometheus.CounterValue, st.EvalTime.Seconds())
	}
}
