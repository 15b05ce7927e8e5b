package flowwatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"net/netip"
	"sort"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// qualitySize is the size the quality report simulates at:
// FLOWWATCH_SIZE, small (48 h, 4% of the population) by default, or full
// (the scenario as written: a week, the whole population).
func qualitySize(t testing.TB) string {
	t.Helper()
	switch s := cmpOr(os.Getenv("FLOWWATCH_SIZE"), sim.SizeSmall); s {
	case sim.SizeSmall, sim.SizeFull:
		return s
	default:
		t.Fatalf("FLOWWATCH_SIZE=%q: want %s or %s", s, sim.SizeSmall, sim.SizeFull)
		return ""
	}
}

// simulateSized is simulate at a size ("" is small).
func simulateSized(t testing.TB, scenario string, seed uint64, set []string, size string, outputs ...string) simRun {
	t.Helper()
	sc, err := sim.LoadScenario(scenario)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Override(&sc, set); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outs := append([]string{sim.OutTruth}, outputs...)
	sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Seed: seed, Size: size, Outputs: outs})
	if err != nil {
		t.Fatalf("simulate %s (%s) seed %d: %v", scenario, size, seed, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := truth.ReadFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return simRun{dir: dir, truth: f, hosts: sum.Hosts}
}

// shareSimulation groups the indexes of cases that differ only in their
// source (Zeek and the flow export at the same sampling): one simulation
// writes both, since the exporter's sampling draws from its own stream.
func shareSimulation(cases []qualityCase) [][]int {
	var groups [][]int
	for i, c := range cases {
		j := slices.IndexFunc(groups, func(g []int) bool {
			d := cases[g[0]]
			return d.name == c.name && d.scenario == c.scenario && d.sampling == c.sampling &&
				d.size == c.size && slices.Equal(d.set, c.set)
		})
		if j < 0 {
			groups = append(groups, []int{i})
			continue
		}
		groups[j] = append(groups[j], i)
	}
	return groups
}

// detectStream runs the detectors with the shipped defaults over the
// source ("zeek" or "ipfix") of run as it is read, batch by batch, so that
// a full-size run (ten million sessions and more) is never held whole. It
// returns the findings, the number of sessions and the time spent in the
// detectors alone.
func detectStream(t testing.TB, run simRun, source string, seen map[netip.Addr]*serverSeen) ([]proxywatch.Finding, int, time.Duration) {
	t.Helper()
	name := "ipfix.pcap"
	if source == "zeek" {
		name = "conn.log"
	}
	f, err := os.Open(filepath.Join(run.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r flow.SessionReader
	if source == "zeek" {
		r = zeek.NewReader(f, zeek.Options{Name: name})
	} else {
		pr, err := pcapread.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = stitch.NewReader(netflow.NewReader(pr, name, netflow.Options{}), stitch.DefaultConfig()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Inside = true, run.truth.Inside
	w, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if seen != nil {
		w.trace = func(det string, a netip.Addr, port uint16, f map[string]float64) {
			if v := seen[a]; v != nil && (det == "c2" || det == "collector") && f["score"] >= v.features["score"] {
				v.detector, v.port, v.features = det, port, f
			}
		}
	}
	var (
		n       int
		elapsed time.Duration
		batch   = make([]flow.Session, 0, 4096)
		eof     bool
	)
	for !eof {
		batch = batch[:0]
		for len(batch) < cap(batch) {
			s, err := r.ReadSession()
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			batch = append(batch, s)
			if v := seen[s.Resp.Addr()]; v != nil {
				v.sessions++
				v.clients[s.Orig.Addr()] = struct{}{}
			}
		}
		began := time.Now()
		for _, s := range batch {
			w.Process(s)
		}
		elapsed += time.Since(began)
		n += len(batch)
	}
	began := time.Now()
	w.Flush()
	fs := w.Findings()
	return fs, n, elapsed + time.Since(began)
}

// serverSeen is what the flow source showed of one true server, and the
// detectors' best score for it: evidence for a miss.
type serverSeen struct {
	bots     int // bots that the truth says used it
	sessions int // sessions to it in the source, after sampling
	clients  map[netip.Addr]struct{}
	detector string
	port     uint16
	features map[string]float64
}

// watchServers returns an entry for each true C2, backconnect server and
// collector address of run.
func watchServers(run simRun) map[netip.Addr]*serverSeen {
	seen := map[netip.Addr]*serverSeen{}
	for _, h := range run.truth.Hosts {
		switch h.Role {
		case proxywatch.RoleC2, proxywatch.RoleBackconnectC2, proxywatch.RoleCollector:
			for _, sp := range h.Spans {
				seen[sp.Addr] = &serverSeen{clients: map[netip.Addr]struct{}{}}
			}
		}
	}
	for _, h := range run.truth.Hosts {
		for _, p := range h.Peers {
			if v := seen[p]; v != nil {
				v.bots++
			}
		}
	}
	return seen
}

// explain describes what the source showed of a missed server.
func (v *serverSeen) explain() string {
	if v == nil {
		return "not a truth server address"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d bots in truth, %d sessions from %d clients in the source", v.bots, v.sessions, len(v.clients))
	if v.features == nil {
		b.WriteString(", never scored")
		return b.String()
	}
	keys := make([]string, 0, len(v.features))
	for k := range v.features {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, ", best %s score on port %d:", v.detector, v.port)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%.3g", k, v.features[k])
	}
	return b.String()
}

// describeWrong names what the truth says of a falsely flagged address,
// and the findings on it.
func describeWrong(run simRun, fs []proxywatch.Finding, w string) string {
	var b strings.Builder
	b.WriteString(w)
	a, err := netip.ParseAddr(w)
	if err != nil {
		return w
	}
	for _, h := range run.truth.Hosts {
		for _, sp := range h.Spans {
			if sp.Addr == a {
				fmt.Fprintf(&b, " (%s %s, class %q, resembles %q, ports %v)", h.ID, cmpOr(string(h.Role), "benign"), h.Class, h.Resembles, h.Ports)
			}
		}
	}
	var best *proxywatch.Finding
	n := 0
	for i, f := range fs {
		if f.Subject.Prefix != netip.PrefixFrom(a, a.BitLen()) {
			continue
		}
		n++
		if best == nil || f.Confidence > best.Confidence {
			best = &fs[i]
		}
	}
	if best != nil {
		fmt.Fprintf(&b, " [%d findings, best %s %s conf %d ports %v counts %v scores %v]",
			n, best.Detector, best.Role, best.Confidence, best.Ports, best.Counts, best.Scores)
	}
	return b.String()
}
