package flowwatch

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config configures the flow detectors. Durations are in event time.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Inside lists the prefixes of the protected network. Sessions with
	// both ends inside, or both outside, are counted and ignored.
	Inside []netip.Prefix `yaml:"inside"`
	// Lateness is how far behind the newest session of the slowest source
	// the watermark runs; sessions ending before the watermark are late,
	// counted and dropped.
	Lateness time.Duration `yaml:"lateness"`
	// Window is the evidence window of every detector (RITA's fixed
	// window): counts and distinct counters cover between half of it and
	// all of it.
	Window time.Duration `yaml:"window"`
	// EvalEvery is how often, in event time, the detectors score what
	// they hold.
	EvalEvery time.Duration `yaml:"eval_every"`
	// ReportConfidence is the lowest confidence a finding needs to be
	// reported at all.
	ReportConfidence uint8 `yaml:"report_confidence"`

	Limits      Limits            `yaml:"limits"`
	Beacon      BeaconConfig      `yaml:"beacon"`
	C2          C2Config          `yaml:"c2"`
	Collector   CollectorConfig   `yaml:"collector"`
	Relay       RelayConfig       `yaml:"relay"`
	Backconnect BackconnectConfig `yaml:"backconnect"`
	Exposed     ExposedConfig     `yaml:"exposed"`
	Listed      ListedConfig      `yaml:"listed"`
	Promote     PromoteConfig     `yaml:"promote"`
}

// Limits bound the detectors' state, whatever the number of hosts. Each
// table evicts its least valuable entries when full; docs/detection.md
// says what is lost when a bound bites. The sizes include the index; at
// the shipped limits the detectors hold about 110 MiB.
type Limits struct {
	Pairs     int `yaml:"pairs"`     // inside-outside pairs with beacon timing (about 400 bytes each)
	Endpoints int `yaml:"endpoints"` // outside address:port endpoints with fan-in counts (about 580 bytes each)
	Hosts     int `yaml:"hosts"`     // inside hosts with byte history for backconnect matching (about 820 bytes each)
	Relays    int `yaml:"relays"`    // inside hosts answering outside clients, with relay matching state (about 2.6 KiB each)
	Findings  int `yaml:"findings"`  // reported subjects remembered for updates and the inside-hosts report (about 1 KiB each)
}

// BeaconConfig scores the timing of each inside-outside pair with the
// method RITA documents: Bowley skew and median absolute deviation of the
// intervals, a histogram of connections per hour, and the coverage of the
// window.
type BeaconConfig struct {
	MinConns int     `yaml:"min_conns"` // connections in the window before a pair is scored
	Periodic float64 `yaml:"periodic"`  // score from which a pair counts as periodic
	// Single-pair mode: a pair scored at least Strong, to an unusual port,
	// whose attempts mostly fail (a bot retrying its C2) is reported even
	// without a population of clients.
	Strong          float64 `yaml:"strong"`
	FailedShare     float64 `yaml:"failed_share"`
	PersistentHours int     `yaml:"persistent_hours"` // or: failing attempts in this many of the last 24 hours
}

// C2Config finds outside endpoints that many inside devices contact.
type C2Config struct {
	MinClients int     `yaml:"min_clients"` // distinct inside hosts with repeated contact
	MaxPacket  float64 `yaml:"max_packet"`  // mean bytes per packet of control traffic
}

// CollectorConfig finds outside UDP endpoints receiving small one-way
// datagrams from a population of devices.
type CollectorConfig struct {
	MinClients   int     `yaml:"min_clients"`   // distinct inside senders
	MinDatagrams int     `yaml:"min_datagrams"` // flows seen in the window: under sampling, fewer could miss the answers by chance
	MaxPacket    float64 `yaml:"max_packet"`    // mean datagram size in bytes, headers included
}

// RelayConfig finds inside hosts that relay outside clients' sessions:
// an inbound session matched, in time and bytes, by an outbound one.
type RelayConfig struct {
	MaxDelay       time.Duration `yaml:"max_delay"`       // inbound start to outbound start
	StartTolerance time.Duration `yaml:"start_tolerance"` // clock and export jitter
	ByteSlack      uint64        `yaml:"byte_slack"`      // protocol overhead allowed (handshakes, headers)
	ByteRatio      float64       `yaml:"byte_ratio"`      // relative byte difference allowed, unsampled
	SampledRatio   float64       `yaml:"sampled_ratio"`   // relative byte difference allowed, sampled
	MinMatched     int           `yaml:"min_matched"`     // matched relays in the window
	MinClients     int           `yaml:"min_clients"`     // distinct outside clients
	MinShare       float64       `yaml:"min_share"`       // matched share of answered inbound sessions
}

// BackconnectConfig finds inside hosts whose long upload-heavy session to
// one outside server carries what they download from others.
type BackconnectConfig struct {
	MinDuration time.Duration `yaml:"min_duration"`  // span of the long session
	MinBytes    uint64        `yaml:"min_bytes"`     // bytes uploaded on it
	UpRatio     float64       `yaml:"up_ratio"`      // upload over download on it
	MinExplain  float64       `yaml:"min_explain"`   // share of its upload matched by concurrent downloads
	MinSessions int           `yaml:"min_sessions"`  // other outbound sessions during it
	MinBots     int           `yaml:"min_bots"`      // distinct bots before the server is named
	MinBotShare float64       `yaml:"min_bot_share"` // and their share of the server's inside clients
}

// ExposedConfig finds inside hosts answering many outside clients on
// proxy-like ports.
type ExposedConfig struct {
	MinClients int      `yaml:"min_clients"`
	Ports      []uint16 `yaml:"ports"` // proxy ports; unusual high ports count too
}

// ListedConfig reports sessions with addresses the verdict table lists.
type ListedConfig struct {
	Enabled       bool  `yaml:"enabled"`
	MinConfidence uint8 `yaml:"min_confidence"`
}

// PromoteConfig says which outside findings become indicators.
type PromoteConfig struct {
	Enabled       bool          `yaml:"enabled"`
	MinConfidence uint8         `yaml:"min_confidence"`
	TTL           time.Duration `yaml:"ttl"` // indicator lifetime after the last evidence
}

// DefaultConfig returns the shipped configuration: the one the quality
// figures of docs/detection.md are measured with. It is disabled until
// inside prefixes are configured.
func DefaultConfig() Config {
	return Config{
		Lateness:         10 * time.Minute,
		Window:           24 * time.Hour,
		EvalEvery:        15 * time.Minute,
		ReportConfidence: 50,
		Limits:           Limits{Pairs: 1 << 16, Endpoints: 1 << 15, Hosts: 1 << 15, Relays: 1 << 13, Findings: 1 << 14},
		Beacon:           BeaconConfig{MinConns: 6, Periodic: 0.7, Strong: 0.8, FailedShare: 0.5, PersistentHours: 6},
		C2:               C2Config{MinClients: 5, MaxPacket: 400},
		Collector:        CollectorConfig{MinClients: 5, MinDatagrams: 10, MaxPacket: 300},
		Relay: RelayConfig{MaxDelay: 2 * time.Second, StartTolerance: time.Second, ByteSlack: 256,
			ByteRatio: 0.02, SampledRatio: 0.5, MinMatched: 3, MinClients: 2, MinShare: 0.4},
		Backconnect: BackconnectConfig{MinDuration: 30 * time.Minute, MinBytes: 64 << 10, UpRatio: 2,
			MinExplain: 0.7, MinSessions: 5, MinBots: 2, MinBotShare: 0.5},
		Exposed: ExposedConfig{MinClients: 10, Ports: []uint16{1080, 1081, 3128, 3129, 8000, 8080, 8081,
			8088, 8118, 8123, 8888, 9050, 9150, 9999}},
		Listed:  ListedConfig{Enabled: true, MinConfidence: 50},
		Promote: PromoteConfig{Enabled: true, MinConfidence: 70, TTL: 7 * 24 * time.Hour},
	}
}

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Enabled && len(c.Inside) == 0 {
		add("inside: at least one prefix is needed when enabled")
	}
	for _, p := range c.Inside {
		if !p.IsValid() {
			add("inside: %v: not a prefix", p)
		}
	}
	if c.Lateness < 0 {
		add("lateness %s: must not be negative", c.Lateness)
	}
	if c.Window < time.Hour || c.Window > 7*24*time.Hour {
		add("window %s: must be between 1h and 168h", c.Window)
	}
	if c.EvalEvery < time.Minute || c.EvalEvery > c.Window/4 {
		add("eval_every %s: must be between 1m and a quarter of the window", c.EvalEvery)
	}
	if c.ReportConfidence > 100 {
		add("report_confidence %d: must be at most 100", c.ReportConfidence)
	}
	for name, n := range map[string]int{"limits.pairs": c.Limits.Pairs, "limits.endpoints": c.Limits.Endpoints,
		"limits.hosts": c.Limits.Hosts, "limits.relays": c.Limits.Relays, "limits.findings": c.Limits.Findings} {
		if n < 16 || n > 1<<26 {
			add("%s %d: must be between 16 and %d", name, n, 1<<26)
		}
	}
	if c.Beacon.PersistentHours < 1 || c.Beacon.PersistentHours > 24 {
		add("beacon.persistent_hours %d: must be between 1 and 24", c.Beacon.PersistentHours)
	}
	if c.Beacon.MinConns < 4 {
		add("beacon.min_conns %d: must be at least 4 (three intervals)", c.Beacon.MinConns)
	}
	for name, v := range map[string]float64{"beacon.periodic": c.Beacon.Periodic, "beacon.strong": c.Beacon.Strong,
		"beacon.failed_share": c.Beacon.FailedShare, "relay.min_share": c.Relay.MinShare,
		"backconnect.min_explain": c.Backconnect.MinExplain, "backconnect.min_bot_share": c.Backconnect.MinBotShare} {
		if v < 0 || v > 1 {
			add("%s %g: must be between 0 and 1", name, v)
		}
	}
	for name, n := range map[string]int{"c2.min_clients": c.C2.MinClients, "collector.min_clients": c.Collector.MinClients,
		"relay.min_matched": c.Relay.MinMatched, "relay.min_clients": c.Relay.MinClients,
		"exposed.min_clients": c.Exposed.MinClients, "backconnect.min_bots": c.Backconnect.MinBots,
		"collector.min_datagrams": c.Collector.MinDatagrams} {
		if n < 1 {
			add("%s %d: must be at least 1", name, n)
		}
	}
	if c.C2.MaxPacket <= 0 || c.Collector.MaxPacket <= 0 {
		add("c2.max_packet and collector.max_packet: must be positive")
	}
	if c.Relay.MaxDelay <= 0 || c.Relay.MaxDelay > time.Minute {
		add("relay.max_delay %s: must be between 0 and 1m", c.Relay.MaxDelay)
	}
	if c.Relay.StartTolerance < 0 {
		add("relay.start_tolerance %s: must not be negative", c.Relay.StartTolerance)
	}
	if c.Relay.ByteRatio < 0 || c.Relay.ByteRatio >= 1 || c.Relay.SampledRatio < 0 || c.Relay.SampledRatio >= 1 {
		add("relay.byte_ratio and relay.sampled_ratio: must be in [0, 1)")
	}
	if c.Backconnect.MinDuration < time.Minute {
		add("backconnect.min_duration %s: must be at least 1m", c.Backconnect.MinDuration)
	}
	if c.Backconnect.MinDuration > c.Window/2 {
		add("backconnect.min_duration %s: must be at most half the window", c.Backconnect.MinDuration)
	}
	if c.Backconnect.UpRatio < 1 {
		add("backconnect.up_ratio %g: must be at least 1", c.Backconnect.UpRatio)
	}
	if c.Listed.MinConfidence > 100 || c.Promote.MinConfidence > 100 {
		add("listed.min_confidence and promote.min_confidence: must be at most 100")
	}
	if c.Promote.Enabled && c.Promote.TTL < time.Minute {
		add("promote.ttl %s: must be at least 1m", c.Promote.TTL)
	}
	return errors.Join(errs...)
}
