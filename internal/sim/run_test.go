package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// runSmoke runs the smoke scenario into a temporary directory.
func runSmoke(t *testing.T, opts Options) (string, Summary) {
	t.Helper()
	sc, err := LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	if opts.OutDir == "" {
		opts.OutDir = t.TempDir()
	}
	sum, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatalf("Run(smoke) = %v", err)
	}
	return opts.OutDir, sum
}

var allOutputs = append(slices.Clone(DefaultOutputs), OutFlowLabels)

func TestRunDeterministic(t *testing.T) {
	t.Parallel()
	a, sa := runSmoke(t, Options{Outputs: allOutputs})
	b, _ := runSmoke(t, Options{Outputs: allOutputs})
	c, _ := runSmoke(t, Options{Outputs: allOutputs, Seed: 99})
	if len(sa.Files) != len(allOutputs) {
		t.Errorf("Run wrote %d files, want %d: %v", len(sa.Files), len(allOutputs), sa.Files)
	}
	for _, f := range sa.Files {
		x, err := os.ReadFile(filepath.Join(a, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", f.Name)
		}
		if len(x) == 0 {
			t.Errorf("%s is empty", f.Name)
		}
		z, err := os.ReadFile(filepath.Join(c, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !isMMDB(f.Name) && bytes.Equal(x, z) {
			t.Errorf("%s is the same with another seed", f.Name)
		}
	}
}

// isMMDB reports whether name is an enrichment database, which describes
// the address plan and so does not change with the seed.
func isMMDB(name string) bool {
	for _, o := range mmdbOutputs {
		if OutputFiles[o] == name {
			return true
		}
	}
	return false
}

// TestRunOutputsIndependent checks that choosing fewer outputs does not
// change the ones written.
func TestRunOutputsIndependent(t *testing.T) {
	t.Parallel()
	a, _ := runSmoke(t, Options{})
	b, _ := runSmoke(t, Options{Outputs: []string{OutIPFIX, OutSSHD}})
	for _, name := range []string{"ipfix.pcap", "auth.log", "truth.json"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s changes with the choice of outputs (%d vs %d bytes)", name, len(x), len(y))
		}
	}
	if _, err := os.Stat(filepath.Join(b, "conn.log")); err == nil {
		t.Errorf("conn.log written though not asked for")
	}
}

func TestRunErrors(t *testing.T) {
	sc, err := LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
	}{
		{"nothing to do", Options{}},
		{"unknown output", Options{OutDir: t.TempDir(), Outputs: []string{"pcapng"}}},
		{"bad size", Options{OutDir: t.TempDir(), Size: "huge"}},
		{"remote live address", Options{Live: &LiveOptions{Addr: "192.0.2.1:2055"}}},
		{"live name", Options{Live: &LiveOptions{Addr: "collector.example:2055"}}},
		{"live version", Options{Live: &LiveOptions{Addr: "127.0.0.1:2055", Version: 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(t.Context(), sc, tc.opts); err == nil {
				t.Errorf("Run(%+v) = nil error, want one", tc.opts)
			}
		})
	}
}

func TestSummaryText(t *testing.T) {
	_, sum := runSmoke(t, Options{Outputs: []string{OutSSHD}})
	var b bytes.Buffer
	if err := sum.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario smoke (small, seed 7)", "auth.log", "truth.json", "sshd lines"} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("WriteText() lacks %q:\n%s", want, b.String())
		}
	}
}
