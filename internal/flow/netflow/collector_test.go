package netflow_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
)

// runCollector starts a collector on 127.0.0.1:0 and returns its address, a
// function that stops it and returns every record it delivered, and the
// collector itself.
func runCollector(t *testing.T, cfg netflow.Config, reg prometheus.Registerer) (*net.UDPAddr, func() []flow.Record, *netflow.Collector) {
	t.Helper()
	cfg.Enabled = true
	cfg.Listen = "127.0.0.1:0"
	c, err := netflow.New(cfg, netflow.Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, pc) }()
	var recs []flow.Record
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range c.Batches() {
			recs = append(recs, b...)
			c.Recycle(b)
		}
	}()
	stop := func() []flow.Record {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
		<-done
		return recs
	}
	return pc.LocalAddr().(*net.UDPAddr), stop, c
}

func TestCollectorServe(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	cfg := netflow.DefaultConfig()
	cfg.FlushInterval = 5 * time.Millisecond
	addr, stop, c := runCollector(t, cfg, reg)
	conn, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var want int
	for _, name := range []string{"netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat", "netflow5.dat", "netflow5_test_invalid01.dat"} {
		b, err := os.ReadFile(data(t, "logstash-codec-netflow/"+name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	want = 14 + 2
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && int(c.Stats().Records[netflow.V9]+c.Stats().Records[netflow.V5]) < want {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // at least one flush interval
	recs := stop()
	if len(recs) < want {
		t.Errorf("collector delivered %d records, want at least %d", len(recs), want)
	}
	for _, r := range recs {
		if r.Exporter != addr.AddrPort().Addr() {
			t.Errorf("record exporter %v, want %v", r.Exporter, addr.AddrPort().Addr())
			break
		}
	}
	if got := testutil.ToFloat64(collectorMetric(t, reg, "proxywatch_flow_datagrams_total")); got != 4 {
		t.Errorf("proxywatch_flow_datagrams_total = %v, want 4", got)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Errorf("GatherAndCount() = %d, %v", n, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP proxywatch_flow_packets_total Export packets decoded, by version.
# TYPE proxywatch_flow_packets_total counter
proxywatch_flow_packets_total{version="10"} 0
proxywatch_flow_packets_total{version="5"} 2
proxywatch_flow_packets_total{version="9"} 2
`), "proxywatch_flow_packets_total"); err != nil {
		t.Error(err)
	}
}

// collectorMetric gathers one unlabelled metric by name.
func collectorMetric(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			v := mf.Metric[0].GetCounter().GetValue() + mf.Metric[0].GetGauge().GetValue()
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return v })
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

func TestCollectorStopsWithoutTraffic(t *testing.T) {
	_, stop, _ := runCollector(t, netflow.DefaultConfig(), nil)
	done := make(chan []flow.Record)
	go func() { done <- stop() }()
	select {
	case recs := <-done:
		if len(recs) != 0 {
			t.Errorf("got %d records, want 0", len(recs))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// TestCollectorCountsSocketDrops stalls the consumer so that the socket
// buffer overflows, and expects the kernel's drops to be counted.
func TestCollectorCountsSocketDrops(t *testing.T) {
	cfg := netflow.DefaultConfig()
	cfg.Enabled, cfg.Listen = true, "127.0.0.1:0"
	cfg.ReceiveBuffer, cfg.Queue, cfg.BatchSize = 4096, 1, 1
	c, err := netflow.New(cfg, netflow.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, pc) }()
	conn, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := v5(0, 1_772_445_600, 0, 0, 0, v5rec{v4a, v4b, 1, 40, 0, 0, 1, 2, 0, 17})
	for range 2000 { // the consumer reads nothing yet: the collector blocks, the socket fills
		conn.Write(p)
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		for b := range c.Batches() {
			c.Recycle(b)
		}
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for c.SocketDrops() == 0 && time.Now().Before(deadline) {
		conn.Write(p) // drops are reported with the next datagram read
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-served
	<-done
	if c.SocketDrops() == 0 {
		t.Error("SocketDrops() = 0 after overflowing a 4 KiB socket buffer")
	}
	t.Logf("%d datagrams dropped by the kernel", c.SocketDrops())
}
