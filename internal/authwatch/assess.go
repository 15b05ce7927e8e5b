package authwatch

import (
	"fmt"
	"net/netip"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// An Outcome is what an application knows of the attempt it asks about.
type Outcome uint8

// The outcomes.
const (
	OutcomeUnknown Outcome = iota // before the password is checked
	OutcomeFailure                // the attempt failed
	OutcomeSuccess                // the attempt succeeded
)

// ParseOutcome parses "", "unknown", "failure" or "success".
func ParseOutcome(s string) (Outcome, error) {
	switch s {
	case "", "unknown":
		return OutcomeUnknown, nil
	case "failure":
		return OutcomeFailure, nil
	case "success":
		return OutcomeSuccess, nil
	}
	return OutcomeUnknown, fmt.Errorf("outcome %q: must be unknown, failure or success: %w", s, proxywatch.ErrInvalid)
}

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case OutcomeFailure:
		return "failure"
	case OutcomeSuccess:
		return "success"
	}
	return "unknown"
}

// An Action is what Assess advises.
type Action string

// The actions.
const (
	Allow     Action = "allow"
	Challenge Action = "challenge"
	Deny      Action = "deny"
)

// An Assessment is Assess's answer.
type Assessment struct {
	Score   int      `json:"score"` // 0 (harmless) to 100
	Action  Action   `json:"action"`
	Reasons []string `json:"reasons"`
}

// Points each signal adds to an assessment's score.
const (
	scoreBan           = 100
	scoreChallenge     = 60
	scoreBrute         = 80
	scorePerFailure    = 10
	scoreMaxFailures   = 40
	scoreParticipant   = 70
	scoreCampaignNew   = 30
	scoreTargeted      = 20
	scoreFailedNow     = 10
	scoreKnownSource   = -30
	scoreCampaignPfx   = 20
	scoreListedPercent = 80 // of the listing's confidence
)

// Assess scores an attempt by user from ip, with what is known of its
// outcome, from the detectors' state: live decisions, listings, the
// address's recent failures, campaign participation, an open campaign
// while the address has never logged in, an account under attack, and a
// history of successful logins from the address (which lowers the score).
// It records nothing: the attempt itself reaches the detectors through
// the logs. Action is deny at Config.Assess.DenyAt and above, challenge
// at ChallengeAt and above, allow below.
func (w *Watch) Assess(ip netip.Addr, user string, outcome Outcome) Assessment {
	var reasons []string
	score := 0
	add := func(pts int, reason string) {
		score += pts
		reasons = append(reasons, reason)
	}
	if !ip.IsValid() {
		return Assessment{Action: Allow, Reasons: []string{"no-address"}}
	}
	ip = ip.Unmap()
	if w.deps.Decided != nil {
		if d, ok := w.deps.Decided(ip); ok {
			if d.Action == proxywatch.ActionBan {
				add(scoreBan, "decision:ban")
			} else {
				add(scoreChallenge, "decision:challenge")
			}
		}
	}
	if w.deps.Listed != nil {
		if l, ok := w.deps.Listed(ip); ok && l.Confidence >= w.cfg.Listed.MinConfidence {
			add(int(l.Confidence)*scoreListedPercent/100, "listed:"+l.Kind.String())
		}
	}
	key := window.AddrKey(ip)
	h := window.HashAddr(ip)

	w.mu.Lock()
	now := w.now
	known := w.known.Contains(h)
	st, seen := w.ips.Peek(key)
	if seen {
		if st.flags&flagBrute != 0 && now < st.alerted+dur(w.cfg.BruteForce.Cooldown)*24 {
			add(scoreBrute, "brute-force")
		} else if n := st.fails.CountSince(sub(now, w.shortWindow())); n > 0 {
			add(min(n*scorePerFailure, scoreMaxFailures), fmt.Sprintf("failures=%d", n))
		}
		if st.camp != 0 && now < st.last+dur(w.cfg.Campaign.Lookback+w.cfg.Campaign.Linger)*4 {
			add(scoreParticipant, "campaign-participant")
		}
		if st.succ != 0 {
			known = true
		}
	}
	for _, s := range w.svcs {
		c := s.camp
		if c == nil {
			continue
		}
		if !known && !(seen && st.camp == c.serial) {
			add(scoreCampaignNew, "campaign-active:"+s.name)
		}
		if _, ok := c.prefixes[prefixOf(ip)]; ok {
			add(scoreCampaignPfx, "campaign-prefix")
		}
		if user != "" && w.targeted(s.idx, user, w.cfg.Campaign.TargetedBy, now) {
			add(scoreTargeted, "account-targeted:"+s.name)
		}
	}
	w.mu.Unlock()

	if known {
		add(scoreKnownSource, "known-source")
	}
	if outcome == OutcomeFailure {
		add(scoreFailedNow, "failed")
	}
	score = min(max(score, 0), 100)
	a := Assessment{Score: score, Action: Allow, Reasons: reasons}
	switch {
	case score >= w.cfg.Assess.DenyAt:
		a.Action = Deny
	case score >= w.cfg.Assess.ChallengeAt:
		a.Action = Challenge
	}
	if a.Reasons == nil {
		a.Reasons = []string{}
	}
	return a
}
