package netflow

import (
	"sync/atomic"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Indexes of the per-version counters in Stats.
const (
	V5    = 0 // NetFlow v5
	V9    = 1 // NetFlow v9
	IPFIX = 2 // IPFIX (version 10)

	numVersions = 3
	vUnknown    = -1
)

// VersionNames labels the per-version counters: "5", "9" and "10".
var VersionNames = [numVersions]string{"5", "9", "10"}

// Reasons lists the reasons Stats.Errors counts, in a fixed order.
var Reasons = []string{
	flow.ReasonShort, flow.ReasonVersion, flow.ReasonTruncated, flow.ReasonBadSet,
	flow.ReasonBadTemplate, flow.ReasonNoTemplate, flow.ReasonLimit,
}

func reasonIndex(r string) int {
	for i, s := range Reasons {
		if s == r {
			return i
		}
	}
	return 0
}

// Stats counts what a Decoder did. Lost is in each version's own unit:
// flows for v5, packets for v9 and data records for IPFIX, as their
// sequence numbers count.
type Stats struct {
	Packets   [numVersions]uint64 // export packets decoded, by version
	Records   [numVersions]uint64 // flow records produced
	Lost      [numVersions]uint64 // missing according to sequence numbers
	Reordered [numVersions]uint64 // packets that arrived after a later one
	Resets    [numVersions]uint64 // sequence restarts (exporter reboots, jumps)
	Errors    [7]uint64           // by reason, in the order of Reasons
	NoAddress uint64              // data records without source and destination addresses, skipped
	Templates int64               // templates cached now
	Domains   int64               // exporter and observation-domain pairs tracked now
	Expired   uint64              // templates dropped by TemplateTimeout
}

// counters are the live, concurrently readable Stats.
type counters struct {
	packets, records, lost, reordered, resets [numVersions]atomic.Uint64
	errors                                    [7]atomic.Uint64
	noAddress, expired                        atomic.Uint64
	templates, domains                        atomic.Int64
}

// Stats returns a snapshot of the decoder's counters. It is safe to call
// while another goroutine decodes.
func (d *Decoder) Stats() Stats {
	var s Stats
	c := &d.c
	for v := range numVersions {
		s.Packets[v] = c.packets[v].Load()
		s.Records[v] = c.records[v].Load()
		s.Lost[v] = c.lost[v].Load()
		s.Reordered[v] = c.reordered[v].Load()
		s.Resets[v] = c.resets[v].Load()
	}
	for i := range c.errors {
		s.Errors[i] = c.errors[i].Load()
	}
	s.NoAddress = c.noAddress.Load()
	s.Expired = c.expired.Load()
	s.Templates = c.templates.Load()
	s.Domains = c.domains.Load()
	return s
}
