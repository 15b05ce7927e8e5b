package proxywatch_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The dependency lattice of docs/ARCHITECTURE.md. A package may import a
// package of a lower layer; within a layer only the exceptions below are
// allowed. Paths are relative to the module; a trailing "/..." matches the
// package and everything under it.
var layers = [][]string{
	0: {"."},
	1: {
		"internal/allowlist", "internal/verdict", "internal/window", "internal/policy", "internal/tail",
		"internal/logparse", "internal/intel/...", "internal/enrich", "internal/flow/...",
		"internal/store/...", "internal/itest", "internal/truth", "internal/labels",
	},
	2: {
		"internal/feed", "internal/authwatch", "internal/flowwatch", "internal/decision",
		"internal/sqlitestore", "internal/pgstore", "internal/api", "internal/dnsbl",
		"internal/forwardauth", "internal/dashboard", "internal/export/...", "internal/cluster",
		"internal/telemetry", "internal/sim/...", "internal/eval",
	},
	3: {"internal/config", "internal/app"},
	4: {"cmd/...", "internal/e2e", "internal/apiclient", "bench/..."},
}

// sameLayer lists the allowed imports within one layer, each with its
// reason.
var sameLayer = map[[2]string]string{
	{"internal/intel/*", "internal/intel"}:         "formats implement the intel.Reader contract",
	{"internal/intel/formats", "internal/intel/*"}: "the format table names every reader",
	{"internal/store/storetest", "internal/store"}: "the conformance suite tests the contract",
	{"internal/flow/*", "internal/flow"}:           "decoders produce flow.Record",
	{"internal/export/*", "internal/export"}:       "exporters implement export.Exporter",
	{"internal/sim/*", "internal/sim"}:             "simulator outputs share the model",
	{"internal/sim", "internal/sim/*"}:             "the simulator drives its writers",
	{"internal/app", "internal/config"}:            "the composition root loads the file schema",
	{"cmd/proxywatch", "internal/apiclient"}:       "the CLI talks to a running daemon",
}

// thirdParty lists, for each third-party module path prefix, the packages
// allowed to import it. A dependency not listed here fails the test, so each
// new one is reviewed.
var thirdParty = map[string][]string{
	"github.com/gaissmai/bart":             {"internal/verdict"},
	"go4.org/netipx":                       {"internal/intel"},
	"github.com/oschwald/maxminddb-golang": {"internal/enrich"},
	"github.com/maxmind/mmdbwriter":        {"internal/sim/..."},
	"modernc.org/sqlite":                   {"internal/sqlitestore"},
	"go.yaml.in/yaml/v3":                   {"internal/config", "internal/sim/..."},
	"golang.org/x/sync":                    {"internal/app", "internal/feed"},
	"github.com/prometheus/client_golang":  {"internal/telemetry", "internal/app", "internal/verdict", "internal/sqlitestore", "internal/feed", "internal/api", "internal/dnsbl", "internal/forwardauth", "internal/export/...", "internal/authwatch", "internal/flowwatch", "internal/decision", "internal/cluster", "internal/flow/netflow"}, // components export their own metrics
	"github.com/google/go-cmp":             {"internal/store/storetest", "internal/itest"},                                                                                                                                                                                                                                                     // test support only
	"github.com/netsampler/goflow2":        {"internal/flow/netflow", "bench/..."},                                                                                                                                                                                                                                                             // bench/ measures against it
	"github.com/miekg/dns":                 {"internal/dnsbl"},
	"github.com/jackc/pgx":                 {"internal/pgstore"},
	"github.com/nats-io/nats.go":           {"internal/cluster"},
}

// badDeps are packages that must never be linked into the binary.
var badDeps = []string{"testing", "net/http/httptest", "github.com/google/go-cmp/cmp"}

// badImports are packages no package of ours may import directly.
var badImports = []string{"log", "github.com/sirupsen/logrus", "go.uber.org/zap"}

const module = "github.com/proxywatch/proxywatch"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
	Module     *struct{ Path string }
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	if testing.Short() {
		t.Skip("go list: skipped in -short mode")
	}
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return ".", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func match(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	if base, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(path, base+"/")
	}
	return pattern == path
}

func layerOf(path string) int {
	for i, pats := range layers {
		for _, p := range pats {
			if match(p, path) {
				return i
			}
		}
	}
	return -1
}

// checkImport returns why from may not import to, or "".
func checkImport(from, to string) string {
	lf, lt := layerOf(from), layerOf(to)
	switch {
	case lf < 0:
		return fmt.Sprintf("%s is in no layer: add it to the lattice in deps_test.go and docs/ARCHITECTURE.md", from)
	case lt < 0:
		return fmt.Sprintf("%s is in no layer", to)
	case lt < lf:
		return ""
	case lt > lf:
		return fmt.Sprintf("%s (layer %d) imports %s (layer %d): upward import", from, lf, to, lt)
	}
	for k := range sameLayer {
		if match(k[0], from) && match(k[1], to) {
			return ""
		}
	}
	return fmt.Sprintf("%s imports %s: both layer %d and no exception allows it", from, to, lf)
}

func checkThirdParty(from, imp string) string {
	for prefix, allowed := range thirdParty {
		if imp == prefix || strings.HasPrefix(imp, prefix+"/") {
			for _, a := range allowed {
				if match(a, from) {
					return ""
				}
			}
			return fmt.Sprintf("%s imports %s: allowed only in %v", from, imp, allowed)
		}
	}
	return fmt.Sprintf("%s imports %s: an unreviewed dependency (add it to thirdParty with its owner)", from, imp)
}

func TestDependencyLattice(t *testing.T) {
	for _, p := range listPackages(t) {
		from, ours := rel(p.ImportPath)
		if !ours {
			continue
		}
		for _, imp := range p.Imports {
			if to, ok := rel(imp); ok {
				if why := checkImport(from, to); why != "" {
					t.Error(why)
				}
				continue
			}
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				for _, bad := range badImports {
					if imp == bad {
						t.Errorf("%s imports %s: use log/slog", from, imp)
					}
				}
				continue
			}
			if why := checkThirdParty(from, imp); why != "" {
				t.Error(why)
			}
		}
	}
}

// cmdImports are the only packages of ours the command may import: it
// handles process concerns and leaves everything else to app.
var cmdImports = []string{".", "internal/app", "internal/config", "internal/apiclient"}

func TestCommandImportsOnlyApp(t *testing.T) {
	for _, p := range listPackages(t) {
		from, ours := rel(p.ImportPath)
		if !ours || !match("cmd/...", from) {
			continue
		}
		for _, imp := range p.Imports {
			if to, ok := rel(imp); ok && !slices.Contains(cmdImports, to) {
				t.Errorf("%s imports %s: the command may import only %v", from, to, cmdImports)
			}
		}
	}
}

func TestBinaryHasNoTestSupport(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath != module+"/cmd/proxywatch" {
			continue
		}
		for _, d := range p.Deps {
			for _, bad := range badDeps {
				if d == bad {
					t.Errorf("cmd/proxywatch links %s", d)
				}
			}
			if strings.HasSuffix(d, "test") && strings.HasPrefix(d, module) {
				t.Errorf("cmd/proxywatch links test support package %s", d)
			}
		}
		return
	}
	t.Skip("cmd/proxywatch not built yet")
}

// TestLatticeRules checks the checker itself on known violations, so the
// guard is seen to fail.
func TestLatticeRules(t *testing.T) {
	bad := [][2]string{
		{".", "internal/verdict"},               // the vocabulary imports nothing of ours
		{"internal/verdict", "internal/feed"},   // mechanism imports process
		{"internal/feed", "internal/telemetry"}, // adapters never import each other
		{"internal/feed", "internal/config"},    // components never import config
		{"internal/dnsbl", "internal/app"},
		{"internal/intel", "internal/intel/stix"},
	}
	for _, c := range bad {
		if checkImport(c[0], c[1]) == "" {
			t.Errorf("checkImport(%q, %q) allowed a forbidden import", c[0], c[1])
		}
	}
	good := [][2]string{
		{"internal/verdict", "."},
		{"internal/intel/stix", "internal/intel"},
		{"internal/app", "internal/feed"},
		{"cmd/proxywatch", "internal/app"},
	}
	for _, c := range good {
		if why := checkImport(c[0], c[1]); why != "" {
			t.Errorf("checkImport(%q, %q) refused an allowed import: %s", c[0], c[1], why)
		}
	}
	if checkThirdParty("internal/feed", "github.com/gaissmai/bart") == "" {
		t.Error("bart allowed outside internal/verdict")
	}
	if checkThirdParty("internal/verdict", "example.com/new/dependency") == "" {
		t.Error("an unreviewed dependency was allowed")
	}
}
