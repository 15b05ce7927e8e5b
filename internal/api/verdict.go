package api

import (
	"cmp"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// A Verdict is the answer for one address: whether it is listed, every
// indicator in the live table that covers it, and what enrichment knows of
// it. Its JSON has the shape of `proxywatch check --json`.
type Verdict struct {
	Addr        netip.Addr `json:"addr"`
	Listed      bool       `json:"listed"`
	Allowlisted bool       `json:"allowlisted"`
	// Kind is the highest-priority kind among the hits that reach the
	// minimum confidence; empty when none does.
	Kind string `json:"kind,omitempty"`
	// Confidence is the highest confidence among the hits.
	Confidence uint8 `json:"confidence,omitempty"`
	// Evidence lists every hit, in kind priority order, then by falling
	// confidence.
	Evidence   []Evidence   `json:"evidence"`
	Enrichment *enrich.Info `json:"enrichment,omitempty"`
}

// Evidence is one indicator behind a verdict: its feed, line and section
// (Source), kind, confidence, expiry, port and protocol.
type Evidence struct {
	proxywatch.Indicator
	// Via says how the indicator matched; the API matches by "prefix".
	Via string `json:"via"`
	// Counts reports whether the indicator reaches the minimum confidence.
	Counts bool `json:"counts"`
}

// BatchRequest is the body of POST /v1/ip.
type BatchRequest struct {
	Addrs []string `json:"addrs"`
}

// BatchResponse is the answer to POST /v1/ip: one verdict per address, in
// the order asked.
type BatchResponse struct {
	Verdicts []Verdict `json:"verdicts"`
}

// allowlister is what a Lookuper may also offer, to report the allowlist
// for addresses without hits.
type allowlister interface {
	Allowlisted(addr netip.Addr) bool
}

// verdictOf looks addr up and combines its hits with verdict.Summarize.
func (s *Server) verdictOf(addr netip.Addr, minConf uint8) Verdict {
	var buf [16]verdict.Hit
	hits := s.d.Table.Lookup(addr, buf[:0])
	sum := verdict.Summarize(hits, minConf)
	v := Verdict{
		Addr:        addr,
		Listed:      sum.Listed,
		Allowlisted: sum.Allowlisted,
		Confidence:  sum.MaxConfidence,
		Evidence:    make([]Evidence, 0, len(hits)),
	}
	if sum.Qualified && sum.Top.Valid() {
		v.Kind = sum.Top.Kind().String()
	}
	if al, ok := s.d.Table.(allowlister); ok && !v.Allowlisted {
		v.Allowlisted = al.Allowlisted(addr)
		v.Listed = v.Listed && !v.Allowlisted
	}
	for _, h := range hits {
		if !h.Valid() {
			continue
		}
		ind := h.Indicator()
		v.Evidence = append(v.Evidence, Evidence{Indicator: ind, Via: "prefix", Counts: ind.Confidence >= minConf})
	}
	slices.SortStableFunc(v.Evidence, func(a, b Evidence) int {
		if c := cmp.Compare(priorityOf(a.Kind), priorityOf(b.Kind)); c != 0 {
			return c
		}
		return cmp.Compare(b.Confidence, a.Confidence)
	})
	if s.d.Enrich != nil {
		if info := s.d.Enrich.Lookup(addr); !info.IsZero() {
			v.Enrichment = &info
		}
	}
	return v
}

// priorityOf orders kinds as proxywatch.Kinds does, KindUnknown last.
func priorityOf(k proxywatch.Kind) int {
	if k == proxywatch.KindUnknown {
		return 1 << 16
	}
	return int(k)
}

func (s *Server) getVerdict(w http.ResponseWriter, r *http.Request) error {
	minConf, err := s.minConfidence(r)
	if err != nil {
		return err
	}
	addr, err := parseAddr(r.PathValue("addr"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.verdictOf(addr, minConf))
}

func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) error {
	minConf, err := s.minConfidence(r)
	if err != nil {
		return err
	}
	var req BatchRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if len(req.Addrs) > s.cfg.MaxBatch {
		return fmt.Errorf("batch of %d addresses, limit %d: %w", len(req.Addrs), s.cfg.MaxBatch, errTooLarge)
	}
	resp := BatchResponse{Verdicts: make([]Verdict, 0, len(req.Addrs))}
	for i, a := range req.Addrs {
		addr, err := parseAddr(a)
		if err != nil {
			return invalid(fmt.Sprintf("addrs[%d]: %s is not an IP address", i, quote(a)))
		}
		resp.Verdicts = append(resp.Verdicts, s.verdictOf(addr, minConf))
	}
	return writeJSON(w, http.StatusOK, resp)
}

// minConfidence returns the request's ?min_confidence=, or the default.
func (s *Server) minConfidence(r *http.Request) (uint8, error) {
	if r.URL.RawQuery == "" {
		return s.d.MinConfidence, nil
	}
	q := r.URL.Query().Get("min_confidence")
	if q == "" {
		return s.d.MinConfidence, nil
	}
	n, err := strconv.ParseUint(q, 10, 8)
	if err != nil || n < 1 || n > proxywatch.MaxConfidence {
		return 0, invalid(fmt.Sprintf("min_confidence %s: must be between 1 and %d", quote(q), proxywatch.MaxConfidence))
	}
	return uint8(n), nil
}

// parseAddr parses an IPv4 or IPv6 address, unmapping IPv4-mapped IPv6.
// Zoned addresses are refused: a zone has no meaning to a blocklist.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, invalid(fmt.Sprintf("%s is not an IP address", quote(s)))
	}
	return a.Unmap(), nil
}
