package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/proxywatch/proxywatch/internal/itest"
)

// TestDocsExamples decodes the JSON examples of docs/api.md whose shape
// this package defines into their types, strictly, so that the page and
// the types cannot drift apart.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(itest.ModuleRoot(t), "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]func() any{
		"score":     func() any { return new(AssessResponse) },
		"decisions": func() any { return new(DecisionList) },
		"alerts":    func() any { return new(AlertList) },
		"hosts":     func() any { return new(HostList) },
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(b, -1) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(m[1], &keys); err != nil {
			t.Errorf("docs/api.md example %.60q: %v", m[1], err)
			continue
		}
		for key, mk := range types {
			if _, ok := keys[key]; !ok {
				continue
			}
			seen[key] = true
			dec := json.NewDecoder(bytes.NewReader(m[1]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(mk()); err != nil {
				t.Errorf("docs/api.md example %.60q as %q: %v", m[1], key, err)
			}
		}
	}
	for key := range types {
		if !seen[key] {
			t.Errorf("docs/api.md has no example with %q", key)
		}
	}
}
