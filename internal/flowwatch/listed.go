package flowwatch

import (
	"fmt"
	"net/netip"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
)

// listedKey is an inside host that talked with a listed address.
type listedKey struct {
	inside, listed addrKey
}

func (k listedKey) hash() uint64 { return mix64(hashAddr(k.inside) ^ hashAddr(k.listed)*31) }

// checkListed reports a session between an inside host and an address the
// verdict table lists (either end may be the listed one), once per pair
// and window.
func (w *Watch) checkListed(s *flow.Session, o, r netip.Addr, origInside bool) {
	in, out := o, r
	inPort, outPort := s.Orig.Port(), s.Resp.Port()
	if !origInside {
		in, out, inPort, outPort = r, o, s.Resp.Port(), s.Orig.Port()
	}
	for _, cand := range [2]struct {
		listed, other netip.Addr
		port          uint16
	}{{out, in, outPort}, {in, out, inPort}} {
		l, ok := w.deps.Listed(cand.listed)
		if !ok || l.Confidence < w.cfg.Listed.MinConfidence {
			continue
		}
		end := s.End().UnixMicro()
		k := listedKey{inside: keyOf(in), listed: keyOf(cand.listed)}
		if last := w.listed.get(k); last != nil {
			if *last > end-w.cfg.Window.Microseconds() {
				*last = max(*last, end)
				continue
			}
			*last = end
		} else {
			*w.listed.put(k, func(v *int64) float64 { return float64(*v) }) = end
		}
		f := proxywatch.Finding{
			Detector:   "listed",
			Role:       proxywatch.RoleListedContact,
			Subject:    proxywatch.AddrSubject(in),
			Inside:     true,
			Confidence: l.Confidence,
			Start:      s.Start.UTC(),
			End:        s.End().UTC(),
			Peers:      []netip.Addr{out},
			Ports:      []uint16{cand.port},
			Counts:     map[string]int64{"flows": 1, "bytes": int64(s.OrigBytes + s.RespBytes)},
			Reasons:    []string{"listed:" + l.Kind.String()},
			Summary: fmt.Sprintf("%s exchanged traffic with %s, listed as %s by %s", in, cand.listed,
				l.Kind, l.Feed),
		}
		if cand.listed == in {
			f.Reasons = []string{"inside-listed:" + l.Kind.String()}
		}
		w.emit(&f, end)
	}
}
