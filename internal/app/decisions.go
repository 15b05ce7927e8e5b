package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// decisionStore returns the store's decision side.
func (l *Local) decisionStore() (store.DecisionStore, error) {
	ds, ok := l.store.(store.DecisionStore)
	if !ok {
		return nil, fmt.Errorf("the store keeps no decisions: %w", proxywatch.ErrUnavailable)
	}
	return ds, nil
}

// Decisions lists the decisions active at now, or every stored one when
// all is set.
func (l *Local) Decisions(ctx context.Context, now time.Time, all bool) ([]proxywatch.Decision, error) {
	ds, err := l.decisionStore()
	if err != nil {
		return nil, err
	}
	if all {
		now = time.Time{}
	}
	return ds.Decisions(ctx, now)
}

// AddDecision records a manual decision on subject for ttl. The allowlist
// wins: a subject that overlaps it is refused. A running daemon applies
// the decision to its table (and so to the DNSBL, forward-auth and
// exports) within a second, through the store's change cursor.
func (l *Local) AddDecision(ctx context.Context, subject proxywatch.Subject, action proxywatch.Action, ttl time.Duration, reason string, now time.Time) (proxywatch.Decision, error) {
	ds, err := l.decisionStore()
	if err != nil {
		return proxywatch.Decision{}, err
	}
	if subject.Type() != proxywatch.SubjectPrefix {
		return proxywatch.Decision{}, fmt.Errorf("decision on %s: only addresses and prefixes can be decided: %w", subject, proxywatch.ErrInvalid)
	}
	for _, p := range l.cfg.Allowlist.Effective() {
		if p.Overlaps(subject.Prefix) {
			return proxywatch.Decision{}, fmt.Errorf("decision on %s: overlaps the allowlist (%s): %w", subject, p, proxywatch.ErrConflict)
		}
	}
	if ttl <= 0 {
		return proxywatch.Decision{}, fmt.Errorf("decision on %s: ttl %s: must be positive: %w", subject, ttl, proxywatch.ErrInvalid)
	}
	var id [8]byte
	rand.Read(id[:])
	d := proxywatch.Decision{
		ID: "m-" + hex.EncodeToString(id[:]), Subject: subject, Action: action, Origin: "manual",
		Reason: reason, Created: now.UTC(), Expires: now.Add(ttl).UTC(),
	}
	if err := ds.PutDecision(ctx, d); err != nil {
		return proxywatch.Decision{}, err
	}
	return d, nil
}

// DeleteDecision removes the decision id.
func (l *Local) DeleteDecision(ctx context.Context, id string) error {
	ds, err := l.decisionStore()
	if err != nil {
		return err
	}
	return ds.DeleteDecision(ctx, id)
}

// Alerts returns up to limit alerts since t, newest first.
func (l *Local) Alerts(ctx context.Context, since time.Time, limit int) ([]proxywatch.Alert, error) {
	ds, err := l.decisionStore()
	if err != nil {
		return nil, err
	}
	return ds.Alerts(ctx, since, limit)
}
