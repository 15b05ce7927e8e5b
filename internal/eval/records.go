package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// entry is one (subject, role) claim of a record, with the window of
// evidence it rests on and the time it was made.
type entry struct {
	prefix     netip.Prefix
	role       proxywatch.Role
	start, end time.Time // zero: any time
	at         time.Time // when the detector concluded
}

// index holds the claims by role: single addresses in a map, wider
// prefixes in a list.
type index struct {
	addrs    map[proxywatch.Role]map[netip.Addr][]entry
	prefixes map[proxywatch.Role][]entry
}

func (x *index) add(e entry) {
	if e.prefix.IsSingleIP() {
		m := x.addrs[e.role]
		if m == nil {
			m = map[netip.Addr][]entry{}
			x.addrs[e.role] = m
		}
		a := e.prefix.Addr()
		m[a] = append(m[a], e)
		return
	}
	x.prefixes[e.role] = append(x.prefixes[e.role], e)
}

// Built-in detector names and the roles their output asserts. Detectors
// that can say more set Finding.Role or Alert.Labels["role"].
var builtinDetectors = map[string]proxywatch.Role{
	"ssh_bruteforce": proxywatch.RoleBruteForcer, "bruteforce": proxywatch.RoleBruteForcer,
	"brute_force": proxywatch.RoleBruteForcer, "http_bruteforce": proxywatch.RoleBruteForcer,
	"credential_stuffing": proxywatch.RoleCampaign, "campaign": proxywatch.RoleCampaign,
	"password_spray": proxywatch.RoleCampaign, "distributed_login": proxywatch.RoleCampaign,
	"account_spray": proxywatch.RoleCampaign,
}

// kindRoles maps a decision's kind to a role, the last resort.
var kindRoles = map[proxywatch.Kind]proxywatch.Role{
	proxywatch.KindC2: proxywatch.RoleC2, proxywatch.KindBackconnectC2: proxywatch.RoleBackconnectC2,
	proxywatch.KindCollector: proxywatch.RoleCollector, proxywatch.KindBruteForce: proxywatch.RoleBruteForcer,
	proxywatch.KindResidentialProxy: proxywatch.RoleCampaign, proxywatch.KindOpenProxy: proxywatch.RoleCampaign,
}

func (o *Options) detectorRole(name string) proxywatch.Role {
	if r, ok := o.DetectorRoles[name]; ok {
		return r
	}
	return builtinDetectors[name]
}

// readRecords reads the JSON-lines detection output into an index.
func readRecords(r io.Reader, opts Options) (*index, Report, error) {
	x := &index{addrs: map[proxywatch.Role]map[netip.Addr][]entry{}, prefixes: map[proxywatch.Role][]entry{}}
	var rep Report
	var alerts = map[string]proxywatch.Role{}
	var decisions []*proxywatch.Decision
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var rec proxywatch.Record
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, rep, &ParseError{"findings", line, err}
		}
		if err := checkRecord(&rec); err != nil {
			return nil, rep, &ParseError{"findings", line, err}
		}
		rep.Records++
		switch rec.Type {
		case proxywatch.RecordFinding:
			f := rec.Finding
			rep.add(x, f.Subject, f.Role, window(f.Start, f.End, f.Time), f.Time, opts)
		case proxywatch.RecordAlert:
			a := rec.Alert
			role := proxywatch.Role(a.Labels["role"])
			if role == "" {
				role = opts.detectorRole(a.Detector)
			}
			if a.ID != "" {
				alerts[a.ID] = role
			}
			for _, s := range a.Subjects {
				rep.add(x, s, role, window(a.Start, a.End, a.Time), a.Time, opts)
			}
		case proxywatch.RecordDecision:
			decisions = append(decisions, rec.Decision)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, rep, fmt.Errorf("read findings: %w", err)
	}
	// Decisions last: they may cite alerts that come later in the file.
	for _, d := range decisions {
		role := alerts[d.AlertID]
		if role == "" {
			if det, ok := strings.CutPrefix(d.Origin, "detect:"); ok {
				role = opts.detectorRole(det)
			}
		}
		if role == "" {
			role = kindRoles[d.Kind]
		}
		rep.add(x, d.Subject, role, [2]time.Time{d.Created, d.Created}, d.Created, opts)
	}
	return x, rep, nil
}

func checkRecord(r *proxywatch.Record) error {
	if r.Schema < 1 || r.Schema > proxywatch.SchemaVersion {
		return fmt.Errorf("schema %d: %w", r.Schema, proxywatch.ErrInvalid)
	}
	n := 0
	for _, p := range []bool{r.Alert != nil, r.Finding != nil, r.Decision != nil} {
		if p {
			n++
		}
	}
	ok := n == 1 && ((r.Type == proxywatch.RecordAlert && r.Alert != nil) ||
		(r.Type == proxywatch.RecordFinding && r.Finding != nil) ||
		(r.Type == proxywatch.RecordDecision && r.Decision != nil))
	if !ok {
		return fmt.Errorf("type %q does not match its body: %w", r.Type, proxywatch.ErrInvalid)
	}
	return nil
}

// window returns the evidence window of a record: [start, end], or the
// conclusion time when those are unset.
func window(start, end, at time.Time) [2]time.Time {
	if start.IsZero() {
		start = at
	}
	if end.IsZero() {
		end = at
	}
	if end.Before(start) {
		start, end = end, start
	}
	return [2]time.Time{start, end}
}

func (rep *Report) add(x *index, s proxywatch.Subject, role proxywatch.Role, w [2]time.Time, at time.Time, opts Options) {
	rep.Subjects++
	if role == "" || s.Type() != proxywatch.SubjectPrefix {
		rep.Unscored++
		return
	}
	p := s.Prefix.Masked()
	if !p.IsSingleIP() {
		rep.Prefixes++
		max := opts.MaxPrefix4
		if p.Addr().Is6() {
			max = opts.MaxPrefix6
		}
		if p.Bits() < max {
			rep.TooWide++
		}
	}
	x.add(entry{prefix: p, role: role, start: w[0], end: w[1], at: at})
}
