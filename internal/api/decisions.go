package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A DecisionKeeper lists, adds and deletes decisions and lists alerts;
// the composition root implements it over the store (its *app.Local has
// these methods). Errors follow the store conventions: ErrInvalid,
// ErrNotFound, ErrConflict (a subject overlapping the allowlist) and
// ErrUnavailable.
type DecisionKeeper interface {
	// Decisions returns the decisions active at now, or every stored one
	// when all is set.
	Decisions(ctx context.Context, now time.Time, all bool) ([]proxywatch.Decision, error)
	// AddDecision records a manual decision on subject, an address or a
	// prefix, for ttl from now, and returns it as stored.
	AddDecision(ctx context.Context, subject proxywatch.Subject, action proxywatch.Action, ttl time.Duration, reason string, now time.Time) (proxywatch.Decision, error)
	// DeleteDecision removes the decision id.
	DeleteDecision(ctx context.Context, id string) error
	// Alerts returns up to limit alerts since since, newest first.
	Alerts(ctx context.Context, since time.Time, limit int) ([]proxywatch.Alert, error)
}

// DecisionInput is the body of POST /v1/decisions. Only Subject is
// required: Action defaults to "ban" and TTL to DefaultDecisionTTL.
type DecisionInput struct {
	Subject string `json:"subject"`          // an address or a prefix
	Action  string `json:"action,omitempty"` // "ban" or "challenge"
	TTL     string `json:"ttl,omitempty"`    // a Go duration, e.g. "4h"
	Reason  string `json:"reason,omitempty"`
}

// DecisionList is the answer of GET /v1/decisions: up to max_list
// decisions and whether more were left out.
type DecisionList struct {
	Decisions []proxywatch.Decision `json:"decisions"`
	Truncated bool                  `json:"truncated,omitempty"`
}

// AlertList is the answer of GET /v1/alerts, newest first.
type AlertList struct {
	Alerts []proxywatch.Alert `json:"alerts"`
}

// Defaults and limits of the decision and alert endpoints.
const (
	// DefaultDecisionTTL is how long a decision added without a ttl lasts,
	// as for `proxywatch decisions add`.
	DefaultDecisionTTL = 24 * time.Hour
	// MaxDecisionTTL is the longest ttl a decision may be given; a block
	// meant to last longer is an indicator.
	MaxDecisionTTL = 365 * 24 * time.Hour
	// DefaultAlertWindow is how far back GET /v1/alerts looks without
	// ?since=.
	DefaultAlertWindow = 24 * time.Hour
	// DefaultAlertLimit and MaxAlertLimit bound the alerts of one answer.
	DefaultAlertLimit = 100
	MaxAlertLimit     = 10000

	maxReasonLen     = 1024
	maxDecisionIDLen = 128
)

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) error {
	if s.d.Decisions == nil {
		return notFound("decisions are not available")
	}
	q := r.URL.Query()
	all := false
	if v := q.Get("all"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid(fmt.Sprintf("all %s: must be true or false", quote(v)))
		}
		all = b
	}
	limit, err := intParam(q.Get("limit"), "limit", s.cfg.MaxList, s.cfg.MaxList)
	if err != nil {
		return err
	}
	ds, err := s.d.Decisions.Decisions(r.Context(), s.d.Now(), all)
	if err != nil {
		return fmt.Errorf("list decisions: %w", err)
	}
	out := DecisionList{Decisions: ds}
	if len(ds) > limit {
		out.Decisions, out.Truncated = ds[:limit], true
	}
	if out.Decisions == nil {
		out.Decisions = []proxywatch.Decision{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) addDecision(w http.ResponseWriter, r *http.Request) error {
	if s.d.Decisions == nil {
		return notFound("decisions are not available")
	}
	var in DecisionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	subj, err := proxywatch.ParseSubject(in.Subject)
	if err != nil || subj.Type() != proxywatch.SubjectPrefix {
		return invalid(fmt.Sprintf("subject %s: not an address or prefix", quote(in.Subject)))
	}
	action := proxywatch.ActionBan
	switch proxywatch.Action(in.Action) {
	case "", proxywatch.ActionBan:
	case proxywatch.ActionChallenge:
		action = proxywatch.ActionChallenge
	default:
		return invalid(fmt.Sprintf("action %s: must be ban or challenge", quote(in.Action)))
	}
	ttl := DefaultDecisionTTL
	if in.TTL != "" {
		ttl, err = time.ParseDuration(in.TTL)
		if err != nil || ttl <= 0 || ttl > MaxDecisionTTL {
			return invalid(fmt.Sprintf("ttl %s: must be a positive duration such as \"4h\", at most %s", quote(in.TTL), MaxDecisionTTL))
		}
	}
	if len(in.Reason) > maxReasonLen {
		return invalid(fmt.Sprintf("reason: longer than %d bytes", maxReasonLen))
	}
	d, err := s.d.Decisions.AddDecision(r.Context(), subj, action, ttl, in.Reason, s.d.Now())
	if err != nil {
		err = explain(err, proxywatch.ErrConflict, fmt.Sprintf("subject %s overlaps the allowlist, which always wins", subj))
		err = explain(err, proxywatch.ErrInvalid, fmt.Sprintf("decision on %s refused as invalid", subj))
		return fmt.Errorf("add decision on %s: %w", subj, err)
	}
	s.log.Info("decision added", slog.String("id", d.ID), slog.String("subject", d.Subject.String()),
		slog.String("action", string(d.Action)), slog.Duration("ttl", ttl), slog.String("token", tokenName(r)))
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) deleteDecision(w http.ResponseWriter, r *http.Request) error {
	if s.d.Decisions == nil {
		return notFound("decisions are not available")
	}
	id := r.PathValue("id")
	if !validDecisionID(id) {
		return invalid(fmt.Sprintf("decision id %s: must be 1 to %d printable characters", quote(id), maxDecisionIDLen))
	}
	if err := s.d.Decisions.DeleteDecision(r.Context(), id); err != nil {
		err = explain(err, proxywatch.ErrNotFound, "no decision "+quote(id))
		return fmt.Errorf("delete decision %q: %w", id, err)
	}
	s.log.Info("decision deleted", slog.String("id", id), slog.String("token", tokenName(r)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validDecisionID reports whether id is short and printable ASCII, as the
// ids decisions are given are.
func validDecisionID(id string) bool {
	if id == "" || len(id) > maxDecisionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	if s.d.Decisions == nil {
		return notFound("alerts are not available")
	}
	q := r.URL.Query()
	since := s.d.Now().Add(-DefaultAlertWindow)
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return invalid(fmt.Sprintf("since %s: must be an RFC 3339 time such as \"2026-09-01T10:00:00Z\"", quote(v)))
		}
		since = t
	}
	limit, err := intParam(q.Get("limit"), "limit", DefaultAlertLimit, MaxAlertLimit)
	if err != nil {
		return err
	}
	as, err := s.d.Decisions.Alerts(r.Context(), since, limit)
	if err != nil {
		return fmt.Errorf("list alerts: %w", err)
	}
	if len(as) > limit {
		as = as[:limit]
	}
	if as == nil {
		as = []proxywatch.Alert{}
	}
	return writeJSON(w, http.StatusOK, AlertList{Alerts: as})
}

// intParam parses the query parameter name, v, as an integer from 1 to
// hi, or returns def when v is empty.
func intParam(v, name string, def, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > hi {
		return 0, invalid(fmt.Sprintf("%s %s: must be between 1 and %d", name, quote(v), hi))
	}
	return n, nil
}

// explain gives err the safe message msg when it is of kind and carries
// no safe message of its own.
func explain(err, kind error, msg string) error {
	var pe *proxywatch.Error
	if !errors.Is(err, kind) || errors.As(err, &pe) {
		return err
	}
	return &proxywatch.Error{Kind: kind, Message: msg, Err: err}
}
