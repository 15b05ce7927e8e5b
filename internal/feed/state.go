package feed

import (
	"time"
)

// An Outcome says how one refresh of a feed ended.
type Outcome string

// The outcomes. They are also the reasons of the fetches metric.
const (
	OutcomeUpdated     Outcome = "updated"      // a new copy was accepted
	OutcomeForced      Outcome = "forced"       // a new copy was accepted after the configured number of holds
	OutcomeNotModified Outcome = "not-modified" // HTTP 304, or a local file with the same time and size
	OutcomeUnchanged   Outcome = "unchanged"    // the same bytes as the kept copy
	OutcomeHeld        Outcome = "held"         // the guard held the new copy back; the old one stays
	OutcomeFailed      Outcome = "failed"       // the fetch, the document or the sink failed; the old copy stays
)

// State describes a feed: its current copy, its last refresh and its
// health. It is a value; Scheduler.Status returns copies.
type State struct {
	Name   string `json:"name"`
	Source string `json:"source"` // the path, or the URL without its query
	Format string `json:"format"`
	// Fetched is when the current copy was received; Checked, when the
	// source last delivered or confirmed it (a 304 counts). The feed is
	// Stale when Checked is older than MaxAge.
	Fetched   time.Time `json:"fetched,omitzero"`
	Checked   time.Time `json:"checked,omitzero"`
	Attempted time.Time `json:"attempted,omitzero"` // the last refresh attempt
	Next      time.Time `json:"next,omitzero"`      // the next scheduled refresh, while Run runs
	Outcome   Outcome   `json:"outcome,omitempty"`  // of the last attempt
	// Indicators, Bytes and Report describe the current copy.
	Indicators int    `json:"indicators"`
	Bytes      int64  `json:"bytes"`
	Report     Report `json:"report"`
	// Holds counts consecutive held updates, the last for HoldReason.
	Holds      int    `json:"holds,omitempty"`
	HoldReason string `json:"hold_reason,omitempty"`
	// Forced is when an update was last accepted despite the guard.
	Forced time.Time `json:"forced,omitzero"`
	// Failures counts consecutive failed refreshes, the last with
	// LastError.
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// UsingLastGood is true while the copy in use is the one kept on disk
	// and the source has not confirmed it since: after start-up, or
	// because the latest fetch failed.
	UsingLastGood bool `json:"using_last_good,omitempty"`
	// Stale is true when the copy is older than MaxAge: the feed's
	// indicators must not match until a refresh succeeds.
	Stale  bool          `json:"stale,omitempty"`
	MaxAge time.Duration `json:"max_age,omitempty"`
}

// Age returns how long ago the source last delivered or confirmed the
// copy, or 0 when there is none.
func (s *State) Age(now time.Time) time.Duration {
	if s.Checked.IsZero() {
		return 0
	}
	return now.Sub(s.Checked)
}

// staleAt reports whether the copy is stale at now.
func (s *State) staleAt(now time.Time) bool {
	return s.MaxAge > 0 && !s.Checked.IsZero() && now.Sub(s.Checked) > s.MaxAge
}

// A Result is the outcome of refreshing one feed with Scheduler.Update.
type Result struct {
	Name    string
	Outcome Outcome
	// Report describes the fetched copy, when one was read (updated,
	// forced or held); State.Report describes the copy in use.
	Report Report
	// HoldReason says why a held copy was held.
	HoldReason string
	// Err is the failure, for OutcomeFailed.
	Err   error
	State State
}

// newState returns the state of feed f with kept copy m (have is false
// when there is none).
func newState(f *Feed, m *meta, have bool) State {
	st := State{Name: f.Name, Source: f.Source(), Format: f.Format, MaxAge: f.MaxAge}
	if f.URL != "" {
		st.Source = safeURL(f.URL)
	}
	if m != nil && m.Source == f.Source() && m.Format == f.Format {
		st.Holds, st.HoldReason = m.Holds, m.HoldReason
		if have {
			st.Fetched, st.Checked, st.Bytes = m.Fetched, m.Checked, m.Bytes
			st.UsingLastGood = true
		}
	}
	return st
}

// LoadStatus returns the state of every feed of cfg as kept in dataDir,
// without reading the documents (so Indicators and Report are zero): what
// `proxywatch feeds list` shows when the daemon is not running.
func LoadStatus(cfg Config, dataDir string, now time.Time) []State {
	disk := lastGood{dir: feedsDir(dataDir)}
	out := make([]State, 0, len(cfg.Feeds))
	for _, f := range cfg.Feeds {
		f = cfg.Resolve(f)
		m, err := disk.readMeta(f.Name)
		st := newState(&f, &m, err == nil && m.SHA256 != "")
		if err != nil {
			st = newState(&f, nil, false)
		}
		st.Stale = st.staleAt(now)
		out = append(out, st)
	}
	return out
}
