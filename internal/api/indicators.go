package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
)

// IndicatorInput is one indicator a client adds. Only Subject is
// required: Feed defaults to "local", Kind to "other", Confidence to 100
// (an operator's own entry is meant to be acted on), and the indicator
// never expires unless Expires or TTL says when.
type IndicatorInput struct {
	Subject    string    `json:"subject"` // address, prefix, domain or "AS64496"
	Kind       string    `json:"kind,omitempty"`
	Feed       string    `json:"feed,omitempty"` // one of the configured local_feeds
	Confidence int       `json:"confidence,omitempty"`
	Tags       []string  `json:"tags,omitempty"`
	Port       uint16    `json:"port,omitempty"`
	Proto      string    `json:"proto,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	Expires    time.Time `json:"expires,omitzero"`
	TTL        string    `json:"ttl,omitempty"` // a Go duration, e.g. "24h"; exclusive with Expires
}

// AddRequest is the body of POST /v1/indicators: either one indicator's
// fields at the top level, or a list of them under "indicators".
type AddRequest struct {
	IndicatorInput
	Indicators []IndicatorInput `json:"indicators,omitempty"`
}

// IndicatorList is the answer of the indicator endpoints: for a list, up
// to max_list indicators and whether more were left out; for an add, the
// indicators as stored; for a delete, those deleted.
type IndicatorList struct {
	Indicators []proxywatch.Indicator `json:"indicators"`
	Truncated  bool                   `json:"truncated,omitempty"`
}

// Limits on what a client may store in one indicator.
const (
	maxTags       = 32
	maxTagLen     = 64
	maxCommentLen = 1024
	maxProtoLen   = 16
)

func (s *Server) addIndicators(w http.ResponseWriter, r *http.Request) error {
	if s.d.Store == nil {
		return notFound("indicators are not available: no store")
	}
	var req AddRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ins := req.Indicators
	switch {
	case req.Subject != "" && len(ins) > 0:
		return invalid(`request body: give one indicator or "indicators", not both`)
	case req.Subject != "":
		ins = []IndicatorInput{req.IndicatorInput}
	case len(ins) == 0:
		return invalid("request body: no indicator")
	case len(ins) > s.cfg.MaxBatch:
		return fmt.Errorf("%d indicators, limit %d: %w", len(ins), s.cfg.MaxBatch, errTooLarge)
	}
	now := s.d.Now()
	inds := make([]proxywatch.Indicator, len(ins))
	for i, in := range ins {
		ind, err := s.indicatorOf(in, now)
		if err != nil {
			if len(ins) > 1 {
				return prefixError(fmt.Sprintf("indicators[%d]: ", i), err)
			}
			return err
		}
		inds[i] = ind
	}
	// Each indicator is one store write; a failure leaves the earlier ones
	// stored. Adding is idempotent, so the client may retry the batch.
	for i, ind := range inds {
		if err := s.d.Store.Add(r.Context(), ind); err != nil {
			return fmt.Errorf("add indicator %d of %d: %w", i+1, len(inds), err)
		}
	}
	s.log.Info("indicators added", slog.Int("count", len(inds)), slog.String("token", tokenName(r)),
		slog.String("first", inds[0].Subject.String()), slog.String("feed", inds[0].Source.Feed))
	return writeJSON(w, http.StatusCreated, IndicatorList{Indicators: inds})
}

// indicatorOf checks in and fills its defaults.
func (s *Server) indicatorOf(in IndicatorInput, now time.Time) (proxywatch.Indicator, error) {
	subj, err := proxywatch.ParseSubject(in.Subject)
	if err != nil {
		return proxywatch.Indicator{}, invalid(fmt.Sprintf("subject %s: not an address, prefix, domain or ASN", quote(in.Subject)))
	}
	feed, err := s.localFeed(in.Feed)
	if err != nil {
		return proxywatch.Indicator{}, err
	}
	ind := proxywatch.Indicator{
		Subject: subj, Kind: proxywatch.KindOther, Source: proxywatch.Source{Feed: feed},
		Confidence: proxywatch.MaxConfidence, Tags: in.Tags, Port: in.Port, Proto: in.Proto,
		Comment: in.Comment, FirstSeen: now, LastSeen: now, Expires: in.Expires,
	}
	if in.Kind != "" {
		if ind.Kind, err = proxywatch.ParseKind(in.Kind); err != nil || ind.Kind == proxywatch.KindUnknown {
			return ind, invalid(fmt.Sprintf("kind %s: unknown", quote(in.Kind)))
		}
	}
	switch {
	case in.Confidence < 0 || in.Confidence > proxywatch.MaxConfidence:
		return ind, invalid(fmt.Sprintf("confidence %d: must be between 1 and %d", in.Confidence, proxywatch.MaxConfidence))
	case in.Confidence > 0:
		ind.Confidence = uint8(in.Confidence)
	}
	switch {
	case len(in.Tags) > maxTags:
		return ind, invalid(fmt.Sprintf("tags: more than %d", maxTags))
	case len(in.Comment) > maxCommentLen:
		return ind, invalid(fmt.Sprintf("comment: longer than %d bytes", maxCommentLen))
	case len(in.Proto) > maxProtoLen || strings.ToLower(in.Proto) != in.Proto:
		return ind, invalid(fmt.Sprintf("proto %s: must be lower case, at most %d bytes", quote(in.Proto), maxProtoLen))
	}
	for _, t := range in.Tags {
		if t == "" || len(t) > maxTagLen {
			return ind, invalid(fmt.Sprintf("tags: each must be 1 to %d bytes", maxTagLen))
		}
	}
	if in.TTL != "" {
		if !in.Expires.IsZero() {
			return ind, invalid("ttl and expires: give one, not both")
		}
		ttl, err := time.ParseDuration(in.TTL)
		if err != nil || ttl <= 0 {
			return ind, invalid(fmt.Sprintf("ttl %s: must be a positive duration such as \"24h\"", quote(in.TTL)))
		}
		ind.Expires = now.Add(ttl)
	}
	if !ind.Expires.IsZero() && !ind.Expires.After(now) {
		return ind, invalid("expires: in the past")
	}
	return ind, nil
}

// localFeed returns feed, or the default local feed for "", and refuses
// feeds that are not configured as local.
func (s *Server) localFeed(feed string) (string, error) {
	if feed == "" {
		feed = DefaultLocalFeed
		if !s.local[feed] && len(s.cfg.LocalFeeds) > 0 {
			feed = s.cfg.LocalFeeds[0]
		}
	}
	if !s.local[feed] {
		return "", &proxywatch.Error{Kind: errForbidden, Message: fmt.Sprintf("feed %s is not writable through the API (see api.local_feeds)", quote(feed))}
	}
	return feed, nil
}

func (s *Server) listIndicators(w http.ResponseWriter, r *http.Request) error {
	if s.d.Store == nil {
		return notFound("indicators are not available: no store")
	}
	q := r.URL.Query()
	feed := q.Get("feed")
	if feed == "" {
		feed = DefaultLocalFeed
	}
	limit := s.cfg.MaxList
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.cfg.MaxList {
			return invalid(fmt.Sprintf("limit %s: must be between 1 and %d", quote(v), s.cfg.MaxList))
		}
		limit = n
	}
	out := IndicatorList{Indicators: []proxywatch.Indicator{}}
	for ind, err := range s.d.Store.Indicators(r.Context(), feed) {
		if err != nil {
			return fmt.Errorf("list feed %q: %w", feed, err)
		}
		if len(out.Indicators) == limit {
			out.Truncated = true
			break
		}
		out.Indicators = append(out.Indicators, ind)
	}
	return writeJSON(w, http.StatusOK, out)
}

// subjectIndicators returns the stored indicators of r's {subject},
// filtered by the query's feed, kind, port and proto.
func (s *Server) subjectIndicators(r *http.Request, defaultFeed string) ([]proxywatch.Indicator, error) {
	if s.d.Store == nil {
		return nil, notFound("indicators are not available: no store")
	}
	raw := r.PathValue("subject")
	subj, err := proxywatch.ParseSubject(raw)
	if err != nil {
		return nil, invalid(fmt.Sprintf("subject %s: not an address, prefix, domain or ASN", quote(raw)))
	}
	q := r.URL.Query()
	feed := q.Get("feed")
	if feed == "" {
		feed = defaultFeed
	}
	var kind proxywatch.Kind
	if v := q.Get("kind"); v != "" {
		if kind, err = proxywatch.ParseKind(v); err != nil || kind == proxywatch.KindUnknown {
			return nil, invalid(fmt.Sprintf("kind %s: unknown", quote(v)))
		}
	}
	port := -1
	if v := q.Get("port"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, invalid(fmt.Sprintf("port %s: must be 0 to 65535", quote(v)))
		}
		port = int(n)
	}
	proto, hasProto := q.Get("proto"), q.Has("proto")
	all, err := s.d.Store.Subject(r.Context(), subj)
	if err != nil {
		return nil, fmt.Errorf("read subject %s: %w", subj, err)
	}
	out := all[:0]
	for _, ind := range all {
		if (feed == "" || ind.Source.Feed == feed) && (kind == 0 || ind.Kind == kind) &&
			(port < 0 || int(ind.Port) == port) && (!hasProto || ind.Proto == proto) {
			out = append(out, ind)
		}
	}
	if len(out) == 0 {
		return nil, notFound(fmt.Sprintf("no indicator for %s", subj))
	}
	return out, nil
}

func (s *Server) getSubject(w http.ResponseWriter, r *http.Request) error {
	inds, err := s.subjectIndicators(r, "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, IndicatorList{Indicators: inds})
}

func (s *Server) deleteIndicators(w http.ResponseWriter, r *http.Request) error {
	feed, err := s.localFeed(r.URL.Query().Get("feed"))
	if err != nil {
		return err
	}
	inds, err := s.subjectIndicators(r, feed)
	if err != nil {
		return err
	}
	deleted := inds[:0]
	for _, ind := range inds {
		err := s.d.Store.Delete(r.Context(), ind.Key())
		switch {
		case errors.Is(err, proxywatch.ErrNotFound):
			// Deleted meanwhile by another client.
		case err != nil:
			return fmt.Errorf("delete %s: %w", ind.Subject, err)
		default:
			deleted = append(deleted, ind)
		}
	}
	if len(deleted) == 0 {
		return notFound("no indicator to delete")
	}
	s.log.Info("indicators deleted", slog.Int("count", len(deleted)), slog.String("token", tokenName(r)),
		slog.String("subject", deleted[0].Subject.String()), slog.String("feed", feed))
	return writeJSON(w, http.StatusOK, IndicatorList{Indicators: deleted})
}

// prefixError prefixes a safe message with where in the request it
// applies, keeping the error's kind.
func prefixError(prefix string, err error) error {
	var pe *proxywatch.Error
	if errors.As(err, &pe) {
		return &proxywatch.Error{Kind: pe.Kind, Message: prefix + pe.Message, Err: pe.Err}
	}
	return err
}
