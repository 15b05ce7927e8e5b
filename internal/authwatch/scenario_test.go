package authwatch

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/enrich"
)

// recorder is an Output that keeps everything.
type recorder struct {
	alerts    []proxywatch.Alert
	decisions []proxywatch.Decision
}

func (r *recorder) Alert(a proxywatch.Alert)       { r.alerts = append(r.alerts, a) }
func (r *recorder) Decision(d proxywatch.Decision) { r.decisions = append(r.decisions, d) }

// parseEvent reads "TIME SERVICE ADDR:PORT TYPE [USER [METHOD]]".
func parseEvent(line string) (proxywatch.Event, error) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return proxywatch.Event{}, fmt.Errorf("event %q: want TIME SERVICE ADDR:PORT TYPE [USER [METHOD]]", line)
	}
	t, err := time.Parse(time.RFC3339, f[0])
	if err != nil {
		return proxywatch.Event{}, err
	}
	ap, err := netip.ParseAddrPort(f[2])
	if err != nil {
		i := strings.LastIndexByte(f[2], ':')
		a, err2 := netip.ParseAddr(f[2][:max(i, 0)])
		p, err3 := strconv.ParseUint(f[2][i+1:], 10, 16)
		if i < 0 || err2 != nil || err3 != nil {
			return proxywatch.Event{}, fmt.Errorf("event %q: address: %w", line, err)
		}
		ap = netip.AddrPortFrom(a, uint16(p))
	}
	var typ proxywatch.EventType
	typ.UnmarshalText([]byte(f[3]))
	ev := proxywatch.Event{Time: t, Service: f[1], Addr: ap.Addr(), Port: ap.Port(), Type: typ, Source: "test"}
	if len(f) > 4 {
		ev.User = f[4]
	}
	if len(f) > 5 {
		ev.Method = f[5]
	}
	return ev, nil
}

// applyConfig sets the few configuration keys scenarios use.
func applyConfig(t *testing.T, cfg *Config, line string) {
	k, v, _ := strings.Cut(line, "=")
	switch k {
	case "campaign.enabled":
		cfg.Campaign.Enabled = v == "true"
	case "campaign.min_sources":
		cfg.Campaign.MinSources, _ = strconv.Atoi(v)
	case "listed.cooldown":
		cfg.Listed.Cooldown, _ = time.ParseDuration(v)
	case "listed.decide":
		cfg.Listed.Decide = v == "true"
	default:
		t.Fatalf("config %q: unknown key", line)
	}
}

func lines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ar := txtar.Parse(data)
			cfg := DefaultConfig()
			listed := map[netip.Addr]Listing{}
			infos := map[netip.Addr]enrich.Info{}
			var evs []proxywatch.Event
			var want []string
			for _, f := range ar.Files {
				for _, l := range lines(f.Data) {
					switch f.Name {
					case "events":
						ev, err := parseEvent(l)
						if err != nil {
							t.Fatal(err)
						}
						evs = append(evs, ev)
					case "config":
						applyConfig(t, &cfg, l)
					case "listed":
						var a string
						var k proxywatch.Kind
						var c uint8
						fs := strings.Fields(l)
						a = fs[0]
						k.UnmarshalText([]byte(fs[1]))
						n, _ := strconv.Atoi(fs[2])
						c = uint8(n)
						listed[netip.MustParseAddr(a)] = Listing{Kind: k, Confidence: c, Feed: "test"}
					case "enrich":
						fs := strings.Fields(l)
						asn, _ := strconv.Atoi(fs[1])
						infos[netip.MustParseAddr(fs[0])] = enrich.Info{ASN: uint32(asn), Country: fs[2]}
					case "want":
						want = append(want, l)
					default:
						t.Fatalf("section %q: unknown", f.Name)
					}
				}
			}
			rec := &recorder{}
			deps := Deps{Out: rec}
			if len(listed) > 0 {
				deps.Listed = func(a netip.Addr) (Listing, bool) { l, ok := listed[a]; return l, ok }
			}
			if len(infos) > 0 {
				deps.Enrich = func(a netip.Addr) enrich.Info { return infos[a] }
			}
			w, err := New(cfg, deps)
			if err != nil {
				t.Fatalf("New() error %v", err)
			}
			for _, ev := range evs {
				w.Process(ev)
			}
			w.Flush()
			for _, l := range want {
				check(t, rec, l)
			}
			for _, a := range rec.alerts {
				checkEvidence(t, cfg, a)
			}
			if t.Failed() {
				for _, a := range rec.alerts {
					t.Logf("alert %s %s %v %v", a.Detector, a.Severity, a.Subjects, a.Reasons)
				}
				for _, d := range rec.decisions {
					t.Logf("decision %s %s %s %s", d.Action, d.Subject, d.Origin, d.Reason)
				}
			}
		})
	}
}

// checkEvidence holds every alert to carrying its evidence: an ID, counts,
// its window, the spread, reason codes and a bounded sample of lines.
func checkEvidence(t *testing.T, cfg Config, a proxywatch.Alert) {
	t.Helper()
	switch {
	case a.ID == "" || a.Time.IsZero() || a.Start.IsZero() || a.End.Before(a.Start):
		t.Errorf("alert %s %q: id, time or window missing (time %s, window %s to %s)", a.Detector, a.ID, a.Time, a.Start, a.End)
	case len(a.Counts) == 0 || a.Spread == nil || len(a.Reasons) == 0:
		t.Errorf("alert %s %q: counts %v, spread %v, reasons %v: want all three", a.Detector, a.ID, a.Counts, a.Spread, a.Reasons)
	case len(a.Sample) == 0 || len(a.Sample) > cfg.Sample:
		t.Errorf("alert %s %q: %d sample lines, want 1 to %d", a.Detector, a.ID, len(a.Sample), cfg.Sample)
	case len(a.Subjects) > cfg.Subjects:
		t.Errorf("alert %s %q: %d subjects, want at most %d", a.Detector, a.ID, len(a.Subjects), cfg.Subjects)
	}
}

// check tests one want line against what was recorded.
func check(t *testing.T, rec *recorder, line string) {
	t.Helper()
	f := strings.Fields(line)
	switch f[0] {
	case "alert", "critical":
		var named []string
		for _, a := range rec.alerts {
			if a.Detector == f[1] && (f[0] == "alert" || a.Severity == proxywatch.SeverityCritical) {
				for _, s := range a.Subjects {
					named = append(named, s.String())
				}
			}
		}
		for _, s := range f[2:] {
			if !slices.Contains(named, s) {
				t.Errorf("%s: no %s alert names %s (named: %v)", line, f[1], s, named)
			}
		}
	case "decision":
		for _, d := range rec.decisions {
			if string(d.Action) == f[1] && d.Subject.String() == f[2] && d.Origin == f[3] {
				if !d.Expires.After(d.Created) {
					t.Errorf("%s: expires %s, want after created %s", line, d.Expires, d.Created)
				}
				return
			}
		}
		t.Errorf("%s: no such decision", line)
	case "none":
		for _, d := range rec.decisions {
			if d.Subject.String() == f[1] {
				t.Errorf("%s: decided %s %s", line, d.Action, d.Origin)
			}
		}
		for _, a := range rec.alerts {
			for _, s := range a.Subjects {
				if s.String() == f[1] {
					t.Errorf("%s: named by a %s alert", line, a.Detector)
				}
			}
		}
	case "count":
		n, _ := strconv.Atoi(f[2])
		got := 0
		for _, a := range rec.alerts {
			if a.Detector == f[1] {
				got++
			}
		}
		if got != n {
			t.Errorf("%s: %d %s alerts, want %d", line, got, f[1], n)
		}
	default:
		t.Fatalf("want %q: unknown", line)
	}
}
