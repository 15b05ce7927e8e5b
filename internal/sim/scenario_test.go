package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScenarios(t *testing.T) {
	infos := Scenarios()
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
		if in.Description == "" {
			t.Errorf("scenario %s has no description", in.Name)
		}
	}
	if diff := cmp.Diff([]string{"5socks", "baseline", "nsocks", "smoke"}, names); diff != "" {
		t.Errorf("Scenarios() names (-want +got):\n%s", diff)
	}
}

// moduleRoot walks up from the test's directory to go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// TestDocsScenarios checks that docs/scenarios holds exact copies of the
// embedded scenario files, and nothing else but a README.
func TestDocsScenarios(t *testing.T) {
	docs := filepath.Join(moduleRoot(t), "docs", "scenarios")
	for _, in := range Scenarios() {
		want, err := BuiltinYAML(in.Name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(docs, in.Name+".yaml"))
		if err != nil {
			t.Errorf("docs copy of %s: %v (cp internal/sim/scenarios/*.yaml docs/scenarios/)", in.Name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("docs/scenarios/%s.yaml differs from internal/sim/scenarios/%[1]s.yaml", in.Name)
		}
	}
	ents, err := os.ReadDir(docs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if n := strings.TrimSuffix(e.Name(), ".yaml"); n != e.Name() {
			if _, err := BuiltinYAML(n); err != nil {
				t.Errorf("docs/scenarios/%s has no embedded original", e.Name())
			}
		}
	}
}

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"unknown key", "name: x\nbotnet:\n  bots: 3\n  c2s: 4\n", []string{"c2s", "line 4"}},
		{"unknown top key", "name: x\nsampling: 10\n", []string{"sampling"}},
		{"bad type", "name: x\nhosts: {pc: many}\n", []string{"many"}},
		{"bad duration", "name: x\nexport: {active_timeout: soon}\n", []string{"soon"}},
		{"bad range", "name: x\nbotnet: {relay: {delay: [1s, 2s, 3s]}}\n", []string{"delay"}},
		{"many problems", "name: x\nexport: {sampling: 5000}\nbotnet: {kind: socks}\n",
			[]string{"export.sampling: 5000", "botnet.kind: \"socks\""}},
		{"campaign path", "name: x\nlogins:\n  campaigns:\n    - {service: ftp, at: 0.5, duration: 1h, participants: 3, attempts: [1, 2], accounts: 3}\n",
			[]string{"logins.campaigns[0].service"}},
		{"no name", "seed: 3\n", []string{"name: must be set"}},
		{"two documents", "name: x\n---\nname: y\n", []string{"more than one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario("test.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("ParseScenario(%q) = nil error", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseScenario(%q) = %v, want it to mention %q", tc.yaml, err, w)
				}
			}
		})
	}
}

func TestParseScenarioMerge(t *testing.T) {
	sc, err := ParseScenario("t.yaml", []byte("name: t\nbotnet: {c2: {port: 9999}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultScenario()
	if sc.Botnet.C2.Port != 9999 || sc.Botnet.C2.Beacon != d.Botnet.C2.Beacon || sc.Hosts.PC != d.Hosts.PC {
		t.Errorf("ParseScenario merged to c2 %+v, hosts.pc %d; want port 9999 and other defaults", sc.Botnet.C2, sc.Hosts.PC)
	}
}

func TestOverride(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		check   func(Scenario) bool
		wantErr bool
	}{
		{"sampling", []string{"export.sampling=100"}, func(s Scenario) bool { return s.Export.Sampling == 100 }, false},
		{"range", []string{"botnet.c2.pin=[24h, 36h]"}, func(s Scenario) bool { return s.Botnet.C2.Pin[1] == 36*time.Hour }, false},
		{"two", []string{"export.clock_skew=-90s", "network.churn.share=0.5"},
			func(s Scenario) bool { return s.Export.ClockSkew == -90*time.Second && s.Network.Churn.Share == 0.5 }, false},
		{"unknown key", []string{"export.samplin=100"}, nil, true},
		{"invalid value", []string{"export.sampling=0"}, nil, true},
		{"no equals", []string{"export.sampling"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := DefaultScenario()
			err := Override(&sc, tc.set)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Override(%q) = %v, want error %v", tc.set, err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(sc) {
				t.Errorf("Override(%q) did not apply: %+v", tc.set, sc.Export)
			}
		})
	}
}

func TestSized(t *testing.T) {
	sc := DefaultScenario()
	small, err := sc.Sized(SizeSmall)
	if err != nil {
		t.Fatal(err)
	}
	if small.Duration != sc.Small.Duration || small.Botnet.Bots != 40 || small.Hosts.PC != 160 {
		t.Errorf("Sized(small) = duration %s, bots %d, pc %d; want %s, 40, 160",
			small.Duration, small.Botnet.Bots, small.Hosts.PC, sc.Small.Duration)
	}
	if sc.Logins.Campaigns[0].Participants != 1500 {
		t.Errorf("Sized changed the original's campaigns")
	}
	full, _ := sc.Sized(SizeFull)
	if !cmp.Equal(full, sc) {
		t.Errorf("Sized(full) changed the scenario")
	}
	if err := small.Validate(); err != nil {
		t.Errorf("small 5socks does not validate: %v", err)
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, in := range Scenarios() {
		b, _ := BuiltinYAML(in.Name)
		f.Add(b)
	}
	f.Add([]byte("name: x\nbotnet: {relay: {delay: [1s, 2s, 3s]}}\n"))
	f.Add([]byte("name: x\nlogins:\n  campaigns:\n    - {service: web}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := ParseScenario("fuzz.yaml", b)
		if err != nil {
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("ParseScenario accepted an invalid scenario: %v", err)
		}
		again, err := ParseScenario("fuzz.yaml", b)
		if err != nil || !cmp.Equal(sc, again) {
			t.Fatalf("ParseScenario is not repeatable: %v", err)
		}
		if _, err := sc.Sized(SizeSmall); err != nil {
			t.Fatal(err)
		}
	})
}
