// Package nfexport encodes flow records as NetFlow v9 (RFC 3954) and IPFIX
// (RFC 7011) export packets, as a router's exporter would send them:
// templates refreshed every few packets, sequence numbers, a sampling
// options record when packets are sampled, and timestamps from a clock
// that may be skewed. It also frames the packets into a classic pcap file.
//
// It encodes only; the decoders the collector uses live with the flow
// package.
package nfexport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// A Record is one unidirectional flow record. Times are microseconds
// since the Unix epoch by the true clock; the exporter applies its skew.
// Packets and Bytes are what the exporter counted (after sampling, and
// at the IP layer).
type Record struct {
	First, Last      int64
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	TCPFlags         uint8
	Packets, Bytes   uint64
	InIf, OutIf      uint16
	Egress           bool // flowDirection: false ingress, true egress
}

// The template IDs the exporter uses.
const (
	TemplateV4      = 256
	TemplateV6      = 257
	TemplateOptions = 258
)

// Config configures an Exporter.
type Config struct {
	Version       int    // 9 or 10 (IPFIX)
	SourceID      uint32 // v9 source ID, IPFIX observation domain ID
	Sampling      int    // 1 in N packets; 1 means unsampled and sends no options
	ClockSkew     int64  // microseconds the exporter's clock is ahead of true time
	Boot          int64  // true time the exporter booted, microseconds (v9 sysUptime)
	TemplateEvery int    // packets between template (and options) refreshes
	MaxSize       int    // largest datagram payload; 0 means 1400
	FlushAfter    int64  // a buffered record waits at most this long, microseconds; 0 means 1s
}

// A Sink receives export packets in time order. The payload is only valid
// during the call.
type Sink interface {
	WritePacket(t int64, payload []byte) error
}

// An Exporter turns records into export packets and hands them to its
// sinks. Records must be added in non-decreasing export time. An Exporter
// is not safe for concurrent use.
type Exporter struct {
	cfg     Config
	sinks   []Sink
	pending []Record
	first   int64 // export time of the oldest pending record
	size    int   // encoded size of the pending records with their set headers
	n4, n6  int
	packets uint64 // packets sent
	records uint64 // data records sent (flow records, not options)
	optRecs uint64 // options data records sent
	seqData uint32 // IPFIX sequence: data records sent before this packet
	buf     []byte
	tmpl    []byte // the template set, encoded once
	opts    []byte // the options template and data sets, or nil when unsampled
}

// Encoded record lengths by version and family.
func recLen(version int, v6 bool) int {
	n := 44 // v9: 8+8+1+1+1+2+4+2+2+4+2+4+4+1
	if version == 10 {
		n = 56 // IPFIX: 8+8+1+1+1+2+4+4+2+4+4+8+8+1
	}
	if v6 {
		n += 24
	}
	return n
}

func headerLen(version int) int {
	if version == 10 {
		return 16
	}
	return 20
}

// New returns an exporter that sends to sinks.
func New(cfg Config, sinks ...Sink) (*Exporter, error) {
	if cfg.Version != 9 && cfg.Version != 10 {
		return nil, fmt.Errorf("export version %d: must be 9 or 10", cfg.Version)
	}
	if cfg.Sampling < 1 {
		return nil, errors.New("sampling must be at least 1")
	}
	if cfg.TemplateEvery < 1 {
		cfg.TemplateEvery = 20
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 1400
	}
	if cfg.MaxSize < 512 || cfg.MaxSize > 65000 {
		return nil, fmt.Errorf("max size %d: must be between 512 and 65000", cfg.MaxSize)
	}
	if cfg.FlushAfter <= 0 {
		cfg.FlushAfter = 1e6
	}
	e := &Exporter{cfg: cfg, sinks: sinks, buf: make([]byte, 0, cfg.MaxSize+256)}
	e.tmpl = templateSet(cfg.Version)
	if cfg.Sampling > 1 {
		e.opts = optionsSets(cfg.Version, cfg.SourceID, uint32(cfg.Sampling))
	}
	return e, nil
}

// Records returns the number of flow records exported so far.
func (e *Exporter) Records() uint64 { return e.records }

// Packets returns the number of export packets sent so far.
func (e *Exporter) Packets() uint64 { return e.packets }

// templateDue reports whether the next packet carries templates.
func (e *Exporter) templateDue() bool { return e.packets%uint64(e.cfg.TemplateEvery) == 0 }

// fixedLen returns the size of the next packet without its data sets.
func (e *Exporter) fixedLen() int {
	n := headerLen(e.cfg.Version)
	if e.templateDue() {
		n += len(e.tmpl) + len(e.opts)
	}
	return n
}

// Add queues r, exported at time t (true time, microseconds), and sends a
// packet when the queue is full or its oldest record has waited FlushAfter.
func (e *Exporter) Add(t int64, r *Record) error {
	if err := e.Tick(t); err != nil {
		return err
	}
	v6 := r.Src.Is6()
	add := recLen(e.cfg.Version, v6)
	if (v6 && e.n6 == 0) || (!v6 && e.n4 == 0) {
		add += 4 + 3 // set header and worst-case padding
	}
	if len(e.pending) > 0 && e.fixedLen()+e.size+add > e.cfg.MaxSize {
		if err := e.Flush(t); err != nil {
			return err
		}
		add = recLen(e.cfg.Version, v6) + 7
	}
	if len(e.pending) == 0 {
		e.first = t
	}
	e.pending = append(e.pending, *r)
	e.size += add
	if v6 {
		e.n6++
	} else {
		e.n4++
	}
	return nil
}

// Tick sends the queued records if the oldest has waited FlushAfter by
// time t; the packet is stamped when that wait ended.
func (e *Exporter) Tick(t int64) error {
	if len(e.pending) > 0 && t-e.first >= e.cfg.FlushAfter {
		return e.Flush(e.first + e.cfg.FlushAfter)
	}
	return nil
}

// Close sends the queued records, if any.
func (e *Exporter) Close() error {
	if len(e.pending) == 0 {
		return nil
	}
	return e.Flush(e.first + e.cfg.FlushAfter)
}

// Flush sends the queued records, if any, as one packet stamped t.
func (e *Exporter) Flush(t int64) error {
	if len(e.pending) == 0 {
		return nil
	}
	b := e.encode(t)
	for _, s := range e.sinks {
		if err := s.WritePacket(t, b); err != nil {
			return err
		}
	}
	e.pending = e.pending[:0]
	e.size, e.n4, e.n6 = 0, 0, 0
	return nil
}

var be = binary.BigEndian

// encode builds the packet for the pending records.
func (e *Exporter) encode(t int64) []byte {
	v := e.cfg.Version
	b := e.buf[:0]
	clock := t + e.cfg.ClockSkew
	count := 0
	hdr := len(b)
	b = append(b, make([]byte, headerLen(v))...)
	if e.templateDue() {
		b = append(b, e.tmpl...)
		count += 2
		if e.opts != nil {
			b = append(b, e.opts...)
			count += 2
			e.optRecs++
		}
	}
	for _, fam := range []bool{false, true} {
		n := e.n4
		id := uint16(TemplateV4)
		if fam {
			n, id = e.n6, TemplateV6
		}
		if n == 0 {
			continue
		}
		start := len(b)
		b = be.AppendUint16(b, id)
		b = be.AppendUint16(b, 0)
		for i := range e.pending {
			r := &e.pending[i]
			if r.Src.Is6() != fam {
				continue
			}
			b = e.appendRecord(b, r)
			count++
		}
		for (len(b)-start)%4 != 0 {
			b = append(b, 0)
		}
		be.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	h := b[hdr:]
	if v == 9 {
		be.PutUint16(h[0:], 9)
		be.PutUint16(h[2:], uint16(count))
		be.PutUint32(h[4:], uint32((t-e.cfg.Boot)/1000))
		be.PutUint32(h[8:], uint32(clock/1e6))
		be.PutUint32(h[12:], uint32(e.packets))
		be.PutUint32(h[16:], e.cfg.SourceID)
	} else {
		be.PutUint16(h[0:], 10)
		be.PutUint16(h[2:], uint16(len(b)-hdr))
		be.PutUint32(h[4:], uint32(clock/1e6))
		be.PutUint32(h[8:], e.seqData)
		be.PutUint32(h[12:], e.cfg.SourceID)
	}
	// The IPFIX sequence counts every data record, options data records
	// included, as RFC 7011 (section 3.1) says and tshark checks. nfdump
	// 1.7.1 counts flow records only, so with sampling on it reports one
	// "sequence error" per options record; it loses no flows over it.
	data := uint32(len(e.pending))
	if e.templateDue() && e.opts != nil {
		data++
	}
	e.seqData += data
	e.records += uint64(len(e.pending))
	e.packets++
	e.buf = b
	return b
}

func (e *Exporter) appendRecord(b []byte, r *Record) []byte {
	v := e.cfg.Version
	b = be.AppendUint64(b, r.Bytes)
	b = be.AppendUint64(b, r.Packets)
	b = append(b, r.Proto, 0, r.TCPFlags)
	b = be.AppendUint16(b, r.SrcPort)
	b = appendAddr(b, r.Src)
	if v == 9 {
		b = be.AppendUint16(b, r.InIf)
	} else {
		b = be.AppendUint32(b, uint32(r.InIf))
	}
	b = be.AppendUint16(b, r.DstPort)
	b = appendAddr(b, r.Dst)
	if v == 9 {
		b = be.AppendUint16(b, r.OutIf)
		b = be.AppendUint32(b, uint32((r.Last-e.cfg.Boot)/1000))
		b = be.AppendUint32(b, uint32((r.First-e.cfg.Boot)/1000))
	} else {
		b = be.AppendUint32(b, uint32(r.OutIf))
		b = be.AppendUint64(b, uint64((r.First+e.cfg.ClockSkew)/1000))
		b = be.AppendUint64(b, uint64((r.Last+e.cfg.ClockSkew)/1000))
	}
	dir := byte(0)
	if r.Egress {
		dir = 1
	}
	return append(b, dir)
}

// appendAddr appends the 4 or 16 bytes of a.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}
