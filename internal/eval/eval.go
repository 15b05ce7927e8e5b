// Package eval scores detection output against an answer key: precision,
// recall, F1 and detection delay per role, by address, and by flow when the
// key labels flows.
//
// The detection output is the JSON-lines record format of docs/schema.md
// ([proxywatch.Record]): findings name one subject and a role; alerts name
// many subjects and get their role from Labels["role"], then from the
// detector's name; decisions get theirs from the alert they cite, then from
// their origin's detector, then from their kind. The answer key is the
// simulator's truth file, or JSON lines of labelled addresses or labelled
// flows ([truth.AddrLabel], [truth.FlowLabel]). docs/simulator.md states
// the scoring rules for people.
//
// The package reads and computes; it does not know where its inputs come
// from or how the report is shown beyond the table and JSON writers.
package eval

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// RoleAny names the report row that ignores roles: every flagged address
// against every address with a bad role.
const RoleAny proxywatch.Role = "any"

// Options configures scoring. The zero value scores with no grace, no
// prefix expansion beyond single addresses, and only the built-in
// detector names; use [DefaultOptions].
type Options struct {
	// Grace widens every truth span on both sides when records are matched
	// to it: a decision made an hour after a participant's single attempt
	// still counts for it.
	Grace time.Duration
	// AnyTime matches records to truth addresses whatever their times
	// (useful for keys without times).
	AnyTime bool
	// MaxPrefix4 and MaxPrefix6 are the widest prefix subjects (fewest
	// bits) that count for the truth addresses they cover; wider ones
	// count as one false positive each.
	MaxPrefix4, MaxPrefix6 int
	// DetectorRoles maps detector names to the role their alerts and
	// decisions assert, over the built-in names.
	DetectorRoles map[string]proxywatch.Role
}

// DefaultOptions returns the options `proxywatch eval` uses by default:
// six hours of grace, prefixes up to /24 and /64.
func DefaultOptions() Options {
	return Options{Grace: 6 * time.Hour, MaxPrefix4: 24, MaxPrefix6: 64}
}

// A Report is the outcome of one scoring.
type Report struct {
	Truth     string      `json:"truth"` // "scenario", "labels" or "flows"
	Scenario  string      `json:"scenario,omitempty"`
	Records   int         `json:"records"`  // records read
	Subjects  int         `json:"subjects"` // subjects scored (a record may name several)
	Unscored  int         `json:"unscored"` // subjects without a role, or not an address or prefix
	Prefixes  int         `json:"prefixes"` // prefix subjects wider than one address
	TooWide   int         `json:"too_wide"` // prefix subjects wider than the options allow
	Roles     []RoleScore `json:"roles"`
	Flows     *FlowScore  `json:"flows,omitempty"`
	GraceSecs float64     `json:"grace_seconds"`
	AnyTime   bool        `json:"any_time,omitempty"`
}

// A RoleScore is the by-address score of one role.
type RoleScore struct {
	Role        proxywatch.Role `json:"role"`
	Truth       int             `json:"truth"`   // addresses that play the role
	Flagged     int             `json:"flagged"` // addresses and prefixes flagged with the role
	TP          int             `json:"tp"`
	FP          int             `json:"fp"`
	FN          int             `json:"fn"`
	FPBad       int             `json:"fp_bad"`       // false positives that are bad hosts: another role, or this one at another time
	FPLookalike int             `json:"fp_lookalike"` // false positives that are benign look-alikes
	Precision   *float64        `json:"precision"`    // null when nothing was flagged
	Recall      *float64        `json:"recall"`       // null when the truth has no such address
	F1          *float64        `json:"f1"`
	Delay       *Delay          `json:"delay,omitempty"`
	Missed      []netip.Addr    `json:"missed,omitempty"` // a sample of false negatives
	Wrong       []string        `json:"wrong,omitempty"`  // a sample of false positives
}

// Delay summarises detection delays: the first correct record's time minus
// the start of the truth span it matched, over detected addresses.
type Delay struct {
	N      int      `json:"n"`
	Median Duration `json:"median"`
	P90    Duration `json:"p90"`
	Max    Duration `json:"max"`
}

// A FlowScore is the by-flow score: a flow counts as flagged when a
// record with a bad role names either endpoint at the flow's time.
type FlowScore struct {
	Flows     int      `json:"flows"`
	Malicious int      `json:"malicious"`
	TP        int      `json:"tp"`
	FP        int      `json:"fp"`
	FN        int      `json:"fn"`
	TN        int      `json:"tn"`
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	F1        *float64 `json:"f1"`
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// A ParseError reports a malformed line of an input.
type ParseError struct {
	Input string // "findings" or "truth"
	Line  int    // 1-based
	Err   error
}

// Error formats the error as "input:line: cause".
func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Input, e.Line, e.Err) }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// Score reads the answer key from truth and the detection output from
// findings and scores the one against the other.
func Score(truthR, findings io.Reader, opts Options) (Report, error) {
	idx, rep, err := readRecords(findings, opts)
	if err != nil {
		return Report{}, err
	}
	k, flows, err := readTruth(truthR, idx, opts)
	if err != nil {
		return Report{}, err
	}
	rep.Truth, rep.Scenario = k.kind, k.scenario
	rep.GraceSecs, rep.AnyTime = opts.Grace.Seconds(), opts.AnyTime
	rep.Roles = scoreRoles(k, idx, opts)
	rep.Flows = flows
	return rep, nil
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

func f1(p, r *float64) *float64 {
	if p == nil || r == nil {
		return nil
	}
	if *p+*r == 0 {
		v := 0.0
		return &v
	}
	v := 2 * *p * *r / (*p + *r)
	return &v
}
