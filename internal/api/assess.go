package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/proxywatch/proxywatch"
)

// An Assessor scores one login attempt from what the login detectors
// know; the composition root implements it over the login watch.
//
// Assess receives an address that is valid and unmapped, the user name
// as given (possibly empty), and an outcome that is exactly "unknown",
// "failure" or "success". It records nothing. An error wrapping
// proxywatch.ErrInvalid is the request's fault and its text is shown to
// the client (a *proxywatch.Error's safe message, when it carries one);
// proxywatch.ErrUnavailable means it cannot answer now.
type Assessor interface {
	Assess(ip netip.Addr, user, outcome string) (Assessment, error)
}

// An Assessment is an Assessor's answer: a score from 0 (harmless) to
// 100, the action it advises ("allow", "challenge" or "deny") and stable
// reason codes.
type Assessment struct {
	Score   int      `json:"score"`
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
}

// AssessRequest is the body of POST /v1/assess.
type AssessRequest struct {
	IP   string `json:"ip"`
	User string `json:"user"`
	// Outcome is what the application knows of the attempt: "unknown"
	// (the default, before the password is checked), "failure" or
	// "success".
	Outcome string `json:"outcome,omitempty"`
}

// AssessResponse is the answer to POST /v1/assess: the address (unmapped)
// and user asked about, and the assessment.
type AssessResponse struct {
	IP   netip.Addr `json:"ip"`
	User string     `json:"user"`
	Assessment
}

// Limits of an assessment request.
const (
	maxAssessBody = 64 << 10
	maxUserLen    = 256
)

func (s *Server) postAssess(w http.ResponseWriter, r *http.Request) error {
	if s.d.Assess == nil {
		return notFound("assessments are not available")
	}
	r.Body = http.MaxBytesReader(w, r.Body, min(s.cfg.MaxBodyBytes, maxAssessBody))
	var req AssessRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.IP == "" {
		return invalid("ip: required")
	}
	ip, err := parseAddr(req.IP)
	if err != nil {
		return prefixError("ip: ", err)
	}
	if len(req.User) > maxUserLen {
		return invalid(fmt.Sprintf("user: longer than %d bytes", maxUserLen))
	}
	outcome := req.Outcome
	switch outcome {
	case "":
		outcome = "unknown"
	case "unknown", "failure", "success":
	default:
		return invalid(fmt.Sprintf("outcome %s: must be unknown, failure or success", quote(req.Outcome)))
	}
	a, err := s.d.Assess.Assess(ip, req.User, outcome)
	if err != nil {
		return fmt.Errorf("assess %s: %w", ip, explainInvalid(err))
	}
	a.Score = min(max(a.Score, 0), 100)
	if a.Reasons == nil {
		a.Reasons = []string{}
	}
	return writeJSON(w, http.StatusOK, AssessResponse{IP: ip, User: req.User, Assessment: a})
}

// explainInvalid gives an ErrInvalid error without a safe message its own
// text, less the sentinel's, as one: the Assessor contract says that text
// describes the request.
func explainInvalid(err error) error {
	return explain(err, proxywatch.ErrInvalid, strings.TrimSuffix(err.Error(), ": "+proxywatch.ErrInvalid.Error()))
}
