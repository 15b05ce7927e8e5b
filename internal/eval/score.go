package eval

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/proxywatch/proxywatch"
)

// roleOrder is the order of the report's rows.
var roleOrder = []proxywatch.Role{
	proxywatch.RoleBot, proxywatch.RoleRelay, proxywatch.RoleBackconnectBot, proxywatch.RoleExposedProxy,
	proxywatch.RoleC2, proxywatch.RoleBackconnectC2, proxywatch.RoleCollector, proxywatch.RoleCampaign,
	proxywatch.RoleBruteForcer, proxywatch.RoleListedContact,
}

// matches reports whether the record's evidence window overlaps the truth
// span widened by the grace.
func (e *entry) matches(s tspan, opts Options) bool {
	if opts.AnyTime || s.start.IsZero() || e.start.IsZero() {
		return true
	}
	return !e.end.Before(s.start.Add(-opts.Grace)) && !e.start.After(s.end.Add(opts.Grace))
}

// allowed reports whether a prefix subject is narrow enough to count for
// the addresses it covers.
func (e *entry) allowed(opts Options) bool {
	if e.prefix.Addr().Is4() {
		return e.prefix.Bits() >= opts.MaxPrefix4
	}
	return e.prefix.Bits() >= opts.MaxPrefix6
}

func scoreRoles(k *key, x *index, opts Options) []RoleScore {
	seen := map[proxywatch.Role]bool{}
	for r := range k.roles {
		seen[r] = true
	}
	for r := range x.addrs {
		seen[r] = true
	}
	for r := range x.prefixes {
		seen[r] = true
	}
	delete(seen, "")
	roles := slices.Clone(roleOrder)
	var extra []proxywatch.Role
	for r := range seen {
		if !slices.Contains(roles, r) {
			extra = append(extra, r)
		}
	}
	slices.Sort(extra)
	roles = append(roles, extra...)
	var out []RoleScore
	for _, r := range roles {
		if !seen[r] {
			continue
		}
		out = append(out, scoreOne(r, k.roles[r], x.addrs[r], x.prefixes[r], k, opts))
	}
	// The role-blind row: every claim against every bad address.
	all := map[netip.Addr][]tspan{}
	for _, m := range k.roles {
		for a, sp := range m {
			all[a] = append(all[a], sp...)
		}
	}
	singles := map[netip.Addr][]entry{}
	var prefixes []entry
	for r, m := range x.addrs {
		if r == proxywatch.RoleBenignLookalike {
			continue
		}
		for a, es := range m {
			singles[a] = append(singles[a], es...)
		}
	}
	for r, es := range x.prefixes {
		if r != proxywatch.RoleBenignLookalike {
			prefixes = append(prefixes, es...)
		}
	}
	out = append(out, scoreOne(RoleAny, all, singles, prefixes, k, opts))
	return out
}

const sampleSize = 10

// scoreOne scores one role: truth holds the addresses that play it, singles
// and prefixes the claims that they do.
func scoreOne(role proxywatch.Role, truth map[netip.Addr][]tspan, singles map[netip.Addr][]entry,
	prefixes []entry, k *key, opts Options) RoleScore {
	rs := RoleScore{Role: role, Truth: len(truth)}
	// First correct claim per truth address, for the delay.
	type hit struct {
		at    time.Time
		start time.Time
	}
	detected := map[netip.Addr]hit{}
	consider := func(a netip.Addr, e *entry) bool {
		ok := false
		for _, s := range truth[a] {
			if !e.matches(s, opts) {
				continue
			}
			ok = true
			h, seen := detected[a]
			if !seen || (!e.at.IsZero() && (h.at.IsZero() || e.at.Before(h.at))) {
				detected[a] = hit{at: e.at, start: s.start}
			}
		}
		return ok
	}
	var wrong []string
	for a, es := range singles {
		good := false
		for i := range es {
			if consider(a, &es[i]) {
				good = true
			}
		}
		if good {
			continue
		}
		rs.FP++
		wrong = append(wrong, a.String())
		if k.lookalikes[a] {
			rs.FPLookalike++
		} else if k.isBad(a) {
			rs.FPBad++
		}
	}
	rs.Flagged = len(singles)
	byPrefix := map[netip.Prefix]bool{}
	for i := range prefixes {
		e := &prefixes[i]
		good := false
		if e.allowed(opts) {
			for a := range truth {
				if e.prefix.Contains(a) && consider(a, e) {
					good = true
				}
			}
		}
		byPrefix[e.prefix] = byPrefix[e.prefix] || good
	}
	for p, good := range byPrefix {
		rs.Flagged++
		if !good {
			rs.FP++
			wrong = append(wrong, p.String())
		}
	}
	rs.TP = len(detected)
	rs.FN = rs.Truth - rs.TP
	rs.Precision = ratio(rs.TP, rs.TP+rs.FP)
	rs.Recall = ratio(rs.TP, rs.Truth)
	rs.F1 = f1(rs.Precision, rs.Recall)
	var delays []time.Duration
	for _, h := range detected {
		if h.at.IsZero() || h.start.IsZero() {
			continue
		}
		delays = append(delays, max(h.at.Sub(h.start), 0))
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		n := len(delays)
		rs.Delay = &Delay{N: n, Median: Duration(delays[(n-1)/2]), P90: Duration(delays[(9*n+9)/10-1]), Max: Duration(delays[n-1])}
	}
	var missed []netip.Addr
	for a := range truth {
		if _, ok := detected[a]; !ok {
			missed = append(missed, a)
		}
	}
	slices.SortFunc(missed, func(a, b netip.Addr) int { return a.Compare(b) })
	sort.Strings(wrong)
	rs.Missed = missed[:min(len(missed), sampleSize)]
	rs.Wrong = wrong[:min(len(wrong), sampleSize)]
	return rs
}

// isBad reports whether a plays any bad role at any time.
func (k *key) isBad(a netip.Addr) bool {
	for _, m := range k.roles {
		if _, ok := m[a]; ok {
			return true
		}
	}
	return false
}
