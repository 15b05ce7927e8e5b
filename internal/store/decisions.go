package store

import (
	"context"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch"
)

// DecisionFeed is the feed under which a DecisionStore mirrors each stored
// decision as an indicator ([DecisionIndicator]), so that a follower of
// the change cursor carries decisions into the verdict table, and from
// there to every interface, like any other indicator.
const DecisionFeed = "decisions"

// Confidences of the indicators that mirror decisions. A ban is listed by
// every interface at its default minimum confidence; a challenge sits
// below it, so it is shown as evidence but not answered as listed by the
// DNSBL or exports (an application asks /v1/assess to learn of it).
const (
	BanConfidence       = 100
	ChallengeConfidence = 40
)

// A DecisionStore keeps the decisions and alerts detectors and operators
// make. It extends a [Store]: implementations are the same types, and the
// same conventions hold (times to the microsecond in UTC, ErrInvalid,
// ErrNotFound, ErrUnavailable, results in the order stated). It is a
// separate interface so that code that only needs indicators is not
// touched.
//
// Decisions are keyed by ID, and a subject has at most one stored
// decision: putting a decision on a subject that has another replaces it.
// Every write that changes the decisions also changes the feed
// DecisionFeed in the same transaction and records its Changes: a put
// records a ChangeDelete for each mirror it replaces under another key
// (another subject key or kind) and then one ChangeAdd carrying the new
// mirror; a delete records one ChangeDelete; a prune that removes
// several records one ChangeFeed for DecisionFeed. A follower applies
// them incrementally, whatever the number of live decisions.
// Alerts are not mirrored and record no change.
type DecisionStore interface {
	// PutDecision stores d (replacing the decision with its ID, and any
	// other on its subject) and mirrors it as DecisionIndicator(d). d must
	// have an ID, a prefix subject, the action ban or challenge, and
	// Expires after Created; otherwise it returns ErrInvalid and changes
	// nothing.
	PutDecision(ctx context.Context, d proxywatch.Decision) error

	// DeleteDecision removes the decision id and its indicator. It
	// returns ErrNotFound if there is none.
	DeleteDecision(ctx context.Context, id string) error

	// Decisions returns the decisions active at t (Created <= t <
	// Expires), or every stored decision if t is zero, ordered by Created
	// then ID.
	Decisions(ctx context.Context, t time.Time) ([]proxywatch.Decision, error)

	// PruneDecisions removes the decisions that expired at or before t,
	// and their indicators, and returns how many it removed.
	PruneDecisions(ctx context.Context, t time.Time) (int, error)

	// PutAlert stores a, replacing the alert with its ID. a must have an
	// ID, a detector and a time; otherwise it returns ErrInvalid.
	PutAlert(ctx context.Context, a proxywatch.Alert) error

	// Alerts returns up to limit alerts (limit <= 0 means 100) whose Time
	// is at or after since, newest first (then by ID).
	Alerts(ctx context.Context, since time.Time, limit int) ([]proxywatch.Alert, error)

	// PruneAlerts removes the alerts whose Time is before t and returns
	// how many it removed.
	PruneAlerts(ctx context.Context, t time.Time) (int, error)
}

// NormalizeDecision returns d in the form a store keeps it, or an error
// wrapping ErrInvalid: times to the microsecond in UTC, text as valid
// UTF-8, the subject checked.
func NormalizeDecision(d proxywatch.Decision) (proxywatch.Decision, error) {
	switch {
	case d.ID == "":
		return d, invalidf("decision: empty id")
	case d.Subject.Type() != proxywatch.SubjectPrefix:
		return d, invalidf("decision %q: subject %q is not an address or prefix", d.ID, d.Subject)
	case d.Action != proxywatch.ActionBan && d.Action != proxywatch.ActionChallenge:
		return d, invalidf("decision %q: action %q: must be ban or challenge", d.ID, d.Action)
	case d.Created.IsZero() || d.Expires.IsZero():
		return d, invalidf("decision %q: created and expires must be set", d.ID)
	case d.Count < 0:
		return d, invalidf("decision %q: count %d: must not be negative", d.ID, d.Count)
	}
	d.ID, d.Origin, d.Reason, d.AlertID = Text(d.ID), Text(d.Origin), Text(d.Reason), Text(d.AlertID)
	d.Created, d.Expires = Time(d.Created), Time(d.Expires)
	if !d.Expires.After(d.Created) {
		return d, invalidf("decision %q: expires %s: must be after created %s", d.ID, d.Expires, d.Created)
	}
	return d, nil
}

// NormalizeAlert returns a in the form a store keeps it, or an error
// wrapping ErrInvalid.
func NormalizeAlert(a proxywatch.Alert) (proxywatch.Alert, error) {
	switch {
	case a.ID == "":
		return a, invalidf("alert: empty id")
	case a.Detector == "":
		return a, invalidf("alert %q: empty detector", a.ID)
	case a.Time.IsZero():
		return a, invalidf("alert %q: time must be set", a.ID)
	}
	a.ID, a.Detector, a.Service, a.Summary = Text(a.ID), Text(a.Detector), Text(a.Service), Text(a.Summary)
	a.Severity = proxywatch.Severity(Text(string(a.Severity)))
	a.Time, a.Start, a.End = Time(a.Time), Time(a.Start), Time(a.End)
	a.Users = texts(a.Users)
	a.Reasons = texts(a.Reasons)
	a.Sample = texts(a.Sample)
	if len(a.Subjects) == 0 {
		a.Subjects = nil
	}
	if len(a.Counts) == 0 {
		a.Counts = nil
	}
	if len(a.Labels) == 0 {
		a.Labels = nil
	} else {
		m := make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			m[Text(k)] = Text(v)
		}
		a.Labels = m
	}
	return a, nil
}

func texts(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Text(s)
	}
	return out
}

// DecisionIndicator returns the indicator that mirrors d in the verdict
// table: in feed DecisionFeed, with d's subject and kind (KindOther when
// unknown), confidence BanConfidence or ChallengeConfidence, the origin as
// section, the action and "decision" as tags, the reason as comment, and
// d's lifetime as FirstSeen and Expires.
func DecisionIndicator(d proxywatch.Decision) proxywatch.Indicator {
	kind := d.Kind
	if kind == proxywatch.KindUnknown {
		kind = proxywatch.KindOther
	}
	conf := uint8(BanConfidence)
	if d.Action == proxywatch.ActionChallenge {
		conf = ChallengeConfidence
	}
	comment := d.Reason
	if comment == "" {
		comment = fmt.Sprintf("decision %s", d.ID)
	}
	return proxywatch.Indicator{
		Subject:    d.Subject,
		Kind:       kind,
		Source:     proxywatch.Source{Feed: DecisionFeed, Section: d.Origin},
		Confidence: conf,
		Tags:       []string{"decision", string(d.Action)},
		Comment:    comment,
		FirstSeen:  d.Created,
		Expires:    d.Expires,
	}
}
