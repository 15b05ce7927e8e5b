package zeek_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch/internal/flow/zeek"
)

// FuzzZeek reads arbitrary documents. It must never panic; every session
// must have both endpoints and a start; and a session written back as JSON
// (flow.Session.AppendJSON) must read back the same.
func FuzzZeek(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("#separator \\x2c\n#fields,ts,id.orig_h,id.resp_h,proto\n1.5,192.0.2.1,192.0.2.2,tcp\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		ss, _ := readFrom(t, bytes.NewReader(doc), zeek.Options{})
		for _, s := range ss {
			if !s.Orig.Addr().IsValid() || !s.Resp.Addr().IsValid() || s.Start.IsZero() {
				t.Fatalf("incomplete session %+v", s)
			}
			if y := s.Start.Year(); y < 1970 || y > 9999 || !utf8.ValidString(s.UID+s.Service+s.State+s.Label) {
				continue
			}
			line := s.AppendJSON(nil)
			back, errs := readFrom(t, bytes.NewReader(line), zeek.Options{})
			if len(errs) > 0 || len(back) != 1 {
				t.Fatalf("%s read back as %v, %v", line, back, errs)
			}
			if d := cmp.Diff(s, back[0], cmpAddr); d != "" {
				t.Errorf("%s read back differently (-first +back):\n%s", line, d)
			}
		}
	})
}
