package flowwatch

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// A qualityCase is one measurement setting: a scenario with overrides,
// a flow source and a sampling rate.
type qualityCase struct {
	name     string // row label
	scenario string
	set      []string
	source   string // "zeek" or "ipfix"
	sampling int
	size     string // sim.SizeSmall (or "") or sim.SizeFull
}

// runScore is what one simulated run scored.
type runScore struct {
	servers, serversFound int // C2, backconnect and collector addresses
	outsideFP             int // outside addresses wrongly named C2, backconnect server or collector
	relays, relaysFound   int
	bc, bcFound           int
	insideFP              int // inside addresses wrongly named relay or backconnect bot
	lookalikeFP           int // of them, benign look-alikes
	insideHosts           int
	bots, botsFound       int
	sessions              int
	elapsed               time.Duration
	missed, wrong         []string // servers missed, outside addresses wrongly named (samples)
}

func (q qualityCase) run(t testing.TB, seed uint64) runScore {
	t.Helper()
	return q.score(t, q.simulate(t, seed, q.source))
}

// simulate runs the case's scenario at its size and sampling with the
// outputs the sources need ("zeek", "ipfix").
func (q qualityCase) simulate(t testing.TB, seed uint64, sources ...string) simRun {
	t.Helper()
	set := append([]string{fmt.Sprintf("export.sampling=%d", q.sampling)}, q.set...)
	var outs []string
	for _, src := range sources {
		switch src {
		case "zeek":
			outs = append(outs, sim.OutZeek)
		default:
			outs = append(outs, sim.OutIPFIX)
		}
	}
	return simulateSized(t, q.scenario, seed, set, q.size, outs...)
}

// score runs the detectors with the shipped defaults over the case's
// source of run and scores what they found.
func (q qualityCase) score(t testing.TB, run simRun) runScore {
	t.Helper()
	var seen map[netip.Addr]*serverSeen
	if os.Getenv("FLOWWATCH_EXPLAIN") != "" {
		seen = watchServers(run)
	}
	fs, n, el := detectStream(t, run, q.source, seen)
	rep := scoreRun(t, run, fs)
	var s runScore
	s.sessions, s.elapsed = n, el
	s.insideHosts = insidePopulation(run)
	for _, r := range rep.Roles {
		switch r.Role {
		case proxywatch.RoleC2, proxywatch.RoleBackconnectC2, proxywatch.RoleCollector:
			s.servers += r.Truth
			s.serversFound += r.TP
			s.outsideFP += r.FP
			for _, a := range r.Missed {
				m := fmt.Sprintf("%s %s", r.Role, a)
				if seen != nil {
					m += " (" + seen[a].explain() + ")"
				}
				s.missed = append(s.missed, m)
			}
			for _, w := range r.Wrong {
				s.wrong = append(s.wrong, describeWrong(run, fs, w))
			}
		case proxywatch.RoleRelay:
			s.relays, s.relaysFound = r.Truth, r.TP
			s.insideFP += r.FP
			s.lookalikeFP += r.FPLookalike
		case proxywatch.RoleBackconnectBot:
			s.bc, s.bcFound = r.Truth, r.TP
			s.insideFP += r.FP
			s.lookalikeFP += r.FPLookalike
		case proxywatch.RoleBot:
			s.bots, s.botsFound = r.Truth, r.TP
		}
	}
	return s
}

// insidePopulation is the number of inside hosts of the run: the
// denominator of the inside false-positive rate.
func insidePopulation(r simRun) int { return r.hosts }

// qualityRow sums a case over seeds.
type qualityRow struct {
	qualityCase
	runs                               int
	allServers                         int // runs where every server was found
	servers, serversFound              int
	maxOutsideFP, outsideFP            int
	relays, relaysFound, bc, bcFound   int
	insideFP, lookalikeFP, insideHosts int
	bots, botsFound                    int
	sessions                           int
	elapsed                            time.Duration
}

func (r *qualityRow) add(s runScore) {
	r.runs++
	if s.serversFound == s.servers {
		r.allServers++
	}
	r.servers += s.servers
	r.serversFound += s.serversFound
	r.outsideFP += s.outsideFP
	r.maxOutsideFP = max(r.maxOutsideFP, s.outsideFP)
	r.relays += s.relays
	r.relaysFound += s.relaysFound
	r.bc += s.bc
	r.bcFound += s.bcFound
	r.insideFP += s.insideFP
	r.lookalikeFP += s.lookalikeFP
	r.insideHosts += s.insideHosts
	r.bots += s.bots
	r.botsFound += s.botsFound
	r.sessions += s.sessions
	r.elapsed += s.elapsed
}

func frac(a, b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", float64(a)/float64(b))
}

// meets reports whether the row meets the targets.
func (r *qualityRow) meets() bool {
	ok := r.allServers == r.runs && r.maxOutsideFP <= 1
	if r.relays > 0 {
		ok = ok && float64(r.relaysFound) >= 0.95*float64(r.relays)
	}
	if r.bc > 0 {
		ok = ok && float64(r.bcFound) >= 0.95*float64(r.bc)
	}
	return ok && float64(r.insideFP) <= 0.001*float64(r.insideHosts)
}

func writeQualityTable(w io.Writer, rows []*qualityRow) {
	fmt.Fprintf(w, "| case | source | sampling | runs | servers found | runs all found | false outside (max/run) | relay recall | backconnect recall | inside FP (look-alikes) / hosts | bot recall | sessions/s | target |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		verdict := "met"
		if !r.meets() {
			verdict = "missed"
		}
		fmt.Fprintf(w, "| %s | %s | 1:%d | %d | %d/%d | %d/%d | %d (%d) | %s (%d/%d) | %s (%d/%d) | %d (%d) / %d = %s | %s | %.0f | %s |\n",
			r.name, r.source, r.sampling, r.runs, r.serversFound, r.servers, r.allServers, r.runs,
			r.outsideFP, r.maxOutsideFP, frac(r.relaysFound, r.relays), r.relaysFound, r.relays,
			frac(r.bcFound, r.bc), r.bcFound, r.bc, r.insideFP, r.lookalikeFP, r.insideHosts,
			fmt.Sprintf("%.2f%%", 100*float64(r.insideFP)/float64(max(r.insideHosts, 1))),
			frac(r.botsFound, r.bots), float64(r.sessions)/r.elapsed.Seconds(), verdict)
	}
}

// The parameter variants measured besides the scenarios as shipped:
// settings the detectors were not tuned on.
var variants = map[string][]string{
	"5socks": {"botnet.c2.beacon=10m", "botnet.c2.jitter=0.35", "botnet.collector.interval=20m",
		"botnet.relay.delay=[50ms, 900ms]", "botnet.relay.per_day=[5, 60]", "botnet.bots=1500"},
	"nsocks": {"botnet.c2.beacon=20m", "botnet.c2.servers=3", "botnet.backconnect.session=[1h, 6h]",
		"botnet.relay.per_day=[10, 100]", "botnet.backconnect.keepalive=60s"},
}

func qualityCases(samplings []int) []qualityCase {
	var cs []qualityCase
	for _, sc := range []string{"5socks", "nsocks"} {
		for _, v := range []string{"", "variant"} {
			name := sc
			var set []string
			if v != "" {
				name, set = sc+" variant", variants[sc]
			}
			cs = append(cs, qualityCase{name: name, scenario: sc, set: set, source: "zeek", sampling: 1})
			for _, s := range samplings {
				cs = append(cs, qualityCase{name: name, scenario: sc, set: set, source: "ipfix", sampling: s})
			}
		}
	}
	return cs
}

func parseSeeds(t testing.TB, s string) []uint64 {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 64)
	b := a
	var err2 error
	if ok {
		b, err2 = strconv.ParseUint(hi, 10, 64)
	}
	if err1 != nil || err2 != nil || b < a {
		t.Fatalf("seeds %q: want N or N-M", s)
	}
	var out []uint64
	for x := a; x <= b; x++ {
		out = append(out, x)
	}
	return out
}

// TestQualityReport measures detection quality over many seeds and prints
// the table of docs/detection.md. bench/flowwatch/quality.sh runs it; set
// FLOWWATCH_QUALITY=1 (and optionally FLOWWATCH_SEEDS=101-110,
// FLOWWATCH_SAMPLING=1,100,1000, FLOWWATCH_SIZE=full, FLOWWATCH_CASES=nsocks,
// FLOWWATCH_SOURCES=ipfix, FLOWWATCH_NOVARIANT=1 or FLOWWATCH_VARIANTONLY=1; FLOWWATCH_EXPLAIN=1
// logs, for each missed server, what the source showed of it).
func TestQualityReport(t *testing.T) {
	if os.Getenv("FLOWWATCH_QUALITY") == "" {
		t.Skip("FLOWWATCH_QUALITY not set (bench/flowwatch/quality.sh runs this)")
	}
	seeds := parseSeeds(t, cmpOr(os.Getenv("FLOWWATCH_SEEDS"), "101-110"))
	var samplings []int
	for f := range strings.SplitSeq(cmpOr(os.Getenv("FLOWWATCH_SAMPLING"), "1,100,1000"), ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		samplings = append(samplings, n)
	}
	cases := qualityCases(samplings)
	if os.Getenv("FLOWWATCH_NOVARIANT") != "" {
		cases = slices.DeleteFunc(cases, func(c qualityCase) bool { return c.set != nil })
	}
	if os.Getenv("FLOWWATCH_VARIANTONLY") != "" {
		cases = slices.DeleteFunc(cases, func(c qualityCase) bool { return c.set == nil })
	}
	if only := os.Getenv("FLOWWATCH_SOURCES"); only != "" {
		cases = slices.DeleteFunc(cases, func(c qualityCase) bool { return !strings.Contains(only, c.source) })
	}
	if only := os.Getenv("FLOWWATCH_CASES"); only != "" {
		var keep []qualityCase
		for _, c := range cases {
			if strings.Contains(only, c.scenario) {
				keep = append(keep, c)
			}
		}
		cases = keep
	}
	size := qualitySize(t)
	for i := range cases {
		cases[i].size = size
	}
	rows := make([]*qualityRow, len(cases))
	for i, c := range cases {
		rows[i] = &qualityRow{qualityCase: c}
	}
	// Cases that differ only in source share one simulation per seed.
	for _, g := range shareSimulation(cases) {
		c := cases[g[0]]
		var sources []string
		for _, i := range g {
			sources = append(sources, cases[i].source)
		}
		for _, seed := range seeds {
			began := time.Now()
			run := c.simulate(t, seed, sources...)
			simulated := time.Since(began)
			for _, i := range g {
				c := cases[i]
				began := time.Now()
				s := c.score(t, run)
				rows[i].add(s)
				t.Logf("%s %s %s 1:%d seed %d: servers %d/%d outsideFP %d relay %d/%d bc %d/%d insideFP %d/%d sessions %d; simulate %s, read+detect %s; missed %v wrong %v",
					c.size, c.name, c.source, c.sampling, seed, s.serversFound, s.servers, s.outsideFP,
					s.relaysFound, s.relays, s.bcFound, s.bc, s.insideFP, s.insideHosts, s.sessions,
					simulated.Round(time.Second), time.Since(began).Round(time.Second), s.missed, s.wrong)
			}
			// A full-size run's files take gigabytes: free them now.
			if err := os.RemoveAll(run.dir); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b strings.Builder
	writeQualityTable(&b, rows)
	fmt.Print(b.String())
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestQualityTargets runs two seeds of each scenario at small size, as
// shipped, and asserts the targets (on seeds of the tuning set:
// the measurement seeds, 101 to 110, are only measured) at 1:1 (Zeek for 5socks, the
// flow export for nsocks, whose Zeek log loses tunnels of bots that changed
// address) and, outside -short and the race detector, at 1:100.
func TestQualityTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation: skipped in -short mode")
	}
	cases := []qualityCase{
		{name: "5socks", scenario: "5socks", source: "zeek", sampling: 1},
		{name: "nsocks", scenario: "nsocks", source: "ipfix", sampling: 1},
	}
	if !raceEnabled {
		cases = append(cases,
			qualityCase{name: "5socks", scenario: "5socks", source: "ipfix", sampling: 100},
			qualityCase{name: "nsocks", scenario: "nsocks", source: "ipfix", sampling: 100})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%s-%d", c.name, c.source, c.sampling), func(t *testing.T) {
			t.Parallel()
			row := &qualityRow{qualityCase: c}
			for _, seed := range []uint64{3, 4} {
				row.add(c.run(t, seed))
			}
			var b strings.Builder
			writeQualityTable(&b, []*qualityRow{row})
			if !row.meets() {
				t.Errorf("quality %s %s 1:%d below target:\n%s", c.name, c.source, c.sampling, b.String())
			}
		})
	}
}

var _ = eval.DefaultOptions
