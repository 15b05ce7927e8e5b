package app

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// simulateNow runs the simulator's smoke scenario at its small size,
// dated so that it ends now.
func simulateNow(t *testing.T, o sim.Options) sim.Summary {
	t.Helper()
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Second)
	if err := sim.Override(&sc, []string{"start=" + end.Add(-12*time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	o.Size = "small"
	sum, err := sim.Run(context.Background(), sc, o)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestServeFlows runs the flow pipeline of serve: the simulator's smoke
// scenario, dated so that it ends now, is exported live as IPFIX to the
// collector on loopback, and the detectors must report compromised
// inside hosts and promote outside servers into the store and the
// verdict table, with nothing lost on the way.
func TestServeFlows(t *testing.T) {
	cfg := testConfig(t)
	cfg.Flows.Collector.Enabled = true
	cfg.Flows.Collector.Listen = "127.0.0.1:0"
	cfg.FlowWatch.Enabled = true
	cfg.FlowWatch.Inside = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, stop := runApp(t, cfg)
	addr := a.flows.pc.LocalAddr().String()

	sum := simulateNow(t, sim.Options{OutDir: t.TempDir(), Outputs: []string{},
		Live: &sim.LiveOptions{Addr: addr, Rate: 20000, Version: 10}})
	waitFor(t, 30*time.Second, "every exported record decoded", func() bool {
		var n uint64
		for _, v := range a.flows.col.Stats().Records {
			n += v
		}
		return n >= uint64(sum.FlowRecords)
	})
	if st := a.flows.col.Stats(); st.Lost != [3]uint64{} || a.flows.col.SocketDrops() != 0 {
		t.Errorf("collector lost %v, socket drops %d; want none", st.Lost, a.flows.col.SocketDrops())
	}
	waitFor(t, 30*time.Second, "an inside host reported", func() bool { return len(a.flows.watch.Report()) > 0 })
	waitFor(t, 30*time.Second, "a promoted indicator in the table", func() bool {
		return a.table.Stats().Feeds[flowwatch.Feed] > 0
	})
	roles := map[proxywatch.Role]int{}
	for _, r := range a.flows.watch.Report() {
		for _, role := range r.Roles {
			roles[role]++
		}
	}
	t.Logf("sent %d records in %d datagrams; inside hosts by role %v; %d indicators promoted",
		sum.FlowRecords, sum.LiveSent, roles, a.flows.written.Load())
	stop()
}

// TestServeZeek follows a Zeek conn.log in serve: the simulator's smoke
// scenario written as the file grows reaches the flow detectors, and the
// position is committed so that a restart does not read the file again.
func TestServeZeek(t *testing.T) {
	out := t.TempDir()
	simulateNow(t, sim.Options{OutDir: out, Outputs: []string{sim.OutZeek}})
	conn, err := os.ReadFile(filepath.Join(out, "conn.log"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	logPath := filepath.Join(t.TempDir(), "conn.log")
	cfg.Flows.Zeek = []config.FileSource{{Name: "zeek", Path: logPath, Start: "beginning", Poll: 20 * time.Millisecond}}
	cfg.FlowWatch.Enabled = true
	cfg.FlowWatch.Inside = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, stop := runApp(t, cfg)
	half := bytes.LastIndexByte(conn[:len(conn)/2], '\n') + 1
	appendFile(t, logPath, string(conn[:half]))
	time.Sleep(100 * time.Millisecond)
	appendFile(t, logPath, string(conn[half:]))
	lines := bytes.Count(conn, []byte("\n"))
	waitFor(t, 30*time.Second, "an inside host reported", func() bool { return len(a.flows.watch.Report()) > 0 })
	z := a.flows.zeek[0]
	waitFor(t, 30*time.Second, "every line read", func() bool { z.mu.Lock(); defer z.mu.Unlock(); return z.last.Seq == uint64(lines) })
	if z.errs.Load() != 0 {
		t.Errorf("%d Zeek lines refused", z.errs.Load())
	}
	if m := scrape(t, a); !strings.Contains(m, fmt.Sprintf(`proxywatch_zeek_sessions_total{source="zeek"} %d`, z.sessions.Load())) {
		t.Errorf("/metrics has no Zeek session count %d", z.sessions.Load())
	}
	// The detectors' own counts: every session the follower read reaches them.
	waitFor(t, 30*time.Second, "every session processed", func() bool {
		st := a.flows.watch.Stats()
		return st.Sessions+st.Late+st.Invalid == int64(z.sessions.Load())
	})
	if m, st := scrape(t, a), a.flows.watch.Stats(); st.Sessions == 0 ||
		!strings.Contains(m, fmt.Sprintf(`proxywatch_flowwatch_total{count="sessions"} %d`, st.Sessions)) ||
		!strings.Contains(m, "proxywatch_flowwatch_round_seconds_total") {
		t.Errorf("/metrics has no flow detector counts (%d sessions processed)", st.Sessions)
	}
	stop()
	if cp := storedPos(t, cfg, "zeek:zeek"); cp.Seq != uint64(lines) {
		t.Errorf("committed Zeek position: seq %d, want %d", cp.Seq, lines)
	}
	a, stop = runApp(t, cfg)
	time.Sleep(200 * time.Millisecond)
	if n := a.flows.zeek[0].sessions.Load(); n != 0 {
		t.Errorf("after restart %d sessions read again, want 0", n)
	}
	stop()
}
