package flowwatch

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// qualitySize is the size the quality report simulates at:
// FLOWWATCH_SIZE, small (48 h, 4% of the population) by default, or full
// (the scenario as written: a week, the whole population).
func qualitySize(t testing.TB) string {
	t.Helper()
	switch s := cmpOr(os.Getenv("FLOWWATCH_SIZE"), sim.SizeSmall); s {
	case sim.SizeSmall, sim.SizeFull:
		return s
	default:
		t.Fatalf("FLOWWATCH_SIZE=%q: want %s or %s", s, sim.SizeSmall, sim.SizeFull)
		return ""
	}
}

// simulateSized is simulate at a size ("" is small).
func simulateSized(t testing.TB, scenario string, seed uint64, set []string, size string, outputs ...string) simRun {
	t.Helper()
	sc, err := sim.LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Override(&sc, set); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outs := append([]string{sim.OutTruth}, outputs...)
	sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Seed: seed, Size: size, Outputs: outs})
	if err != nil {
		t.Fatalf("simulate %s (%s) seed %d: %v", scenario, size, seed, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := truth.ReadFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return simRun{dir: dir, truth: f, hosts: sum.Hosts}
}

// shareSimulation groups the indexes of cases that differ only in their
// source (Zeek and the flow export at the same sampling): one simulation
// writes both, since the exporter's sampling draws from its own stream.
func shareSimulation(cases []qualityCase) [][]int {
	var groups [][]int
	for i, c := range cases {
		j := slices.IndexFunc(groups, func(g []int) bool {
			d := cases[g[0]]
			return d.name == c.name && d.scenario == c.scenario && d.sampling == c.sampling &&
				d.size == c.size && slices.Equal(d.set, c.set)
		})
		if j < 0 {
			groups = append(groups, []int{i})
			continue
		}
		groups[j] = append(groups[j], i)
	}
	return groups
}
