package flowwatch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// goldenFile lists, per fixed input, the digest of everything Analyze
// returned for it: a change of the detectors' results fails the test.
const goldenFile = "testdata/golden.txt"

// A goldenCase is one fixed input of the detectors.
type goldenCase struct {
	name     string
	heavy    bool // skipped under the race detector and in -short mode
	sessions func(t *testing.T) []flow.Session
	inside   func(t *testing.T) []netip.Prefix
	listed   bool // look addresses up in a fixed listing
	limits   *Limits
}

func goldenCases() []goldenCase {
	sim := func(scenario string, seed uint64, source string, set ...string) (func(*testing.T) []flow.Session, func(*testing.T) []netip.Prefix) {
		var run *simRun
		get := func(t *testing.T) simRun {
			if run == nil {
				r := simulate(t, scenario, seed, set, source)
				run = &r
			}
			return *run
		}
		ss := func(t *testing.T) []flow.Session {
			if source == "zeek" {
				return get(t).zeek(t)
			}
			return get(t).ipfix(t)
		}
		return ss, func(t *testing.T) []netip.Prefix { return get(t).truth.Inside }
	}
	var cs []goldenCase
	add := func(name string, heavy, listed bool, scenario string, seed uint64, source string, set ...string) {
		ss, in := sim(scenario, seed, source, set...)
		cs = append(cs, goldenCase{name: name, heavy: heavy, sessions: ss, inside: in, listed: listed})
	}
	add("smoke-zeek-1", false, true, "smoke", 1, "zeek")
	add("smoke-ipfix-1", false, false, "smoke", 1, "ipfix")
	add("5socks-zeek-1", true, true, "5socks", 1, "zeek")
	add("5socks-ipfix-1", true, false, "5socks", 1, "ipfix")
	add("5socks-ipfix-100-2", true, false, "5socks", 2, "ipfix", "export.sampling=100")
	add("nsocks-zeek-3", true, false, "nsocks", 3, "zeek")
	add("nsocks-ipfix-10-3", true, false, "nsocks", 3, "ipfix", "export.sampling=10")
	cs = append(cs, goldenCase{
		name: "iot23-34-1", listed: true,
		sessions: func(t *testing.T) []flow.Session {
			rel := "botnet-flows/iot23-CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
			raw, err := os.ReadFile(itest.Data(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			ss := readSessions(t, zeek.NewReader(bytes.NewReader(raw), zeek.Options{Name: rel}))
			slices.SortStableFunc(ss, func(a, b flow.Session) int { return a.End().Compare(b.End()) })
			return ss
		},
		inside: func(*testing.T) []netip.Prefix { return labInside },
	})
	cs = append(cs, goldenCase{
		name: "synth-evicting", heavy: true,
		sessions: func(*testing.T) []flow.Session {
			g := newSynth(20_000, 5_000, 400_000)
			ss := make([]flow.Session, 400_000)
			for i := range ss {
				g.next(&ss[i])
			}
			return ss
		},
		inside: func(*testing.T) []netip.Prefix { return []netip.Prefix{insideNet} },
		limits: &Limits{Pairs: 2048, Endpoints: 2048, Hosts: 2048, Relays: 512, Findings: 512},
	})
	return cs
}

// goldenListing lists one address in 40, by a fixed hash.
func goldenListing(a netip.Addr) (Listing, bool) {
	h := hashAddr(keyOf(a))
	if h%40 != 0 {
		return Listing{}, false
	}
	return Listing{Kind: proxywatch.KindOpenProxy, Confidence: uint8(50 + h>>58), Feed: "golden"}, true
}

// goldenDump writes everything r holds, one record a line, in a form
// that does not depend on map order: findings and indicators made at the
// same time come in map order, so the lines are sorted.
func goldenDump(r Result) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, f := range r.Findings {
		// The peers of a backconnect server are a sample of its bots
		// taken in map order.
		if f.Role == proxywatch.RoleBackconnectC2 {
			f.Peers = nil
		}
		fmt.Fprint(&b, "finding ")
		_ = enc.Encode(f)
	}
	for _, i := range r.Indicators {
		fmt.Fprint(&b, "indicator ")
		_ = enc.Encode(i)
	}
	for _, row := range r.Report {
		for i := range row.Findings {
			if row.Findings[i].Role == proxywatch.RoleBackconnectC2 {
				row.Findings[i].Peers = nil
			}
		}
		fmt.Fprint(&b, "report ")
		_ = enc.Encode(row)
	}
	lines := strings.SplitAfter(b.String(), "\n")
	slices.Sort(lines)
	b.Reset()
	b.WriteString(strings.Join(lines, ""))
	st := r.Stats
	fmt.Fprintf(&b, "stats sessions=%d late=%d internal=%d external=%d invalid=%d findings=%d promoted=%d evals=%d evictions=%d\n",
		st.Sessions, st.Late, st.Internal, st.External, st.Invalid, st.Findings, st.Promoted, st.Evals, st.Evictions)
	return b.Bytes()
}

// TestAnalyzeGolden runs Analyze over fixed inputs and compares a digest
// of what it returns with testdata/golden.txt. FLOWWATCH_GOLDEN_OUT=dir
// writes the full outputs there, to compare two versions with diff;
// FLOWWATCH_GOLDEN_UPDATE=1 rewrites the digests (after a deliberate
// change of the detectors' results).
func TestAnalyzeGolden(t *testing.T) {
	want := readGolden(t)
	got := map[string]string{}
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy && (testing.Short() || raceEnabled) {
				t.Skip("large input: skipped in -short mode and under the race detector")
			}
			ss := c.sessions(t)
			cfg := DefaultConfig()
			cfg.Enabled, cfg.Inside = true, c.inside(t)
			if c.limits != nil {
				cfg.Limits = *c.limits
			}
			var deps Deps
			if c.listed {
				deps.Listed = goldenListing
			}
			res, err := Analyze(context.Background(), cfg, deps, slices.Values(ss))
			if err != nil {
				t.Fatal(err)
			}
			dump := goldenDump(res)
			line := fmt.Sprintf("%x findings=%d indicators=%d", sha256.Sum256(dump), len(res.Findings), len(res.Indicators))
			got[c.name] = line
			if dir := os.Getenv("FLOWWATCH_GOLDEN_OUT"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, c.name+".txt"), dump, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if w, ok := want[c.name]; ok && w != line && os.Getenv("FLOWWATCH_GOLDEN_UPDATE") == "" {
				t.Errorf("Analyze(%s) = %s, want %s", c.name, line, w)
			}
		})
	}
	if os.Getenv("FLOWWATCH_GOLDEN_UPDATE") != "" {
		for k, v := range got {
			want[k] = v
		}
		var b strings.Builder
		b.WriteString("# name sha256(dump) findings indicators: TestAnalyzeGolden's fixed inputs\n")
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s\n", k, want[k])
		}
		if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGolden(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	raw, err := os.ReadFile(goldenFile)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		out[name] = rest
	}
	return out
}
