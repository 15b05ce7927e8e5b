package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden dumps")

// TestGoodFiles loads every *.good.yaml and compares its effective
// configuration with the golden *.good.dump beside it.
func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.good.yaml")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path, nil)
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			got, err := Dump(f)
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".dump"
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/config -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("Dump(Load(%s)) differs from %s; run with -update and review the diff:\n%s", path, golden, got)
			}
		})
	}
}

// TestBadFiles loads every *.bad.yaml and checks the error holds each
// "# want:" line of the file.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.bad.yaml")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, line := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatalf("%s has no '# want:' line", path)
			}
			_, err = Load(path, nil)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want an error", path)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%s) error does not contain %q:\n%v", path, w, err)
				}
			}
		})
	}
}

// TestDocsExample loads the complete example that docs/config.md points to.
func TestDocsExample(t *testing.T) {
	f, err := Load("../../docs/examples/proxywatch.yaml", nil)
	if err != nil {
		t.Fatalf("docs/examples/proxywatch.yaml: %v", err)
	}
	if len(f.Feeds.Feeds) == 0 || len(f.Allowlist.Prefixes) == 0 {
		t.Errorf("example lost its feeds or allowlist: %+v", f)
	}
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	// Every environment variable is documented, so none is a surprise.
	for _, name := range EnvNames() {
		section := strings.SplitN(strings.TrimPrefix(name, EnvPrefix), "_", 2)[0]
		if !strings.Contains(string(doc), EnvPrefix+section) {
			t.Errorf("docs/config.md does not mention the %s* variables (e.g. %s)", EnvPrefix+section, name)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	f, err := Parse(nil, []string{
		"PROXYWATCH_TELEMETRY_LISTEN=127.0.0.1:9999",
		"PROXYWATCH_FEEDS_DEFAULTS_GUARD_MAX_CHURN=0.9",
		"PROXYWATCH_ALLOWLIST_PREFIXES=[198.51.100.0/24]",
		"PROXYWATCH_DATA_DIR=/srv/pw",
		"PROXYWATCH_TEST_POSTGRES=ignored",
		"PROXYWATCH_CONFIG=ignored",
		"HOME=/root",
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Telemetry.Listen != "127.0.0.1:9999" || f.Feeds.Defaults.Guard.MaxChurn != 0.9 ||
		len(f.Allowlist.Prefixes) != 1 || f.DataDir != "/srv/pw" {
		t.Errorf("overrides not applied: %+v", f)
	}
	if f.Store.Path != filepath.Join("/srv/pw", "proxywatch.db") {
		t.Errorf("store path = %q, want it under the overridden data_dir", f.Store.Path)
	}
}

func TestEnvUnknownAndBad(t *testing.T) {
	_, err := Parse(nil, []string{"PROXYWATCH_TELEMETRY_LISTN=x", "PROXYWATCH_STORE_BUSY_TIMEOUT=soon"})
	if err == nil {
		t.Fatal("Parse accepted an unknown variable and a bad duration")
	}
	for _, want := range []string{"PROXYWATCH_TELEMETRY_LISTN: unknown variable", "PROXYWATCH_STORE_BUSY_TIMEOUT (store.busy_timeout)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSecretRedacted(t *testing.T) {
	if got := Secret("hunter2").String(); got != "<redacted>" {
		t.Errorf("Secret.String() = %q", got)
	}
	v, err := Secret("hunter2").MarshalYAML()
	if err != nil || v != "<redacted>" {
		t.Errorf("MarshalYAML = %v, %v", v, err)
	}
}

func TestPrefixed(t *testing.T) {
	err := errors.Join(errors.New("ttl 1ms: too short"), errors.Join(errors.New("zone: empty")))
	got := errors.Join(prefixed("dnsbl", err)...).Error()
	if got != "dnsbl.ttl 1ms: too short\ndnsbl.zone: empty" {
		t.Errorf("prefixed = %q", got)
	}
}
