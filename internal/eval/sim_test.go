package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// TestOracleOnSimulation scores a perfect detector, built from the
// simulator's own truth, and a detector that names every bot as a C2:
// the first must score 1 everywhere, the second 0 for c2 precision.
func TestOracleOnSimulation(t *testing.T) {
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutTruth}}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := truth.ReadFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var oracle, wrong bytes.Buffer
	enc, wenc := json.NewEncoder(&oracle), json.NewEncoder(&wrong)
	for _, h := range f.Hosts {
		if h.Role == proxywatch.RoleBenignLookalike {
			continue
		}
		for _, s := range h.Spans {
			fd := &proxywatch.Finding{ID: h.ID, Detector: "oracle", Role: h.Role, Subject: proxywatch.AddrSubject(s.Addr),
				Inside: h.Inside, Confidence: 100, Time: s.End, Start: s.Start, End: s.End}
			if err := enc.Encode(proxywatch.Record{Schema: 1, Type: proxywatch.RecordFinding, Finding: fd}); err != nil {
				t.Fatal(err)
			}
			if h.Role == proxywatch.RoleBot {
				w := *fd
				w.Role = proxywatch.RoleC2
				_ = wenc.Encode(proxywatch.Record{Schema: 1, Type: proxywatch.RecordFinding, Finding: &w})
			}
		}
	}
	rep, err := Score(bytes.NewReader(raw), &oracle, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Roles) < 6 {
		t.Fatalf("only %d roles scored: %+v", len(rep.Roles), rep.Roles)
	}
	for _, s := range rep.Roles {
		if num(s.Precision) != "1.000" || num(s.Recall) != "1.000" {
			t.Errorf("oracle %s: precision %s recall %s, want 1 and 1", s.Role, num(s.Precision), num(s.Recall))
		}
	}
	rep, err = Score(bytes.NewReader(raw), &wrong, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Roles {
		if s.Role == proxywatch.RoleC2 && (s.TP != 0 || s.FP == 0 || s.FPBad != s.FP) {
			t.Errorf("bots named as C2s: %+v, want no TP and every FP a bad host", s)
		}
	}
}
