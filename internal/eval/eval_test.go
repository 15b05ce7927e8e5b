package eval

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
)

func score(t *testing.T, truthFile, findingsFile string, opts Options) Report {
	t.Helper()
	tr, err := os.Open(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	fr, err := os.Open(findingsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	rep, err := Score(tr, fr, opts)
	if err != nil {
		t.Fatalf("Score(%s, %s) = %v", truthFile, findingsFile, err)
	}
	return rep
}

// row is the part of a RoleScore the tables below check.
type row struct {
	Role                       proxywatch.Role
	Truth, Flagged, TP, FP, FN int
	FPBad, FPLookalike         int
	Precision, Recall          string
	DelayMedian, DelayP90      time.Duration
}

func rows(rep Report) []row {
	var out []row
	for _, s := range rep.Roles {
		r := row{Role: s.Role, Truth: s.Truth, Flagged: s.Flagged, TP: s.TP, FP: s.FP, FN: s.FN,
			FPBad: s.FPBad, FPLookalike: s.FPLookalike, Precision: num(s.Precision), Recall: num(s.Recall)}
		if s.Delay != nil {
			r.DelayMedian, r.DelayP90 = time.Duration(s.Delay.Median), time.Duration(s.Delay.P90)
		}
		out = append(out, r)
	}
	return out
}

const h = time.Hour

// The expected values are worked out by hand in testdata/README.md.
func TestScoreScenario(t *testing.T) {
	rep := score(t, "testdata/truth.json", "testdata/findings.jsonl", DefaultOptions())
	want := []row{
		{proxywatch.RoleBot, 5, 6, 3, 3, 2, 2, 1, "0.500", "0.600", 2 * h, 8 * h},
		{proxywatch.RoleC2, 2, 2, 1, 1, 1, 0, 0, "0.500", "0.500", 24 * h, 24 * h},
		{proxywatch.RoleCampaign, 3, 4, 3, 2, 0, 0, 0, "0.600", "1.000", 91 * time.Minute, 151 * time.Minute},
		{proxywatch.RoleBruteForcer, 1, 1, 1, 0, 0, 0, 0, "1.000", "1.000", h, h},
		{RoleAny, 11, 12, 8, 5, 3, 1, 1, "0.615", "0.727", 91 * time.Minute, 8 * h},
	}
	if diff := cmp.Diff(want, rows(rep)); diff != "" {
		t.Errorf("Score(handmade) rows (-want +got):\n%s", diff)
	}
	if rep.Records != 14 || rep.Subjects != 16 || rep.Unscored != 2 || rep.Prefixes != 2 || rep.TooWide != 1 {
		t.Errorf("Score(handmade) = records %d subjects %d unscored %d prefixes %d too wide %d, want 14 16 2 2 1",
			rep.Records, rep.Subjects, rep.Unscored, rep.Prefixes, rep.TooWide)
	}
	if rep.Truth != "scenario" || rep.Scenario != "handmade" {
		t.Errorf("Score(handmade) truth = %q %q", rep.Truth, rep.Scenario)
	}
}

func TestScoreOptions(t *testing.T) {
	tests := []struct {
		name   string
		opts   func(*Options)
		role   proxywatch.Role
		tp, fp int
	}{
		// Without time the late finding on 198.18.0.4 counts.
		{"any time", func(o *Options) { o.AnyTime = true }, proxywatch.RoleBot, 4, 2},
		// With no grace the /24 decision at 12:31 misses 198.18.7.10 (10:00)
		// and 198.18.7.20 (until 12:00).
		{"no grace", func(o *Options) { o.Grace = 0 }, proxywatch.RoleCampaign, 1, 3},
		// Allowing /16 makes the wide decision cover both /24 participants.
		{"wide prefixes", func(o *Options) { o.MaxPrefix4 = 16 }, proxywatch.RoleCampaign, 3, 1},
		// Naming the unknown detector scores its alert's address.
		{"detector map", func(o *Options) {
			o.DetectorRoles = map[string]proxywatch.Role{"unknown_thing": proxywatch.RoleBruteForcer}
		}, proxywatch.RoleBruteForcer, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.opts(&o)
			rep := score(t, "testdata/truth.json", "testdata/findings.jsonl", o)
			for _, s := range rep.Roles {
				if s.Role == tc.role && (s.TP != tc.tp || s.FP != tc.fp) {
					t.Errorf("%s: tp %d fp %d, want %d %d", tc.role, s.TP, s.FP, tc.tp, tc.fp)
				}
			}
		})
	}
}

func TestScoreLabels(t *testing.T) {
	rep := score(t, "testdata/labels.jsonl", "testdata/findings.jsonl", DefaultOptions())
	got := rows(rep)
	want := map[proxywatch.Role]row{
		proxywatch.RoleC2:  {proxywatch.RoleC2, 2, 2, 1, 1, 1, 0, 0, "0.500", "0.500", 0, 0},
		proxywatch.RoleBot: {proxywatch.RoleBot, 1, 6, 1, 5, 0, 1, 0, "0.167", "1.000", h, h},
	}
	for _, r := range got {
		if w, ok := want[r.Role]; ok {
			if diff := cmp.Diff(w, r); diff != "" {
				t.Errorf("Score(labels) %s (-want +got):\n%s", r.Role, diff)
			}
		}
	}
	if rep.Truth != "labels" || rep.Flows != nil {
		t.Errorf("Score(labels) truth %q flows %v", rep.Truth, rep.Flows)
	}
}

func TestScoreFlows(t *testing.T) {
	rep := score(t, "testdata/flows.jsonl", "testdata/findings.jsonl", DefaultOptions())
	f := rep.Flows
	if f == nil {
		t.Fatal("no flow score")
	}
	if f.Flows != 4 || f.Malicious != 2 || f.TP != 1 || f.FP != 1 || f.FN != 1 || f.TN != 1 {
		t.Errorf("Score(flows) = %+v, want 4 flows, 2 malicious, tp fp fn tn 1 1 1 1", *f)
	}
	if num(f.Precision) != "0.500" || num(f.Recall) != "0.500" {
		t.Errorf("Score(flows) precision %s recall %s, want 0.500 0.500", num(f.Precision), num(f.Recall))
	}
	for _, s := range rep.Roles {
		if s.Role == proxywatch.RoleBot && (s.Truth != 2 || s.TP != 1 || s.FN != 1) {
			t.Errorf("bot roles from flow labels: truth %d tp %d fn %d, want 2 1 1", s.Truth, s.TP, s.FN)
		}
	}
}

func TestScoreErrors(t *testing.T) {
	good, _ := os.ReadFile("testdata/findings.jsonl")
	goodTruth, _ := os.ReadFile("testdata/truth.json")
	tests := []struct {
		name            string
		truth, findings string
		line            int
	}{
		{"bad json finding", string(goodTruth), string(good) + "{not json\n", 15},
		{"schema", string(goodTruth), `{"schema":9,"type":"finding","finding":{"role":"bot","subject":"198.18.0.1"}}` + "\n", 1},
		{"type mismatch", string(goodTruth), `{"schema":1,"type":"alert","finding":{"role":"bot","subject":"198.18.0.1"}}` + "\n", 1},
		{"unknown field", string(goodTruth), `{"schema":1,"type":"finding","finding":{"role":"bot","subject":"198.18.0.1","colour":1}}` + "\n", 1},
		{"empty truth", "", string(good), 1},
		{"label without role", `{"addr":"192.0.2.1"}`, string(good), 1},
		{"bad flow label", `{"addr":"192.0.2.1","role":"c2"}` + "\n" + `{"ts":"2026-03-02T00:00:00Z","src":"192.0.2.1","dst":"192.0.2.2","label":"evil"}`, string(good), 2},
		{"neither", `{"role":"c2"}`, string(good), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Score(strings.NewReader(tc.truth), strings.NewReader(tc.findings), DefaultOptions())
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Score() = %v, want a ParseError", err)
			}
			if pe.Line != tc.line {
				t.Errorf("Score() error at line %d, want %d: %v", pe.Line, tc.line, err)
			}
		})
	}
}

func TestReportWriters(t *testing.T) {
	rep := score(t, "testdata/truth.json", "testdata/findings.jsonl", DefaultOptions())
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"role", "campaign", "0.600", "any", "truth: scenario (scenario handmade)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteTable() lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"role": "bot"`, `"precision": 0.5`, `"median": "2h0m0s"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteJSON() lacks %q", want)
		}
	}
}

func FuzzScore(f *testing.F) {
	truth, _ := os.ReadFile("testdata/truth.json")
	findings, _ := os.ReadFile("testdata/findings.jsonl")
	labels, _ := os.ReadFile("testdata/labels.jsonl")
	flows, _ := os.ReadFile("testdata/flows.jsonl")
	f.Add(truth, findings)
	f.Add(labels, findings)
	f.Add(flows, findings)
	f.Add([]byte("{}"), []byte("{}\n"))
	f.Fuzz(func(t *testing.T, truth, findings []byte) {
		rep, err := Score(bytes.NewReader(truth), bytes.NewReader(findings), DefaultOptions())
		if err != nil {
			return
		}
		for _, s := range rep.Roles {
			if s.TP+s.FN != s.Truth || s.TP < 0 || s.FP < 0 {
				t.Fatalf("inconsistent row %+v", s)
			}
		}
		var b bytes.Buffer
		if err := rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
	})
}
