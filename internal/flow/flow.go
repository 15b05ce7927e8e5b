// Package flow holds the network-flow vocabulary that decoders produce and
// detectors consume: a unidirectional Record, as NetFlow and IPFIX export
// it, and a bidirectional Session, as Zeek's conn.log writes it and as the
// stitcher builds from Records.
//
// Decoders live in subpackages (netflow for NetFlow v5/v9 and IPFIX, zeek
// for conn.log TSV and JSON); detectors are in internal/flowwatch. This
// package does no I/O.
package flow

import (
	"net/netip"
	"time"
)

// Protocol numbers used throughout.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// A Record is one unidirectional flow as an exporter reports it: packets
// and bytes from Src to Dst between Start and End. Counts are as exported;
// SamplingRate says by how much to scale them (1 or 0: unsampled). The zero
// Record is invalid.
type Record struct {
	Start, End   time.Time
	Src, Dst     netip.Addr // unmapped
	SrcPort      uint16
	DstPort      uint16
	Proto        uint8
	TCPFlags     uint8 // cumulative OR of the flow's TCP flags
	Packets      uint64
	Bytes        uint64
	SamplingRate uint32
	Exporter     netip.Addr // the device that exported it; zero when unknown (files)
	Domain       uint32     // observation domain (IPFIX) or source ID (v9)
}

// Scaled returns the record's packets and bytes multiplied by its sampling
// rate: the estimate of what crossed the wire.
func (r *Record) Scaled() (packets, bytes uint64) {
	if r.SamplingRate <= 1 {
		return r.Packets, r.Bytes
	}
	return r.Packets * uint64(r.SamplingRate), r.Bytes * uint64(r.SamplingRate)
}

// A Session is a bidirectional conversation: the originator (Orig) opened
// it to the responder (Resp). Zeek writes sessions directly; NetFlow
// Records are stitched into sessions by matching the two directions.
type Session struct {
	Start    time.Time
	Duration time.Duration
	Orig     netip.AddrPort
	Resp     netip.AddrPort
	Proto    uint8
	Service  string // Zeek's service guess ("http", "ssl", ...), when known

	OrigPackets, RespPackets uint64 // scaled by sampling
	OrigBytes, RespBytes     uint64 // payload or IP bytes as the source reports; see Source docs
	State                    string // Zeek conn_state ("S0", "SF", "REJ", ...) or "" from NetFlow
	Sampled                  bool   // counts are estimates scaled from sampled packets
	UID                      string // Zeek uid, when known
	Label                    string // ground-truth label carried by labelled captures, else ""
}

// End returns when the session ended.
func (s *Session) End() time.Time { return s.Start.Add(s.Duration) }
