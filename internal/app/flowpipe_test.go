package app

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/sim"
)

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

	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Second)
	if err := sim.Override(&sc, []string{"start=" + end.Add(-12*time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	sum, err := sim.Run(context.Background(), sc, sim.Options{OutDir: t.TempDir(), Size: "small", Outputs: []string{},
		Live: &sim.LiveOptions{Addr: addr, Rate: 20000, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
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
