package authwatch

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the login detectors. Every count and size here bounds
// memory; none grows with the number of addresses an attacker uses.
type Config struct {
	// Lateness is how far behind the slowest source events are held so
	// that sources are merged in time order. Events older than what has
	// already been processed are counted as late and processed at once.
	// With a single source nothing is held.
	Lateness time.Duration `yaml:"lateness"`
	// IdleSource is how long, in the other sources' event time, a silent
	// source keeps holding the watermark back.
	IdleSource time.Duration `yaml:"idle_source"`
	// MaxBuffered caps the events held for reordering; past it the oldest
	// is processed early.
	MaxBuffered int `yaml:"max_buffered"`

	// MaxSources caps the per-address state (the least recently active
	// address is forgotten first); MaxUsers the per-account state.
	MaxSources int `yaml:"max_sources"`
	MaxUsers   int `yaml:"max_users"`
	// MaxServices caps the services told apart (by Event.Service); events
	// of further services are counted with the last one (at most 32).
	MaxServices int `yaml:"max_services"`
	// KnownSources sizes the memory of addresses that logged in
	// successfully (a Bloom filter, 0.1% false positives), remembered for
	// KnownFor to twice that.
	KnownSources int           `yaml:"known_sources"`
	KnownFor     time.Duration `yaml:"known_for"`
	// Forgive is how long a failure waits for a success from the same
	// address (an honest typo) before it counts as a new failing source.
	Forgive time.Duration `yaml:"forgive"`

	BruteForce BruteForceConfig `yaml:"brute_force"`
	Account    AccountConfig    `yaml:"account"`
	Campaign   CampaignConfig   `yaml:"campaign"`
	Listed     ListedConfig     `yaml:"listed"`
	Origin     OriginConfig     `yaml:"origin"`
	Assess     AssessConfig     `yaml:"assess"`

	// Sample is the most evidence lines an alert carries; Subjects the
	// most addresses it names (Spread gives the true size).
	Sample   int `yaml:"sample"`
	Subjects int `yaml:"subjects"`
}

// A Tier is one brute-force threshold: Attempts failed attempts from one
// address within Window.
type Tier struct {
	Window   time.Duration `yaml:"window"`
	Attempts int           `yaml:"attempts"`
}

// BruteForceConfig configures the per-address detector.
type BruteForceConfig struct {
	Enabled bool   `yaml:"enabled"`
	Tiers   []Tier `yaml:"tiers"`
	// InvalidUsers distinct unknown user names from one address within
	// InvalidWindow are user enumeration (0 turns the rule off).
	InvalidUsers  int           `yaml:"invalid_users"`
	InvalidWindow time.Duration `yaml:"invalid_window"`
	// ForgiveUpTo failed attempts followed by a success from the same
	// address are typos and are forgotten.
	ForgiveUpTo int `yaml:"forgive_up_to"`
	// Cooldown is how long after an alert an address is not alerted on
	// again.
	Cooldown time.Duration `yaml:"cooldown"`
}

// AccountConfig configures the per-account detector: one account failing
// from many addresses.
type AccountConfig struct {
	Enabled bool          `yaml:"enabled"`
	Window  time.Duration `yaml:"window"`
	Sources int           `yaml:"sources"` // distinct failing addresses, at most 16
}

// CampaignConfig configures the campaign detector: a surge of failing,
// never-seen sources over the service's learned baseline.
type CampaignConfig struct {
	Enabled bool `yaml:"enabled"`
	// Bucket is the time bucket the baseline is learned in; Window the
	// span the current rate is measured over; History how far back the
	// baseline looks; MinHistory how much history it needs before it is
	// trusted (until then no campaign is detected: every source is new).
	Bucket     time.Duration `yaml:"bucket"`
	Window     time.Duration `yaml:"window"`
	History    time.Duration `yaml:"history"`
	MinHistory time.Duration `yaml:"min_history"`
	// A surge is at least MinSources new failing sources within Window,
	// and more than Factor × the baseline (the Quantile of the window
	// counts seen in History outside campaigns) + Margin.
	MinSources int     `yaml:"min_sources"`
	Factor     float64 `yaml:"factor"`
	Margin     int     `yaml:"margin"`
	Quantile   float64 `yaml:"quantile"`
	// Lookback is how far before the detection new failing sources are
	// taken as participants; Linger how long a campaign stays open after
	// its last new participant.
	Lookback time.Duration `yaml:"lookback"`
	Linger   time.Duration `yaml:"linger"`
	// MaxDuration ends a campaign that lasts longer: a surge that does not
	// end is the new normal, and the baseline learns it.
	MaxDuration time.Duration `yaml:"max_duration"`
	// TargetedBy is the number of failing sources that make an account a
	// target: participants trying it (or an unknown user) are banned,
	// the others challenged.
	TargetedBy int `yaml:"targeted_by"`
	// Caps: participants kept by address per campaign, then by /24 or
	// /64, then by ASN; recent new failing sources kept per service for
	// the lookback; failures waiting for Forgive.
	MaxMembers    int `yaml:"max_members"`
	MaxPrefixes   int `yaml:"max_prefixes"`
	MaxASNs       int `yaml:"max_asns"`
	MaxCandidates int `yaml:"max_candidates"`
	MaxPending    int `yaml:"max_pending"`
}

// ListedConfig configures the detector of logins from listed addresses.
type ListedConfig struct {
	Enabled bool `yaml:"enabled"`
	// MinConfidence is the confidence a listing needs.
	MinConfidence uint8 `yaml:"min_confidence"`
	// Decide also proposes a challenge for failures from listed
	// addresses (the verdict table already enforces listings above the
	// interfaces' minimum confidence).
	Decide   bool          `yaml:"decide"`
	Cooldown time.Duration `yaml:"cooldown"`
}

// OriginConfig configures the detectors of suspicious successes: from an
// ASN or country new for the account right after failures, and
// impossible travel (needs enrichment).
type OriginConfig struct {
	Enabled       bool          `yaml:"enabled"`
	AfterFailures int           `yaml:"after_failures"`
	FailureWindow time.Duration `yaml:"failure_window"`
	// TravelWindow: successes from two countries closer together than
	// this are impossible travel (country level: no coordinates).
	TravelWindow time.Duration `yaml:"travel_window"`
}

// AssessConfig sets the score thresholds of Assess.
type AssessConfig struct {
	ChallengeAt int `yaml:"challenge_at"`
	DenyAt      int `yaml:"deny_at"`
}

// DefaultConfig returns the configuration used when the section is absent.
// These are the shipped defaults that docs/detection-logins.md measures.
func DefaultConfig() Config {
	return Config{
		Lateness:     5 * time.Second,
		IdleSource:   5 * time.Minute,
		MaxBuffered:  16384,
		MaxSources:   100000,
		MaxUsers:     20000,
		MaxServices:  8,
		KnownSources: 500000,
		KnownFor:     30 * 24 * time.Hour,
		Forgive:      3 * time.Minute,
		BruteForce: BruteForceConfig{
			Enabled:       true,
			Tiers:         []Tier{{10 * time.Minute, 5}, {6 * time.Hour, 15}},
			InvalidUsers:  2,
			InvalidWindow: 24 * time.Hour,
			ForgiveUpTo:   3,
			Cooldown:      time.Hour,
		},
		Account: AccountConfig{Enabled: true, Window: time.Hour, Sources: 10},
		Campaign: CampaignConfig{
			Enabled: true, Bucket: 10 * time.Minute, Window: 2 * time.Hour, History: 7 * 24 * time.Hour,
			MinHistory: 6 * time.Hour, MinSources: 6, Factor: 2, Margin: 3, Quantile: 0.99,
			Lookback: 6 * time.Hour, Linger: time.Hour, MaxDuration: 24 * time.Hour, TargetedBy: 3,
			MaxMembers: 20000, MaxPrefixes: 4096, MaxASNs: 1024, MaxCandidates: 4096, MaxPending: 16384,
		},
		Listed:   ListedConfig{Enabled: true, MinConfidence: 50, Cooldown: time.Hour},
		Origin:   OriginConfig{Enabled: true, AfterFailures: 3, FailureWindow: time.Hour, TravelWindow: time.Hour},
		Assess:   AssessConfig{ChallengeAt: 40, DenyAt: 80},
		Sample:   10,
		Subjects: 500,
	}
}

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Lateness < 0 || c.Lateness > time.Hour {
		bad("lateness %s: must be between 0 and 1h", c.Lateness)
	}
	if c.IdleSource < time.Second {
		bad("idle_source %s: must be at least 1s", c.IdleSource)
	}
	positive := []struct {
		name string
		v    int
	}{
		{"max_buffered", c.MaxBuffered}, {"max_sources", c.MaxSources}, {"max_users", c.MaxUsers},
		{"known_sources", c.KnownSources}, {"sample", c.Sample}, {"subjects", c.Subjects},
		{"campaign.max_members", c.Campaign.MaxMembers}, {"campaign.max_prefixes", c.Campaign.MaxPrefixes},
		{"campaign.max_asns", c.Campaign.MaxASNs}, {"campaign.max_candidates", c.Campaign.MaxCandidates},
		{"campaign.max_pending", c.Campaign.MaxPending},
	}
	for _, p := range positive {
		if p.v < 1 {
			bad("%s %d: must be at least 1", p.name, p.v)
		}
	}
	if c.MaxServices < 1 || c.MaxServices > maxServices {
		bad("max_services %d: must be between 1 and %d", c.MaxServices, maxServices)
	}
	if c.KnownFor < time.Hour {
		bad("known_for %s: must be at least 1h", c.KnownFor)
	}
	if c.Forgive < 0 || c.Forgive > time.Hour {
		bad("forgive %s: must be between 0 and 1h", c.Forgive)
	}
	for i, t := range c.BruteForce.Tiers {
		if t.Window < time.Second || t.Attempts < 2 || t.Attempts > maxTierAttempts {
			bad("brute_force.tiers[%d]: window %s, attempts %d: need a window of at least 1s and 2 to %d attempts", i, t.Window, t.Attempts, maxTierAttempts)
		}
	}
	if c.BruteForce.InvalidUsers < 0 || c.BruteForce.InvalidUsers > maxInvalidNames {
		bad("brute_force.invalid_users %d: must be between 0 and %d", c.BruteForce.InvalidUsers, maxInvalidNames)
	}
	if c.BruteForce.InvalidUsers > 0 && c.BruteForce.InvalidWindow < time.Second {
		bad("brute_force.invalid_window %s: must be at least 1s", c.BruteForce.InvalidWindow)
	}
	if c.BruteForce.ForgiveUpTo < 0 {
		bad("brute_force.forgive_up_to %d: must not be negative", c.BruteForce.ForgiveUpTo)
	}
	if c.Account.Sources < 2 || c.Account.Sources > maxAccountSources {
		bad("account.sources %d: must be between 2 and %d", c.Account.Sources, maxAccountSources)
	}
	if c.Account.Window < time.Second {
		bad("account.window %s: must be at least 1s", c.Account.Window)
	}
	cc := c.Campaign
	if cc.Bucket < time.Minute {
		bad("campaign.bucket %s: must be at least 1m", cc.Bucket)
	} else {
		if cc.Window < cc.Bucket || cc.Window%cc.Bucket != 0 {
			bad("campaign.window %s: must be a multiple of campaign.bucket (%s)", cc.Window, cc.Bucket)
		}
		if cc.History < 2*cc.Window || cc.History/cc.Bucket > 100000 {
			bad("campaign.history %s: must be at least twice campaign.window and at most 100000 buckets", cc.History)
		}
	}
	if cc.MinHistory < 0 || cc.MinHistory > cc.History {
		bad("campaign.min_history %s: must be between 0 and campaign.history", cc.MinHistory)
	}
	if cc.MinSources < 2 {
		bad("campaign.min_sources %d: must be at least 2", cc.MinSources)
	}
	if cc.Factor < 1 || cc.Factor > 100 {
		bad("campaign.factor %v: must be between 1 and 100", cc.Factor)
	}
	if cc.Margin < 0 {
		bad("campaign.margin %d: must not be negative", cc.Margin)
	}
	if cc.Quantile <= 0 || cc.Quantile > 1 {
		bad("campaign.quantile %v: must be in (0, 1]", cc.Quantile)
	}
	if cc.Lookback < 0 || cc.Linger < 0 {
		bad("campaign.lookback %s, campaign.linger %s: must not be negative", cc.Lookback, cc.Linger)
	}
	if cc.MaxDuration < cc.Window {
		bad("campaign.max_duration %s: must be at least campaign.window", cc.MaxDuration)
	}
	if cc.TargetedBy < 2 || cc.TargetedBy > maxAccountSources {
		bad("campaign.targeted_by %d: must be between 2 and %d", cc.TargetedBy, maxAccountSources)
	}
	if c.Listed.MinConfidence > 100 {
		bad("listed.min_confidence %d: must be at most 100", c.Listed.MinConfidence)
	}
	if c.Origin.AfterFailures < 0 {
		bad("origin.after_failures %d: must not be negative", c.Origin.AfterFailures)
	}
	a := c.Assess
	if a.ChallengeAt < 1 || a.DenyAt > 100 || a.ChallengeAt > a.DenyAt {
		bad("assess: challenge_at %d and deny_at %d: need 1 <= challenge_at <= deny_at <= 100", a.ChallengeAt, a.DenyAt)
	}
	return errors.Join(errs...)
}
