package flowwatch

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/proxywatch/proxywatch/internal/itest"
)

// TestDocsConfig decodes the configuration block of docs/detection.md
// strictly and checks that it states the shipped defaults.
func TestDocsConfig(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(itest.ModuleRoot(t), "docs", "detection.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "## Configuration")
	if !ok {
		t.Fatal("docs/detection.md: no Configuration section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/detection.md: no yaml block in the Configuration section")
	}
	var doc struct {
		FlowWatch Config `yaml:"flowwatch"`
	}
	doc.FlowWatch = DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(block)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode the documented configuration: %v", err)
	}
	if err := doc.FlowWatch.Validate(); err != nil {
		t.Errorf("documented configuration: %v", err)
	}
	want := DefaultConfig()
	want.Enabled, want.Inside = doc.FlowWatch.Enabled, doc.FlowWatch.Inside
	if diff := cmp.Diff(want, doc.FlowWatch, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("documented configuration differs from DefaultConfig (-default +documented):\n%s", diff)
	}
}
