// Package netflow decodes NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX
// (RFC 7011) export packets into flow.Records, and collects them from a UDP
// socket.
//
// [Decoder] is the packet path: template caches per exporter and
// observation domain (with expiry), sampling rates (from the v5 header,
// v9/IPFIX options records or the record itself, else configured per
// exporter), IPv4 and IPv6, and loss accounting from sequence numbers.
// Malformed, truncated and template-less input is counted by reason and
// skipped, never a crash. [Collector] runs a Decoder on a UDP socket and
// hands record batches to a channel; [Reader] runs one over captured
// datagrams (see package pcapread).
//
// The decoder is our own: templates are compiled into offset tables on
// arrival, so a data record is decoded without allocation. It is checked
// differentially against github.com/netsampler/goflow2's decoders, which
// it outruns (see docs/flows.md for the figures).
package netflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// Options configures a Decoder. The zero Options is usable: defaults apply
// to zero fields.
type Options struct {
	// TemplateTimeout drops templates (and options-derived state) not
	// announced again for this long, by the datagrams' own time. Default 2h.
	TemplateTimeout time.Duration
	// MaxDomains bounds the exporter and observation-domain pairs tracked
	// at once. Default 4096.
	MaxDomains int
	// MaxTemplates bounds the templates kept per domain. Default 1024.
	MaxTemplates int
	// Sampling gives the sampling rate of exporters that do not announce
	// it (or, with Override, whose announcement is to be ignored). The
	// first rule whose prefix holds the exporter applies.
	Sampling []SamplingRule
}

// A SamplingRule sets the sampling rate of the exporters in a prefix.
type SamplingRule struct {
	Exporter netip.Prefix `yaml:"exporter"`
	Rate     uint32       `yaml:"rate"`     // 1 in Rate packets; 0 or 1: unsampled
	Override bool         `yaml:"override"` // ignore what the exporter announces
}

func (o Options) withDefaults() Options {
	if o.TemplateTimeout <= 0 {
		o.TemplateTimeout = 2 * time.Hour
	}
	if o.MaxDomains <= 0 {
		o.MaxDomains = 4096
	}
	if o.MaxTemplates <= 0 {
		o.MaxTemplates = 1024
	}
	return o
}

// domainKey identifies an observation domain: exporter, version and domain
// (v9 source ID, IPFIX observation domain ID, v5 engine type and ID).
type domainKey struct {
	addr    [16]byte
	domain  uint32
	version uint16
}

// domain is the state kept per observation domain.
type domain struct {
	exporter  netip.Addr
	id        uint32
	templates map[uint16]*template
	seq       sequence
	rate      uint32            // announced by an options record without a sampler ID
	samplers  map[uint64]uint32 // sampler or selector ID -> announced rate
	sysInitMs int64             // IPFIX systemInitTimeMilliseconds from an options record
	conf      SamplingRule      // configured for this exporter; Rate 0 when none
	lastSeen  time.Time
}

const maxSamplers = 256

// A Decoder decodes export packets. It keeps per-exporter state (templates,
// sequence numbers, sampling rates), so all packets of one exporter must go
// through the same Decoder, in order. A Decoder is not safe for concurrent
// Decode calls; Stats may be called concurrently.
type Decoder struct {
	opts      Options
	domains   map[domainKey]*domain
	lastSweep time.Time
	fields    []field // scratch for template parsing
	lastKey   domainKey
	lastDom   *domain // the domain of the previous packet: most come from the same one
	c         counters
}

// NewDecoder returns a decoder with the given options.
func NewDecoder(opts Options) *Decoder {
	return &Decoder{opts: opts.withDefaults(), domains: make(map[domainKey]*domain)}
}

// Decode decodes one export datagram sent by exporter and received at t,
// appends its flow records to dst and returns the extended slice. The
// version is read from the payload, whatever the port.
//
// Input it cannot use (malformed or truncated packets and sets, data for
// unknown templates, a bound reached) is counted in Stats and reported as
// a *flow.ParseError naming the first problem (a malformed or truncated
// part before data for an unknown template); the records decoded from
// the rest of the packet are still appended. Template and options-only
// packets append nothing and return nil.
func (d *Decoder) Decode(dst []flow.Record, payload []byte, exporter netip.Addr, t time.Time) ([]flow.Record, error) {
	if t.Sub(d.lastSweep) > d.opts.TemplateTimeout/8 || t.Before(d.lastSweep) {
		d.sweep(t)
	}
	if len(payload) < 2 {
		return dst, d.fail(flow.ReasonShort, "packet of %d bytes", len(payload))
	}
	switch v := binary.BigEndian.Uint16(payload); v {
	case 5:
		return d.decodeV5(dst, payload, exporter, t)
	case 9:
		return d.decodeV9(dst, payload, exporter, t)
	case 10:
		return d.decodeIPFIX(dst, payload, exporter, t)
	default:
		return dst, d.fail(flow.ReasonVersion, "version %d", v)
	}
}

// fail counts a problem and returns it as a ParseError.
func (d *Decoder) fail(reason, format string, args ...any) error {
	d.c.errors[reasonIndex(reason)].Add(1)
	return &flow.ParseError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// domainFor returns the state of an observation domain, creating it when
// there is room. It returns nil when MaxDomains is reached.
func (d *Decoder) domainFor(exporter netip.Addr, version uint16, id uint32, t time.Time) *domain {
	k := domainKey{addr: exporter.As16(), domain: id, version: version}
	if d.lastDom != nil && k == d.lastKey {
		d.lastDom.lastSeen = t
		return d.lastDom
	}
	if dom := d.domains[k]; dom != nil {
		dom.lastSeen = t
		d.lastKey, d.lastDom = k, dom
		return dom
	}
	if len(d.domains) >= d.opts.MaxDomains {
		d.sweep(t)
		if len(d.domains) >= d.opts.MaxDomains {
			return nil
		}
	}
	dom := &domain{exporter: exporter.Unmap(), id: id, lastSeen: t}
	for _, r := range d.opts.Sampling {
		if r.Exporter.Contains(dom.exporter) {
			dom.conf = r
			break
		}
	}
	d.domains[k] = dom
	d.lastKey, d.lastDom = k, dom
	d.c.domains.Store(int64(len(d.domains)))
	return dom
}

// sweep drops templates not announced within the timeout and domains not
// heard from within it.
func (d *Decoder) sweep(t time.Time) {
	d.lastSweep = t
	d.lastDom = nil
	cutoff := t.Add(-d.opts.TemplateTimeout)
	n := 0
	for k, dom := range d.domains {
		if dom.lastSeen.Before(cutoff) {
			d.c.expired.Add(uint64(len(dom.templates)))
			delete(d.domains, k)
			continue
		}
		for id, tp := range dom.templates {
			if tp.seen.Before(cutoff) {
				delete(dom.templates, id)
				d.c.expired.Add(1)
			}
		}
		n += len(dom.templates)
	}
	d.c.domains.Store(int64(len(d.domains)))
	d.c.templates.Store(int64(n))
}

// samplingRate picks the rate for a record: configured overrides first,
// then what the record says, then the sampler it names, then the domain's
// announced rate, then the configured default. It returns at least 1.
func (dom *domain) samplingRate(own uint32, sampler uint64, hasSampler bool) uint32 {
	switch {
	case dom.conf.Override && dom.conf.Rate > 0:
		return dom.conf.Rate
	case own > 0:
		return own
	}
	if hasSampler {
		if r, ok := dom.samplers[sampler]; ok && r > 0 {
			return r
		}
	}
	switch {
	case dom.rate > 0:
		return dom.rate
	case dom.conf.Rate > 0:
		return dom.conf.Rate
	}
	return 1
}
