package storetest

import (
	"errors"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// A DecisionBackend is a store that keeps decisions and alerts too.
type DecisionBackend interface {
	store.Store
	store.DecisionStore
}

// RunDecisions runs the conformance suite of [store.DecisionStore]. open
// must return a new, empty store for each call, and close it in
// t.Cleanup (the suite may close it first).
func RunDecisions(t *testing.T, open func(t *testing.T) DecisionBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s DecisionBackend)
	}{
		{"RoundTrip", testDecisionRoundTrip},
		{"Mirror", testDecisionMirror},
		{"ReplaceSubject", testDecisionReplaceSubject},
		{"ReplaceID", testDecisionReplaceID},
		{"Delete", testDecisionDelete},
		{"Invalid", testDecisionInvalid},
		{"Prune", testDecisionPrune},
		{"Alerts", testAlerts},
		{"AlertsInvalid", testAlertsInvalid},
		{"Closed", testDecisionClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var decisionOpts = gocmp.Options{
	gocmp.Comparer(func(a, b proxywatch.Subject) bool { return a == b }),
}

func decision(id, subject string, action proxywatch.Action, kind proxywatch.Kind, created time.Time, ttl time.Duration) proxywatch.Decision {
	s, err := proxywatch.ParseSubject(subject)
	if err != nil {
		panic(err) // fixtures only
	}
	return proxywatch.Decision{ID: id, Subject: s, Action: action, Origin: "detect:campaign", Reason: "new failing source in a surge",
		AlertID: "a-" + id, Kind: kind, Created: created, Expires: created.Add(ttl), Count: 1}
}

func normDecision(t *testing.T, d proxywatch.Decision) proxywatch.Decision {
	t.Helper()
	n, err := store.NormalizeDecision(d)
	if err != nil {
		t.Fatalf("NormalizeDecision(%q) error %v", d.ID, err)
	}
	return n
}

func mustPut(t *testing.T, s DecisionBackend, d proxywatch.Decision) {
	t.Helper()
	if err := s.PutDecision(t.Context(), d); err != nil {
		t.Fatalf("PutDecision(%q, %s) error %v", d.ID, d.Subject, err)
	}
}

func wantDecisions(t *testing.T, s DecisionBackend, at time.Time, want []proxywatch.Decision) {
	t.Helper()
	got, err := s.Decisions(t.Context(), at)
	if err != nil {
		t.Fatalf("Decisions(%s) error %v", at, err)
	}
	if diff := gocmp.Diff(want, got, decisionOpts, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Decisions(%s) mismatch (-want +got):\n%s", at, diff)
	}
}

// wantMirror checks the feed DecisionFeed holds exactly the mirrors of ds.
func wantMirror(t *testing.T, s DecisionBackend, ds ...proxywatch.Decision) {
	t.Helper()
	var inds []proxywatch.Indicator
	for _, d := range ds {
		inds = append(inds, store.DecisionIndicator(normDecision(t, d)))
	}
	wantFeed(t, s, store.DecisionFeed, stored(t, inds))
	wantCount(t, s, store.DecisionFeed, len(ds))
}

func testDecisionRoundTrip(t *testing.T, s DecisionBackend) {
	a := decision("d-1", "198.51.100.7", proxywatch.ActionChallenge, proxywatch.KindResidentialProxy, t0, 2*time.Hour)
	b := decision("d-2", "2001:db8::/64", proxywatch.ActionBan, proxywatch.KindBruteForce, t0.Add(time.Hour), 2*time.Hour)
	b.Count, b.Reason, b.Origin = 3, "Brute force — 代理", "manual"
	mustPut(t, s, b)
	mustPut(t, s, a)
	na, nb := normDecision(t, a), normDecision(t, b)
	if na.Created.Nanosecond()%1000 != 0 || na.Created.Location() != time.UTC {
		t.Fatalf("NormalizeDecision kept %v, want microseconds in UTC", na.Created)
	}
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{na, nb})
	wantDecisions(t, s, t0.Add(90*time.Minute), []proxywatch.Decision{na, nb})
	wantDecisions(t, s, t0.Add(30*time.Minute), []proxywatch.Decision{na})
	wantDecisions(t, s, t0.Add(2*time.Hour), []proxywatch.Decision{nb}) // a expires exactly then
	wantDecisions(t, s, t0.Add(3*time.Hour), nil)
}

func testDecisionMirror(t *testing.T, s DecisionBackend) {
	a := decision("d-1", "198.51.100.7", proxywatch.ActionChallenge, proxywatch.KindUnknown, t0, time.Hour)
	before := mustSeq(t, s)
	mustPut(t, s, a)
	wantMirror(t, s, a)
	ind := store.DecisionIndicator(a)
	if ind.Kind != proxywatch.KindOther || ind.Confidence != store.ChallengeConfidence || ind.Source.Feed != store.DecisionFeed {
		t.Errorf("DecisionIndicator(challenge, unknown kind) = kind %s confidence %d feed %q, want other, %d, %q",
			ind.Kind, ind.Confidence, ind.Source.Feed, store.ChallengeConfidence, store.DecisionFeed)
	}
	cs := mustChanges(t, s, before, 0)
	want := []store.Change{{Op: store.ChangeAdd, Feed: store.DecisionFeed, Indicator: stored(t, []proxywatch.Indicator{ind})[0]}}
	if diff := gocmp.Diff(want, cs, cmpOpts, cmpopts.IgnoreFields(store.Change{}, "Seq", "Time")); diff != "" {
		t.Errorf("Changes after PutDecision mismatch (-want +got):\n%s", diff)
	}
	// The mirror is an ordinary indicator: Covering finds it.
	got, err := s.Covering(t.Context(), a.Subject.Prefix.Addr())
	if err != nil || len(got) != 1 || got[0].Source.Feed != store.DecisionFeed {
		t.Errorf("Covering(%s) = %v, %v, want the decision's indicator", a.Subject, got, err)
	}
}

func testDecisionReplaceSubject(t *testing.T, s DecisionBackend) {
	a := decision("d-1", "198.51.100.7", proxywatch.ActionChallenge, proxywatch.KindResidentialProxy, t0, time.Hour)
	mustPut(t, s, a)
	// Same subject and kind, new ID (an escalation): one change, an add.
	b := decision("d-2", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindResidentialProxy, t0.Add(time.Hour), 4*time.Hour)
	b.Count = 2
	seq := mustSeq(t, s)
	mustPut(t, s, b)
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, b)})
	wantMirror(t, s, b)
	if cs := mustChanges(t, s, seq, 0); len(cs) != 1 || cs[0].Op != store.ChangeAdd {
		t.Errorf("Changes after replacing a decision of the same kind = %v, want one add", cs)
	}
	// Same subject, another kind: the mirror's key changes, so the old
	// one is deleted and the new one added.
	c := decision("d-3", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0.Add(2*time.Hour), time.Hour)
	seq = mustSeq(t, s)
	mustPut(t, s, c)
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, c)})
	wantMirror(t, s, c)
	cs := mustChanges(t, s, seq, 0)
	if len(cs) != 2 || cs[0].Op != store.ChangeDelete || cs[1].Op != store.ChangeAdd ||
		cs[0].Indicator.Kind != proxywatch.KindResidentialProxy || cs[1].Indicator.Kind != proxywatch.KindBruteForce ||
		cs[0].Feed != store.DecisionFeed || cs[1].Feed != store.DecisionFeed {
		t.Errorf("Changes after replacing a decision of another kind = %v, want a delete of the old mirror and an add of the new", cs)
	}
}

func testDecisionReplaceID(t *testing.T, s DecisionBackend) {
	a := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	other := decision("d-9", "203.0.113.9", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	mustPut(t, s, a)
	mustPut(t, s, other)
	moved := decision("d-1", "198.51.100.0/24", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	mustPut(t, s, moved)
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, moved), normDecision(t, other)})
	wantMirror(t, s, moved, other)
}

func testDecisionDelete(t *testing.T, s DecisionBackend) {
	ctx := t.Context()
	a := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	b := decision("d-2", "198.51.100.8", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	mustPut(t, s, a)
	mustPut(t, s, b)
	seq := mustSeq(t, s)
	if err := s.DeleteDecision(ctx, "d-1"); err != nil {
		t.Fatalf("DeleteDecision(d-1) error %v", err)
	}
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, b)})
	wantMirror(t, s, b)
	cs := mustChanges(t, s, seq, 0)
	if len(cs) != 1 || cs[0].Op != store.ChangeDelete || cs[0].Indicator.Subject != a.Subject {
		t.Errorf("Changes after DeleteDecision = %v, want one delete of %s", cs, a.Subject)
	}
	seq = mustSeq(t, s)
	if err := s.DeleteDecision(ctx, "d-1"); !errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("DeleteDecision(d-1) again = %v, want ErrNotFound", err)
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq after a failed DeleteDecision = %d, want %d", got, seq)
	}
}

func testDecisionInvalid(t *testing.T, s DecisionBackend) {
	good := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	tests := []struct {
		name string
		edit func(*proxywatch.Decision)
	}{
		{"no id", func(d *proxywatch.Decision) { d.ID = "" }},
		{"domain subject", func(d *proxywatch.Decision) { d.Subject = proxywatch.DomainSubject("example.org") }},
		{"no subject", func(d *proxywatch.Decision) { d.Subject = proxywatch.Subject{} }},
		{"bad action", func(d *proxywatch.Decision) { d.Action = "tarpit" }},
		{"no expiry", func(d *proxywatch.Decision) { d.Expires = time.Time{} }},
		{"expires before created", func(d *proxywatch.Decision) { d.Expires = d.Created.Add(-time.Second) }},
		{"negative count", func(d *proxywatch.Decision) { d.Count = -1 }},
	}
	seq := mustSeq(t, s)
	for _, tc := range tests {
		d := good
		tc.edit(&d)
		if err := s.PutDecision(t.Context(), d); !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("PutDecision(%s) = %v, want ErrInvalid", tc.name, err)
		}
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq after invalid PutDecision calls = %d, want %d", got, seq)
	}
	wantDecisions(t, s, time.Time{}, nil)
}

func testDecisionPrune(t *testing.T, s DecisionBackend) {
	ctx := t.Context()
	a := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	b := decision("d-2", "198.51.100.8", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, 3*time.Hour)
	mustPut(t, s, a)
	mustPut(t, s, b)
	seq := mustSeq(t, s)
	n, err := s.PruneDecisions(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("PruneDecisions(nothing expired) = %d, %v, want 0, nil", n, err)
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq after pruning nothing = %d, want %d", got, seq)
	}
	n, err = s.PruneDecisions(ctx, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneDecisions(t0+1h) = %d, %v, want 1, nil", n, err)
	}
	wantDecisions(t, s, time.Time{}, []proxywatch.Decision{normDecision(t, b)})
	wantMirror(t, s, b)
	if cs := mustChanges(t, s, seq, 0); len(cs) != 1 || cs[0].Op != store.ChangeFeed {
		t.Errorf("Changes after PruneDecisions = %v, want one feed change", cs)
	}
}

func alert(id string, at time.Time) proxywatch.Alert {
	return proxywatch.Alert{ID: id, Detector: "campaign", Severity: proxywatch.SeverityHigh, Time: at, Start: at.Add(-time.Hour), End: at,
		Service: "ssh", Subjects: []proxywatch.Subject{addr("198.51.100.7"), pfx("2001:db8::/64")}, Users: []string{"root"},
		Reasons: []string{"new-failing-sources>baseline"}, Counts: map[string]int64{"failures": 12},
		Spread: &proxywatch.Spread{Addrs: 9, Prefixes: 7, ASNs: 3, Countries: 2}, Sample: []string{"line one"},
		Labels: map[string]string{"campaign": "c-1"}, Summary: "a surge"}
}

func normAlert(t *testing.T, a proxywatch.Alert) proxywatch.Alert {
	t.Helper()
	n, err := store.NormalizeAlert(a)
	if err != nil {
		t.Fatalf("NormalizeAlert(%q) error %v", a.ID, err)
	}
	return n
}

func testAlerts(t *testing.T, s DecisionBackend) {
	ctx := t.Context()
	seq := mustSeq(t, s)
	var all []proxywatch.Alert
	for i := 0; i < 5; i++ {
		a := alert("a-"+string(rune('1'+i)), t0.Add(time.Duration(i)*time.Minute))
		if err := s.PutAlert(ctx, a); err != nil {
			t.Fatalf("PutAlert(%q) error %v", a.ID, err)
		}
		all = append(all, normAlert(t, a))
	}
	upd := alert("a-3", t0.Add(10*time.Minute)) // replaces, and is now the newest
	upd.Summary = "updated"
	if err := s.PutAlert(ctx, upd); err != nil {
		t.Fatalf("PutAlert(a-3 again) error %v", err)
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq after PutAlert = %d, want %d (alerts record no change)", got, seq)
	}
	want := []proxywatch.Alert{normAlert(t, upd), all[4], all[3], all[1], all[0]}
	got, err := s.Alerts(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatalf("Alerts() error %v", err)
	}
	if diff := gocmp.Diff(want, got, decisionOpts); diff != "" {
		t.Errorf("Alerts(all) mismatch (-want +got):\n%s", diff)
	}
	got, err = s.Alerts(ctx, t0.Add(time.Minute), 2)
	if err != nil || len(got) != 2 || got[0].ID != "a-3" || got[1].ID != "a-5" {
		t.Errorf("Alerts(since t0+1m, 2) = %v, %v, want a-3, a-5", ids(got), err)
	}
	n, err := s.PruneAlerts(ctx, t0.Add(4*time.Minute))
	if err != nil || n != 3 {
		t.Errorf("PruneAlerts(t0+4m) = %d, %v, want 3, nil", n, err)
	}
	got, _ = s.Alerts(ctx, time.Time{}, 0)
	if len(got) != 2 {
		t.Errorf("Alerts after pruning = %v, want a-3, a-5", ids(got))
	}
}

func ids(as []proxywatch.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testAlertsInvalid(t *testing.T, s DecisionBackend) {
	for name, edit := range map[string]func(*proxywatch.Alert){
		"no id":       func(a *proxywatch.Alert) { a.ID = "" },
		"no detector": func(a *proxywatch.Alert) { a.Detector = "" },
		"no time":     func(a *proxywatch.Alert) { a.Time = time.Time{} },
	} {
		a := alert("a-1", t0)
		edit(&a)
		if err := s.PutAlert(t.Context(), a); !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("PutAlert(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if got, err := s.Alerts(t.Context(), time.Time{}, 0); err != nil || len(got) != 0 {
		t.Errorf("Alerts after invalid puts = %v, %v, want none", ids(got), err)
	}
}

func testDecisionClosed(t *testing.T, s DecisionBackend) {
	ctx := t.Context()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error %v", err)
	}
	d := decision("d-1", "198.51.100.7", proxywatch.ActionBan, proxywatch.KindBruteForce, t0, time.Hour)
	checks := map[string]error{
		"PutDecision":    s.PutDecision(ctx, d),
		"DeleteDecision": s.DeleteDecision(ctx, "d-1"),
		"PutAlert":       s.PutAlert(ctx, alert("a-1", t0)),
	}
	_, checks["Decisions"] = s.Decisions(ctx, time.Time{})
	_, checks["Alerts"] = s.Alerts(ctx, time.Time{}, 0)
	_, checks["PruneDecisions"] = s.PruneDecisions(ctx, t0)
	_, checks["PruneAlerts"] = s.PruneAlerts(ctx, t0)
	for name, err := range checks {
		if !errors.Is(err, proxywatch.ErrUnavailable) {
			t.Errorf("%s on a closed store = %v, want ErrUnavailable", name, err)
		}
	}
}
