package sim

import (
	"embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/proxywatch/proxywatch"
)

//go:embed scenarios/*.yaml
var builtin embed.FS

// Info describes a built-in scenario, for listings.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Botnet      string `json:"botnet"`
	Duration    string `json:"duration"` // full size
	Small       string `json:"small"`    // small-size duration
}

// Scenarios lists the built-in scenarios by name.
func Scenarios() []Info {
	ents, _ := builtin.ReadDir("scenarios")
	var out []Info
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		sc, err := LoadScenario(name)
		if err != nil {
			continue
		}
		out = append(out, Info{Name: sc.Name, Description: sc.Description, Botnet: sc.Botnet.Kind,
			Duration: sc.Duration.String(), Small: sc.Small.Duration.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// BuiltinYAML returns the YAML text of a built-in scenario.
func BuiltinYAML(name string) ([]byte, error) {
	b, err := builtin.ReadFile(path.Join("scenarios", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("scenario %q: %w", name, proxywatch.ErrNotFound)
	}
	return b, nil
}

// LoadScenario returns a built-in scenario by name ("5socks"), or reads
// the YAML file at nameOrPath when it names a file (it contains a path
// separator or ends in .yaml or .yml).
func LoadScenario(nameOrPath string) (Scenario, error) {
	if strings.ContainsAny(nameOrPath, `/\`) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return Scenario{}, fmt.Errorf("read scenario: %w", err)
		}
		return ParseScenario(nameOrPath, b)
	}
	b, err := BuiltinYAML(nameOrPath)
	if err != nil {
		return Scenario{}, err
	}
	return ParseScenario(nameOrPath+".yaml", b)
}

// ParseScenario decodes a scenario's YAML over [DefaultScenario] and
// validates it. Unknown keys are errors naming the key and its line; the
// validation error lists every problem with its YAML path.
func ParseScenario(name string, b []byte) (Scenario, error) {
	sc := DefaultScenario()
	sc.Name = ""
	if err := decodeStrict(b, &sc); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	if err := sc.Validate(); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	return sc, nil
}

// Override applies settings of the form "path.to.key=value" (YAML paths,
// values in YAML syntax: "export.sampling=100",
// "botnet.c2.pin=[24h, 48h]") to sc, then validates it.
func Override(sc *Scenario, settings []string) error {
	for _, kv := range settings {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("setting %q: want key=value", kv)
		}
		parts := strings.Split(k, ".")
		var b strings.Builder
		for i, p := range parts {
			b.WriteString(strings.Repeat("  ", i))
			b.WriteString(p)
			b.WriteString(":")
			if i < len(parts)-1 {
				b.WriteString("\n")
			}
		}
		b.WriteString(" ")
		b.WriteString(v)
		b.WriteString("\n")
		if err := decodeStrict([]byte(b.String()), sc); err != nil {
			return fmt.Errorf("setting %q: %w", kv, err)
		}
	}
	return sc.Validate()
}
