package netflow

// Sequence-number bounds: a forward jump up to maxJump units is loss; a
// packet up to maxBehind units behind is late (reordered or duplicated);
// anything else, or maxLate late packets in a row, is a restart.
const (
	maxJump   = 1 << 28
	maxBehind = 1 << 16
	maxLate   = 3
)

// sequence follows one observation domain's sequence numbers. The unit is
// the version's: v5 counts flows, v9 packets, IPFIX data records, and a
// packet's sequence number is the count of units sent before it.
//
// Exporters stray from that in two ways seen in practice: some count the
// packet's own units too (softflowd's IPFIX), and some leave options data
// records out of the IPFIX count (softflowd again, and nfdump expects it).
// When a packet's number matches one of those readings exactly and not the
// current one, the domain switches reading instead of reporting loss.
type sequence struct {
	valid     bool
	inclusive bool   // the exporter counts this packet's own units
	flowOnly  bool   // the exporter leaves options data records out
	last      uint32 // raw sequence number of the last in-order packet
	lastAll   uint32 // its units, options records included
	lastFlow  uint32 // its units without options records
	late      int    // late packets in a row
}

// expect returns the sequence number the next packet should carry under a
// reading, given its own units.
func (s *sequence) expect(inclusive, flowOnly bool, all, flows uint32) uint32 {
	switch {
	case inclusive && flowOnly:
		return s.last + flows
	case inclusive:
		return s.last + all
	case flowOnly:
		return s.last + s.lastFlow
	}
	return s.last + s.lastAll
}

// observe accounts for a packet with sequence number seq carrying all
// units, flows of them not options records, and returns the units lost
// before it, and whether it arrived late or restarted the sequence.
func (s *sequence) observe(seq, all, flows uint32) (lost uint64, late, reset bool) {
	if !s.valid {
		s.valid, s.last, s.lastAll, s.lastFlow = true, seq, all, flows
		return 0, false, false
	}
	gap := int32(seq - s.expect(s.inclusive, s.flowOnly, all, flows))
	if gap != 0 {
		for _, m := range [][2]bool{{true, false}, {false, true}, {true, true}, {false, false}} {
			if seq == s.expect(m[0], m[1], all, flows) {
				s.inclusive, s.flowOnly, gap = m[0], m[1], 0
				break
			}
		}
	}
	switch {
	case gap == 0:
	case gap > 0 && gap <= maxJump:
		lost = uint64(gap)
	case gap < 0 && gap >= -maxBehind && s.late < maxLate-1:
		s.late++
		return 0, true, false
	default:
		reset = true
	}
	s.last, s.lastAll, s.lastFlow, s.late = seq, all, flows, 0
	return lost, false, reset
}
