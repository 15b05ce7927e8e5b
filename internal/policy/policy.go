// Package policy holds the decision policy as pure functions: how long a
// decision lasts by what it is about and who made it, how it escalates for
// a repeat offender, when addresses are folded into one decision for their
// /24 or /64 (never wider than a configured bound, never inside a
// carrier-grade NAT range), and the allowlist that always wins.
//
// The package keeps no state and does no I/O. The detectors (authwatch,
// flowwatch) use it to shape the decisions they propose, and the decision
// process (package decision) to apply them, so both agree without either
// importing the other.
package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Config configures the decision policy.
type Config struct {
	TTL        TTLConfig        `yaml:"ttl"`
	Escalation EscalationConfig `yaml:"escalation"`
	Aggregate  AggregateConfig  `yaml:"aggregate"`
	// CGNAT lists carrier-grade NAT ranges besides 100.64.0.0/10 (always
	// included): the operator's mobile carriers, say. Addresses there are
	// shared by many subscribers, so they are never aggregated.
	CGNAT []netip.Prefix `yaml:"cgnat"`
}

// TTLConfig gives the base lifetime of a decision by what it is about.
type TTLConfig struct {
	Default     time.Duration `yaml:"default"`     // anything not listed below
	BruteForce  time.Duration `yaml:"brute_force"` // a single-source password guesser
	Campaign    time.Duration `yaml:"campaign"`    // a participant in a distributed attack
	Residential time.Duration `yaml:"residential"` // a residential or open proxy: the next household gets the address
	Listed      time.Duration `yaml:"listed"`      // an address the verdict table lists, seen trying to log in
	Manual      time.Duration `yaml:"manual"`      // added by an operator without a TTL
	Aggregated  time.Duration `yaml:"aggregated"`  // a /24 or /64 folded from several addresses
}

// EscalationConfig makes repeat offenders' decisions longer and harsher.
type EscalationConfig struct {
	// Factor multiplies the TTL for each earlier decision on the subject
	// (1 turns escalation off): base × Factor^(count-1).
	Factor float64 `yaml:"factor"`
	// Max caps an escalated TTL.
	Max time.Duration `yaml:"max"`
	// Memory is how long a subject's decision count is remembered after
	// its last decision.
	Memory time.Duration `yaml:"memory"`
	// BanAfter turns a challenge into a ban from the subject's BanAfter-th
	// decision on (0 never does).
	BanAfter int `yaml:"ban_after"`
}

// AggregateConfig folds the addresses of one network into one decision.
type AggregateConfig struct {
	Enabled bool `yaml:"enabled"`
	// Prefix4 and Prefix6 are the lengths addresses fold into.
	Prefix4 int `yaml:"prefix4"`
	Prefix6 int `yaml:"prefix6"`
	// Min4 and Min6 are how many addresses of one prefix must have live
	// decisions before the prefix gets its own.
	Min4 int `yaml:"min4"`
	Min6 int `yaml:"min6"`
	// Widest4 and Widest6 bound every decision's prefix, aggregated or
	// manual: none is wider (has fewer bits).
	Widest4 int `yaml:"widest4"`
	Widest6 int `yaml:"widest6"`
}

// DefaultConfig returns the policy used when the section is absent.
//
// A brute forcer's first decision lasts 4 hours (CrowdSec's default ban),
// each repeat four times longer, up to a week. Residential-proxy and
// campaign TTLs are short: the address belongs to a household whose router
// was hijacked, and by tomorrow perhaps to another.
// An IPv4 /24 needs 16 misbehaving addresses before it is decided as a
// whole (residential /24s are shared by many households); an IPv6 /64 is
// one subscriber's network, so 4 addresses of it are enough.
func DefaultConfig() Config {
	return Config{
		TTL: TTLConfig{
			Default: 4 * time.Hour, BruteForce: 4 * time.Hour, Campaign: 2 * time.Hour, Residential: time.Hour,
			Listed: 2 * time.Hour, Manual: 24 * time.Hour, Aggregated: time.Hour,
		},
		Escalation: EscalationConfig{Factor: 4, Max: 7 * 24 * time.Hour, Memory: 30 * 24 * time.Hour, BanAfter: 3},
		Aggregate:  AggregateConfig{Enabled: true, Prefix4: 24, Prefix6: 64, Min4: 16, Min6: 4, Widest4: 24, Widest6: 48},
	}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ttl.default", c.TTL.Default}, {"ttl.brute_force", c.TTL.BruteForce}, {"ttl.campaign", c.TTL.Campaign},
		{"ttl.residential", c.TTL.Residential}, {"ttl.listed", c.TTL.Listed}, {"ttl.manual", c.TTL.Manual},
		{"ttl.aggregated", c.TTL.Aggregated},
	} {
		if d.v < time.Second {
			errs = append(errs, fmt.Errorf("%s %s: must be at least 1s", d.name, d.v))
		}
	}
	e := c.Escalation
	if e.Factor < 1 || e.Factor > 100 || math.IsNaN(e.Factor) {
		errs = append(errs, fmt.Errorf("escalation.factor %v: must be between 1 and 100", e.Factor))
	}
	if e.Max < c.TTL.Default {
		errs = append(errs, fmt.Errorf("escalation.max %s: must be at least ttl.default", e.Max))
	}
	if e.Memory < 0 {
		errs = append(errs, fmt.Errorf("escalation.memory %s: must not be negative", e.Memory))
	}
	if e.BanAfter < 0 {
		errs = append(errs, fmt.Errorf("escalation.ban_after %d: must not be negative", e.BanAfter))
	}
	a := c.Aggregate
	if a.Widest4 < 8 || a.Widest4 > 32 {
		errs = append(errs, fmt.Errorf("aggregate.widest4 %d: must be between 8 and 32", a.Widest4))
	}
	if a.Widest6 < 16 || a.Widest6 > 128 {
		errs = append(errs, fmt.Errorf("aggregate.widest6 %d: must be between 16 and 128", a.Widest6))
	}
	if a.Enabled {
		if a.Prefix4 < a.Widest4 || a.Prefix4 > 31 {
			errs = append(errs, fmt.Errorf("aggregate.prefix4 %d: must be between aggregate.widest4 (%d) and 31", a.Prefix4, a.Widest4))
		}
		if a.Prefix6 < a.Widest6 || a.Prefix6 > 127 {
			errs = append(errs, fmt.Errorf("aggregate.prefix6 %d: must be between aggregate.widest6 (%d) and 127", a.Prefix6, a.Widest6))
		}
		if a.Min4 < 2 {
			errs = append(errs, fmt.Errorf("aggregate.min4 %d: must be at least 2", a.Min4))
		}
		if a.Min6 < 2 {
			errs = append(errs, fmt.Errorf("aggregate.min6 %d: must be at least 2", a.Min6))
		}
	}
	for i, p := range c.CGNAT {
		if !p.IsValid() || p != p.Masked() {
			errs = append(errs, fmt.Errorf("cgnat[%d] %s: must be a valid prefix without host bits", i, p))
		}
	}
	return errors.Join(errs...)
}

// DefaultCGNAT is the shared address space of RFC 6598.
var DefaultCGNAT = netip.MustParsePrefix("100.64.0.0/10")

// IsCGNAT reports whether a lies in 100.64.0.0/10 or a configured
// carrier-grade NAT range.
func (c Config) IsCGNAT(a netip.Addr) bool {
	a = a.Unmap()
	if DefaultCGNAT.Contains(a) {
		return true
	}
	for _, p := range c.CGNAT {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// overlapsCGNAT reports whether p overlaps a carrier-grade NAT range.
func (c Config) overlapsCGNAT(p netip.Prefix) bool {
	if DefaultCGNAT.Overlaps(p) {
		return true
	}
	for _, q := range c.CGNAT {
		if q.Overlaps(p) {
			return true
		}
	}
	return false
}

// Detector returns the detector named by a decision's origin
// ("detect:campaign" gives "campaign"), or "".
func Detector(origin string) string {
	d, ok := strings.CutPrefix(origin, "detect:")
	if !ok {
		return ""
	}
	return d
}

// OriginManual is the origin of decisions an operator adds.
const OriginManual = "manual"

// Class sorts decisions for their base TTL.
type Class uint8

// The classes, from the TTL table.
const (
	ClassDefault Class = iota
	ClassBruteForce
	ClassCampaign
	ClassResidential
	ClassListed
	ClassManual
	ClassAggregated
)

// ClassOf returns the class of d: by its origin first (manual, listed
// login, a campaign or distributed-attack detector, a brute-force
// detector), then by its kind; a residential or open proxy is always
// ClassResidential unless an operator decided it, since the address will
// soon be someone else's; a prefix wider than one address is
// ClassAggregated.
func ClassOf(d proxywatch.Decision) Class {
	if d.Origin == OriginManual {
		return ClassManual
	}
	if p := d.Subject.Prefix; p.IsValid() && p.Bits() < p.Addr().BitLen() {
		return ClassAggregated
	}
	if d.Kind == proxywatch.KindResidentialProxy || d.Kind == proxywatch.KindOpenProxy {
		return ClassResidential
	}
	switch det := Detector(d.Origin); {
	case det == "listed_login":
		return ClassListed
	case det == "campaign" || det == "account_spray" || det == "credential_stuffing" || det == "password_spray":
		return ClassCampaign
	case strings.Contains(det, "bruteforce") || strings.Contains(det, "brute_force"):
		return ClassBruteForce
	}
	if d.Kind == proxywatch.KindBruteForce {
		return ClassBruteForce
	}
	return ClassDefault
}

// BaseTTL returns the lifetime of a first decision of class cl.
func (c Config) BaseTTL(cl Class) time.Duration {
	t := c.TTL
	switch cl {
	case ClassBruteForce:
		return t.BruteForce
	case ClassCampaign:
		return t.Campaign
	case ClassResidential:
		return t.Residential
	case ClassListed:
		return t.Listed
	case ClassManual:
		return t.Manual
	case ClassAggregated:
		return t.Aggregated
	}
	return t.Default
}

// Lifetime returns the lifetime of a decision that is the count-th (from 1) on
// its subject within the escalation memory: the class's base TTL times
// Factor^(count-1), capped at Escalation.Max (but never below the base).
func (c Config) Lifetime(cl Class, count int) time.Duration {
	base := c.BaseTTL(cl)
	if count <= 1 || c.Escalation.Factor <= 1 {
		return base
	}
	f := math.Pow(c.Escalation.Factor, float64(count-1))
	ttl := float64(base) * f
	if ttl >= float64(c.Escalation.Max) || math.IsInf(ttl, 0) {
		return max(c.Escalation.Max, base)
	}
	return time.Duration(ttl)
}

// Action returns the action of the count-th decision on a subject that
// asks for want: a challenge escalates to a ban from the BanAfter-th on.
func (c Config) Action(want proxywatch.Action, count int) proxywatch.Action {
	if want == proxywatch.ActionChallenge && c.Escalation.BanAfter > 0 && count >= c.Escalation.BanAfter {
		return proxywatch.ActionBan
	}
	if want == "" {
		return proxywatch.ActionBan
	}
	return want
}

// Shape fills in a proposed decision: its action and expiry from its
// class and its count (d.Count, taken as 1 when 0), from d.Created.
func (c Config) Shape(d proxywatch.Decision) proxywatch.Decision {
	d.Count = max(d.Count, 1)
	d.Action = c.Action(d.Action, d.Count)
	d.Expires = d.Created.Add(c.Lifetime(ClassOf(d), d.Count))
	return d
}

// AggregateOf returns the prefix a's decision folds into, and how many
// addresses of it must be decided first. It returns false when
// aggregation is off, or a lies in a carrier-grade NAT range.
func (c Config) AggregateOf(a netip.Addr) (netip.Prefix, int, bool) {
	ag := c.Aggregate
	if !ag.Enabled || !a.IsValid() {
		return netip.Prefix{}, 0, false
	}
	a = a.Unmap()
	bits, n := ag.Prefix6, ag.Min6
	if a.Is4() {
		bits, n = ag.Prefix4, ag.Min4
	}
	p, err := a.Prefix(bits)
	if err != nil || c.overlapsCGNAT(p) {
		return netip.Prefix{}, 0, false
	}
	return p, n, true
}

// CheckSubject reports whether s may be decided on: an address, or a
// prefix no wider than the configured bound that does not span a
// carrier-grade NAT range. It returns an error wrapping ErrInvalid.
func (c Config) CheckSubject(s proxywatch.Subject) error {
	if s.Type() != proxywatch.SubjectPrefix {
		return fmt.Errorf("decision subject %q: must be an address or a prefix: %w", s, proxywatch.ErrInvalid)
	}
	p := s.Prefix
	if p.Bits() == p.Addr().BitLen() {
		return nil
	}
	widest := c.Aggregate.Widest6
	if p.Addr().Is4() {
		widest = c.Aggregate.Widest4
	}
	if p.Bits() < widest {
		return fmt.Errorf("decision subject %s: wider than /%d: %w", p, widest, proxywatch.ErrInvalid)
	}
	if c.overlapsCGNAT(p) {
		return fmt.Errorf("decision subject %s: spans a carrier-grade NAT range: %w", p, proxywatch.ErrInvalid)
	}
	return nil
}

// An Allowlist holds the ranges never decided on. It always wins: a
// subject inside it, or a prefix overlapping it, is refused. The zero
// Allowlist allows everything to be decided.
type Allowlist struct {
	ps []netip.Prefix // masked, sorted
}

// NewAllowlist returns the allowlist of ps (as allowlist.Config.Effective
// gives them).
func NewAllowlist(ps []netip.Prefix) Allowlist {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if p.IsValid() {
			out = append(out, p.Masked())
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return Allowlist{ps: slices.Compact(out)}
}

// Prefixes returns the ranges.
func (l Allowlist) Prefixes() []netip.Prefix { return slices.Clone(l.ps) }

// Contains reports whether a lies in an allowlisted range.
func (l Allowlist) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Covers reports whether the allowlist forbids deciding on s: s is an
// address or prefix overlapping an allowlisted range. Subjects that are
// not prefixes are never covered.
func (l Allowlist) Covers(s proxywatch.Subject) bool {
	if s.Type() != proxywatch.SubjectPrefix {
		return false
	}
	for _, p := range l.ps {
		if p.Overlaps(s.Prefix) {
			return true
		}
	}
	return false
}
