package flowwatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// simRun is one simulated run: its truth and its sessions as Zeek and as
// the flow exporter saw them.
type simRun struct {
	dir   string
	truth *truth.File
	hosts int // inside hosts simulated
}

// simulate runs a built-in scenario at small size with the overrides and
// returns where its files are.
func simulate(t testing.TB, scenario string, seed uint64, set []string, outputs ...string) simRun {
	t.Helper()
	return simulateSized(t, scenario, seed, set, sim.SizeSmall, outputs...)
}

func (r simRun) zeek(t testing.TB) []flow.Session {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readSessions(t, zeek.NewReader(f, zeek.Options{Name: "conn.log"}))
}

// ipfix decodes the flow export and stitches it into sessions, as the
// collector's pipeline does.
func (r simRun) ipfix(t testing.TB) []flow.Session {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "ipfix.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapread.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := stitch.NewReader(netflow.NewReader(pr, "ipfix.pcap", netflow.Options{}), stitch.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return readSessions(t, sr)
}

func readSessions(t testing.TB, r flow.SessionReader) []flow.Session {
	t.Helper()
	var out []flow.Session
	for {
		s, err := r.ReadSession()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

// detect runs the detectors over sessions with cfg (inside set from the
// truth) and returns what they found.
func detect(t testing.TB, cfg Config, inside []netip.Prefix, sessions []flow.Session,
	trace func(string, netip.Addr, uint16, map[string]float64)) Result {
	t.Helper()
	cfg.Enabled, cfg.Inside = true, inside
	w, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	w.trace = trace
	var r Result
	for _, s := range sessions {
		w.Process(s)
	}
	w.Flush()
	r.Findings = w.Findings()
	r.Indicators = w.Indicators()
	r.Report = w.Report()
	r.Stats = w.Stats()
	return r
}

// findingsJSON encodes findings as the JSON-lines records eval reads.
func findingsJSON(t testing.TB, fs []proxywatch.Finding) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range fs {
		if err := enc.Encode(proxywatch.Record{Schema: proxywatch.SchemaVersion, Type: proxywatch.RecordFinding, Finding: &fs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// scoreRun scores findings against the run's truth with eval's defaults.
func scoreRun(t testing.TB, r simRun, fs []proxywatch.Finding) eval.Report {
	t.Helper()
	tr, err := os.Open(filepath.Join(r.dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	rep, err := eval.Score(tr, bytes.NewReader(findingsJSON(t, fs)), eval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
