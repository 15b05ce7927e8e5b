package flowwatch

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// foundKey is one subject in one role.
type foundKey struct {
	addr addrKey
	role proxywatch.Role
}

func (k foundKey) hash() uint64 {
	h := hashAddr(k.addr)
	for i := 0; i < len(k.role); i++ {
		h = (h ^ uint64(k.role[i])) * 0x100000001b3
	}
	return mix64(h)
}

// foundState remembers the finding made for a subject and role: its
// evidence merged over time, and what was last reported of it.
type foundState struct {
	emitted    int64     // event time of the last report, µs
	emittedEnd time.Time // evidence end of the last report
	f          proxywatch.Finding
	// Bots and relays are found again every round: their findings'
	// peers, ports, counts, scores, reasons and summary are made from
	// detail only when they are output.
	detail detail
}

// emit records f, made at event time now. A new subject and role is
// reported at once. One reported within the window is merged (the most
// confident evidence, its time span widened) and reported again, with the
// same ID, when its confidence rose by 10 or its evidence grew by a
// quarter of the window: a finding's records cover the activity they
// describe.
func (w *Watch) emit(f *proxywatch.Finding, now int64) { w.store(f, now, nil) }

// store is emit for a finding whose details are to be made from d when
// that is not nil.
func (w *Watch) store(f *proxywatch.Finding, now int64, d *detail) {
	if f.Confidence < w.cfg.ReportConfidence && f.Role != proxywatch.RoleListedContact {
		return
	}
	f.Time = time.UnixMicro(now).UTC()
	k := foundKey{addr: keyOf(f.Subject.Prefix.Addr()), role: f.Role}
	st := w.found.get(k)
	if st != nil && now-st.emitted < w.cfg.Window.Microseconds() {
		prev := st.f
		if f.Confidence >= prev.Confidence {
			st.f = *f
			st.f.ID = prev.ID
			st.setDetail(d)
		}
		if prev.Start.Before(st.f.Start) {
			st.f.Start = prev.Start
		}
		if prev.End.After(st.f.End) {
			st.f.End = prev.End
		}
		if f.Confidence >= prev.Confidence+10 || st.f.End.Sub(st.emittedEnd) >= w.cfg.Window/4 {
			w.report(st, now)
		}
		return
	}
	if st == nil {
		st = w.found.put(k, func(s *foundState) float64 { return float64(s.emitted) })
	}
	st.f = *f
	st.setDetail(d)
	st.f.ID = fmt.Sprintf("fw-%016x", mix64(hashAddr(k.addr)^uint64(now)^uint64(len(f.Role))<<56^uint64(f.Role[0])<<48))
	w.report(st, now)
}

func (st *foundState) setDetail(d *detail) {
	if d != nil {
		st.detail = *d
	} else {
		st.detail.kind = detNone
	}
}

// report outputs the finding st holds, as of now, and promotes it.
func (w *Watch) report(st *foundState, now int64) {
	st.emitted, st.emittedEnd = now, st.f.End
	st.f.Time = time.UnixMicro(now).UTC()
	f := *st.settled()
	w.stats.Findings++
	if w.deps.OnFinding != nil {
		w.deps.OnFinding(f)
	} else {
		w.pending = append(w.pending, f)
	}
	w.promote(&f)
}

// reportGrown reports again every finding whose evidence grew since it
// was last reported (at the end of a batch).
func (w *Watch) reportGrown(now int64) {
	for i := range w.found.ents {
		st := &w.found.ents[i].val
		if st.f.End.After(st.emittedEnd) {
			w.report(st, now)
		}
	}
}

// indicatorKind is the indicator kind an outside role is promoted as.
func indicatorKind(r proxywatch.Role) (proxywatch.Kind, bool) {
	switch r {
	case proxywatch.RoleC2:
		return proxywatch.KindC2, true
	case proxywatch.RoleCollector:
		return proxywatch.KindCollector, true
	case proxywatch.RoleBackconnectC2:
		return proxywatch.KindBackconnectC2, true
	}
	return proxywatch.KindUnknown, false
}

// promote turns an outside finding into an indicator when policy says so.
// Inside hosts are never promoted.
func (w *Watch) promote(f *proxywatch.Finding) {
	p := w.cfg.Promote
	kind, ok := indicatorKind(f.Role)
	if !p.Enabled || f.Inside || !ok || f.Confidence < p.MinConfidence {
		return
	}
	ind := proxywatch.Indicator{
		Subject:    f.Subject,
		Kind:       kind,
		Source:     proxywatch.Source{Feed: Feed},
		Confidence: f.Confidence,
		Tags:       []string{"flowwatch", f.Detector},
		Comment:    f.Summary,
		FirstSeen:  f.Start,
		LastSeen:   f.End,
		Expires:    f.End.Add(p.TTL),
	}
	if len(f.Ports) > 0 {
		ind.Port = f.Ports[0]
	}
	if f.Counts["udp"] > 0 {
		ind.Proto = "udp"
	} else if ind.Port != 0 {
		ind.Proto = "tcp"
	}
	w.stats.Promoted++
	if w.deps.OnIndicator != nil {
		w.deps.OnIndicator(ind)
	} else {
		w.inds = append(w.inds, ind)
	}
}

// A ReportRow is one compromised inside host: every role the detectors
// gave it, with the latest evidence for each.
type ReportRow struct {
	Host       netip.Addr           `json:"host"`
	Roles      []proxywatch.Role    `json:"roles"`
	Confidence uint8                `json:"confidence"` // the highest of its findings
	First      time.Time            `json:"first"`      // first evidence
	Last       time.Time            `json:"last"`       // last evidence
	Peers      []netip.Addr         `json:"peers,omitempty"`
	Ports      []uint16             `json:"ports,omitempty"`
	Findings   []proxywatch.Finding `json:"findings"`
}

// Report returns the compromised-inside-hosts report: every inside host
// with a finding still remembered (see Limits.Findings), most confident
// first. Inside hosts are reported, never blocked.
func (w *Watch) Report() []ReportRow {
	w.mu.Lock()
	defer w.mu.Unlock()
	rows := map[netip.Addr]*ReportRow{}
	for i := range w.found.ents {
		f := *w.found.ents[i].val.settled()
		if !f.Inside {
			continue
		}
		a := f.Subject.Prefix.Addr()
		r := rows[a]
		if r == nil {
			r = &ReportRow{Host: a, First: f.Start, Last: f.End}
			rows[a] = r
		}
		r.Roles = append(r.Roles, f.Role)
		r.Confidence = max(r.Confidence, f.Confidence)
		if f.Start.Before(r.First) {
			r.First = f.Start
		}
		if f.End.After(r.Last) {
			r.Last = f.End
		}
		for _, p := range f.Peers {
			if !slices.Contains(r.Peers, p) && len(r.Peers) < 16 {
				r.Peers = append(r.Peers, p)
			}
		}
		for _, p := range f.Ports {
			if !slices.Contains(r.Ports, p) && len(r.Ports) < 16 {
				r.Ports = append(r.Ports, p)
			}
		}
		r.Findings = append(r.Findings, f)
	}
	out := make([]ReportRow, 0, len(rows))
	for _, r := range rows {
		slices.Sort(r.Roles)
		slices.SortFunc(r.Findings, func(a, b proxywatch.Finding) int { return cmp.Compare(a.Role, b.Role) })
		slices.SortFunc(r.Peers, netip.Addr.Compare)
		slices.Sort(r.Ports)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ReportRow) int {
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		return a.Host.Compare(b.Host)
	})
	return out
}
