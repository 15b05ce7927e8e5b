package zeek_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// TestSimulatorLogs reads the simulator's conn.log and conn.json: both
// must give the sessions its summary counts, and the same ones.
func TestSimulatorLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutZeek, sim.OutZeekJSON}})
	if err != nil {
		t.Fatal(err)
	}
	tsv, errs := readAll(t, filepath.Join(dir, sim.OutputFiles[sim.OutZeek]), zeek.Options{})
	if len(errs) > 0 {
		t.Errorf("conn.log: %d lines skipped, first %v", len(errs), errs[0])
	}
	js, errs := readAll(t, filepath.Join(dir, sim.OutputFiles[sim.OutZeekJSON]), zeek.Options{})
	if len(errs) > 0 {
		t.Errorf("conn.json: %d lines skipped, first %v", len(errs), errs[0])
	}
	if int64(len(tsv)) != sum.Conns || int64(len(js)) != sum.Conns {
		t.Errorf("read %d sessions from conn.log and %d from conn.json, want the summary's %d", len(tsv), len(js), sum.Conns)
	}
	if d := cmp.Diff(tsv, js, cmpAddr); d != "" {
		t.Errorf("conn.log and conn.json differ (-tsv +json):\n%s", d)
	}
}
