package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/itest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenDirs are the shared data folders whose every data file must import.
var goldenDirs = []string{"blocklists", "proxy-botnet-iocs", "stix-misp"}

// notData reports whether a file is documentation or bookkeeping, not
// indicator data.
func notData(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "readme") || strings.HasPrefix(lower, "license") ||
		lower == "last-checked-at"
}

// TestImportGolden imports every data file of the shared data set (dry
// run: detection, reader and guard, no store) and holds the counts to
// docs/import-golden.md. Regenerate with go test ./internal/app -run
// TestImportGolden -update, and review the diff like code.
func TestImportGolden(t *testing.T) {
	root := itest.Data(t, ".")
	var files []string
	for _, d := range goldenDirs {
		filepath.WalkDir(filepath.Join(root, d), func(path string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() && !notData(de.Name()) {
				files = append(files, path)
			}
			return err
		})
	}
	sort.Strings(files)
	if len(files) < 60 {
		t.Fatalf("found %d data files under %v, want the whole set", len(files), goldenDirs)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Resolve()
	l, err := OpenLocal(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	var b strings.Builder
	b.WriteString("# Import golden table\n\n")
	b.WriteString("Every data file of `../shared/data/{blocklists,proxy-botnet-iocs,stix-misp}` as `proxywatch import`\n")
	b.WriteString("reads it with the default configuration: detected format, then accepted, refused, excluded,\n")
	b.WriteString("guard-refused and duplicate records, with reasons. `TestImportGolden` (internal/app) holds the\n")
	b.WriteString("importer to this table; regenerate it with `go test ./internal/app -run TestImportGolden -update`.\n\n")
	b.WriteString("| file | format | accepted | refused | excluded | guard-refused | duplicates |\n")
	b.WriteString("|---|---|---:|---|---|---|---:|\n")
	total := 0
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		res, err := l.Import(context.Background(), path, ImportOptions{DryRun: true}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Errorf("import %s: %v", rel, err)
			continue
		}
		rep := res.Report
		total += rep.Accepted
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %d |\n", rel, res.Format, rep.Accepted,
			reasons(rep.Read.Refused), reasons(rep.Read.Excluded), reasons(rep.GuardRefused), rep.Duplicates)
	}
	fmt.Fprintf(&b, "\n%d files, %d indicators accepted in all.\n", len(files), total)

	golden := filepath.Join("..", "..", "docs", "import-golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("docs/import-golden.md line %d:\n got: %s\nwant: %s", i+1, g, w)
			}
		}
	}
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	n := 0
	for k, v := range m {
		keys = append(keys, k)
		n += v
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return fmt.Sprintf("%d (%s)", n, strings.Join(parts, ", "))
}
