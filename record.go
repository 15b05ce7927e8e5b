package proxywatch

import (
	"net/netip"
	"time"
)

// SchemaVersion is the version of the JSON-lines record format that
// detectors write and `proxywatch eval` reads. docs/schema.md describes it;
// a change that removes or renames a field increments it.
const SchemaVersion = 1

// RecordType names the record types of the JSON-lines format.
type RecordType string

// The record types.
const (
	RecordAlert    RecordType = "alert"
	RecordFinding  RecordType = "finding"
	RecordDecision RecordType = "decision"
)

// A Record is one line of the JSON-lines format: a version, a type, and
// exactly one of Alert, Finding or Decision.
type Record struct {
	Schema   int        `json:"schema"`
	Type     RecordType `json:"type"`
	Alert    *Alert     `json:"alert,omitempty"`
	Finding  *Finding   `json:"finding,omitempty"`
	Decision *Decision  `json:"decision,omitempty"`
}

// Severity grades an alert.
type Severity string

// The severities, from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Spread describes how widely an attack is distributed.
type Spread struct {
	Addrs     int `json:"addrs"`               // distinct source addresses
	Prefixes  int `json:"prefixes"`            // distinct /24 (IPv4) or /64 (IPv6)
	ASNs      int `json:"asns,omitempty"`      // distinct ASNs, when enrichment is configured
	Countries int `json:"countries,omitempty"` // distinct countries, when enrichment is configured
}

// An Alert tells an operator that a detector saw something, with the
// evidence to judge it. An alert may name many subjects (a campaign's
// participants); decisions that follow from it refer to it by ID.
type Alert struct {
	ID       string            `json:"id"`
	Detector string            `json:"detector"` // e.g. "ssh_bruteforce", "credential_stuffing"
	Severity Severity          `json:"severity"`
	Time     time.Time         `json:"time"`  // when the detector fired, in event time
	Start    time.Time         `json:"start"` // the window the evidence covers
	End      time.Time         `json:"end"`
	Service  string            `json:"service,omitempty"`
	Subjects []Subject         `json:"subjects"`          // offending addresses or prefixes, bounded
	Users    []string          `json:"users,omitempty"`   // accounts involved, bounded
	Reasons  []string          `json:"reasons"`           // stable reason codes, e.g. "failures>=threshold"
	Counts   map[string]int64  `json:"counts,omitempty"`  // named counts: "failures", "successes", ...
	Spread   *Spread           `json:"spread,omitempty"`  // for distributed attacks
	Sample   []string          `json:"sample,omitempty"`  // a bounded sample of the evidence lines
	Labels   map[string]string `json:"labels,omitempty"`  // free-form, bounded
	Summary  string            `json:"summary,omitempty"` // one human sentence
}

// A Role is what a finding says a host does.
type Role string

// The roles that flow and login detectors assign, and that the simulator's
// ground truth uses.
const (
	RoleBot             Role = "bot"              // an infected inside device talking to a C2
	RoleRelay           Role = "relay"            // an inside host relaying outside clients' sessions
	RoleBackconnectBot  Role = "backconnect-bot"  // an inside host relaying through a backconnect server
	RoleExposedProxy    Role = "exposed-proxy"    // an inside host answering many clients on proxy ports
	RoleC2              Role = "c2"               // an outside command-and-control server
	RoleBackconnectC2   Role = "backconnect-c2"   // an outside backconnect server
	RoleCollector       Role = "collector"        // an outside silent UDP collector
	RoleCampaign        Role = "campaign"         // a participant in a distributed login attack
	RoleBruteForcer     Role = "brute-forcer"     // a single-source password guesser
	RoleListedContact   Role = "listed-contact"   // a host that talked to a listed address
	RoleBenignLookalike Role = "benign-lookalike" // truth only: an honest host that resembles a bad one
)

// A Finding says that a detector believes one host plays a role, with a
// confidence and the evidence. Findings about inside hosts are reported,
// never enforced; findings about outside hosts may be promoted to
// indicators by policy.
type Finding struct {
	ID         string             `json:"id"`
	Detector   string             `json:"detector"`
	Role       Role               `json:"role"`
	Subject    Subject            `json:"subject"`
	Inside     bool               `json:"inside"`
	Confidence uint8              `json:"confidence"`       // 0-100
	Time       time.Time          `json:"time"`             // when the detector concluded, in event time
	Start      time.Time          `json:"start"`            // first evidence
	End        time.Time          `json:"end"`              // last evidence
	Peers      []netip.Addr       `json:"peers,omitempty"`  // related hosts (the C2 a bot talks to, ...), bounded
	Ports      []uint16           `json:"ports,omitempty"`  // ports involved, bounded
	Counts     map[string]int64   `json:"counts,omitempty"` // flows, bytes, clients, ...
	Scores     map[string]float64 `json:"scores,omitempty"` // detector scores in [0,1]
	Reasons    []string           `json:"reasons,omitempty"`
	Summary    string             `json:"summary,omitempty"`
}

// An Action is what a decision asks enforcement points to do.
type Action string

// The actions.
const (
	ActionBan       Action = "ban"
	ActionChallenge Action = "challenge"
)

// A Decision asks enforcement points to act on a subject until it expires.
// The allowlist always wins over a decision.
type Decision struct {
	ID      string    `json:"id"`
	Subject Subject   `json:"subject"` // an address or an aggregated prefix
	Action  Action    `json:"action"`
	Origin  string    `json:"origin"` // "detect:<detector>", "manual", "feed:<name>"
	Reason  string    `json:"reason,omitempty"`
	AlertID string    `json:"alert_id,omitempty"`
	Kind    Kind      `json:"kind,omitempty"` // the kind the subject is taken for, if known
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Count   int       `json:"count,omitempty"` // how many decisions this subject has had, for escalation
}
