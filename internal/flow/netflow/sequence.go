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
// Some exporters count the packet's own units too (softflowd's IPFIX does):
// when a packet's number matches that reading exactly and not the
// standard one, the domain switches reading instead of reporting loss.
type sequence struct {
	valid     bool
	inclusive bool   // the exporter counts this packet's own units
	last      uint32 // raw sequence number of the last in-order packet
	lastN     uint32 // its units
	late      int    // late packets in a row
}

// observe accounts for a packet with sequence number seq carrying n units
// and returns the units lost before it, and whether it arrived late or
// restarted the sequence.
func (s *sequence) observe(seq, n uint32) (lost uint64, late, reset bool) {
	if !s.valid {
		s.valid, s.last, s.lastN = true, seq, n
		return 0, false, false
	}
	std, incl := s.last+s.lastN, s.last+n
	want, other := std, incl
	if s.inclusive {
		want, other = incl, std
	}
	gap := int32(seq - want)
	switch {
	case gap == 0:
	case seq == other:
		s.inclusive = !s.inclusive
	case gap > 0 && gap <= maxJump:
		lost = uint64(gap)
	case gap < 0 && gap >= -maxBehind && s.late < maxLate-1:
		s.late++
		return 0, true, false
	default:
		reset = true
	}
	s.last, s.lastN, s.late = seq, n, 0
	return lost, false, reset
}
