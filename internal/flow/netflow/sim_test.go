package netflow_test

import (
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// TestSimulatorExport decodes the simulator's NetFlow v9 and IPFIX pcaps:
// as many records as its summary reports, no loss, no error, and at 1:100
// sampling the rate from its options records.
func TestSimulatorExport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	for _, sampling := range []int{1, 100} {
		sc, err := sim.LoadScenario("smoke")
		if err != nil {
			t.Fatal(err)
		}
		sc.Export.Sampling = sampling
		dir := t.TempDir()
		sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutNetflowV9, sim.OutIPFIX}})
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{sim.OutNetflowV9, sim.OutIPFIX} {
			dec := netflow.NewDecoder(netflow.Options{})
			recs := decodeFiles(t, dec, filepath.Join(dir, sim.OutputFiles[out]))
			if int64(len(recs)) != sum.FlowRecords {
				t.Errorf("sampling %d, %s: decoded %d records, summary says %d", sampling, out, len(recs), sum.FlowRecords)
			}
			for _, r := range recs {
				if r.SamplingRate != uint32(sampling) {
					t.Errorf("sampling %d, %s: record with SamplingRate %d", sampling, out, r.SamplingRate)
					break
				}
			}
			s := dec.Stats()
			if s.Lost != [3]uint64{} || s.Errors != [7]uint64{} || s.Resets != [3]uint64{} {
				t.Errorf("sampling %d, %s: Stats() lost %v, errors %v, resets %v; want none", sampling, out, s.Lost, s.Errors, s.Resets)
			}
		}
	}
}
