package proxywatch_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
)

// TestSchemaExamples decodes every JSON line of docs/schema.md strictly and
// re-encodes it, so the documented format and the types agree.
func TestSchemaExamples(t *testing.T) {
	b, err := os.ReadFile("docs/schema.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, `{"schema":`) {
			continue
		}
		n++
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r proxywatch.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode %s: %v", line, err)
		}
		if r.Schema != proxywatch.SchemaVersion {
			t.Errorf("schema = %d, want %d", r.Schema, proxywatch.SchemaVersion)
		}
		set := 0
		for _, p := range []bool{r.Alert != nil, r.Finding != nil, r.Decision != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			t.Errorf("%s: %d bodies set, want 1", r.Type, set)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again proxywatch.Record
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatal(err)
		}
		out2, _ := json.Marshal(again)
		if !bytes.Equal(out, out2) {
			t.Errorf("round trip changed the record:\n%s\n%s", out, out2)
		}
	}
	if n < 3 {
		t.Fatalf("found %d example records in docs/schema.md, want at least 3", n)
	}
}
