package nfexport_test

import (
	"fmt"
	"github.com/proxywatch/proxywatch/internal/itest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/sim/nfexport"
)

// simulate runs the smoke scenario with the given settings and returns the
// output directory and the summary.
func simulate(t *testing.T, settings ...string) (string, sim.Summary) {
	t.Helper()
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Override(&sc, settings); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutNetflowV9, sim.OutIPFIX}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.FlowRecords == 0 {
		t.Fatal("no flow records")
	}
	return dir, sum
}

// sumField runs tshark and returns the number of values of field and their sum.
func sumField(t *testing.T, tshark, pcap, field string) (n int, total uint64) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), tshark, "-r", pcap, "-d", "udp.port==2055,cflow", "-d", "udp.port==4739,cflow",
		"-T", "fields", "-e", field).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", pcap, err)
	}
	for _, v := range strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '\n' }) {
		x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			t.Fatalf("tshark %s: value %q: %v", field, v, err)
		}
		n++
		total += x
	}
	return n, total
}

func TestTshark(t *testing.T) {
	tshark := itest.Need(t, "tshark")
	for _, tc := range []struct {
		name     string
		settings []string
	}{
		{"unsampled", nil},
		{"sampled and skewed", []string{"export.sampling=100", "export.clock_skew=-90s", "export.active_timeout=30s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, sum := simulate(t, tc.settings...)
			for _, f := range []string{"netflow-v9.pcap", "ipfix.pcap"} {
				pcap := filepath.Join(dir, f)
				n, _ := sumField(t, tshark, pcap, "cflow.srcport")
				if int64(n) != sum.FlowRecords {
					t.Errorf("tshark counts %d records in %s, the simulator exported %d", n, f, sum.FlowRecords)
				}
				out, err := exec.CommandContext(t.Context(), tshark, "-r", pcap, "-d", "udp.port==2055,cflow",
					"-d", "udp.port==4739,cflow", "-Y", "_ws.malformed || _ws.expert.severity >= warning").Output()
				if err != nil {
					t.Fatal(err)
				}
				if s := strings.TrimSpace(string(out)); s != "" {
					t.Errorf("tshark flags packets in %s:\n%.2000s", f, s)
				}
				t.Logf("%s: tshark decoded %d records, the simulator exported %d", f, n, sum.FlowRecords)
			}
		})
	}
}

// collect replays the pcap's datagrams to a private nfcapd on loopback,
// paced, and returns what nfdump reads back: flows and total packets.
func collect(t *testing.T, nfcapd, nfdump, pcap string) (flows int, packets uint64) {
	t.Helper()
	dir := t.TempDir()
	// A 4 MB receive buffer: with the default one, nfcapd drops runs of
	// datagrams while it writes its file, even at 2,000 datagrams a second.
	capd := itest.StartNfcapd(t, nfcapd, dir, "-B", "4000000")
	port := capd.Port
	conn, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const pps = 5000
	start, sent := time.Now(), 0
	err = nfexport.ReadPcap(f, func(_ int64, p []byte) error {
		if d := time.Until(start.Add(time.Duration(sent) * time.Second / pps)); d > 0 {
			time.Sleep(d)
		}
		sent++
		_, err := conn.Write(p)
		return err
	})
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	log, err := capd.Stop()
	if err != nil {
		t.Logf("nfcapd: %v: %s", err, log)
	}
	out, err := exec.CommandContext(t.Context(), nfdump, "-R", dir, "-q", "-N", "-o", "fmt:%pkt").Output()
	if err != nil {
		t.Fatalf("nfdump: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		v, err := strconv.ParseUint(l, 10, 64)
		if err != nil {
			t.Fatalf("nfdump line %q: %v", l, err)
		}
		flows++
		packets += v
	}
	t.Logf("nfcapd: %s", strings.TrimSpace(lastLine(log)))
	return flows, packets
}

func lastLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "Flows:") {
			return l
		}
	}
	return ""
}

func TestNfdump(t *testing.T) {
	nfcapd := itest.Need(t, "nfcapd")
	nfdump := itest.Need(t, "nfdump")
	tshark, _ := exec.LookPath("tshark")
	for _, tc := range []struct {
		name     string
		settings []string
		sampling uint64
	}{
		{"unsampled", nil, 1},
		{"sampled", []string{"export.sampling=100"}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, sum := simulate(t, tc.settings...)
			for _, f := range []string{"netflow-v9.pcap", "ipfix.pcap"} {
				pcap := filepath.Join(dir, f)
				flows, pkts := collect(t, nfcapd, nfdump, pcap)
				if int64(flows) != sum.FlowRecords {
					t.Errorf("nfdump reads %d flows from %s, the simulator exported %d", flows, f, sum.FlowRecords)
				}
				if tshark != "" {
					// nfdump scales counts by the sampling rate it learnt from
					// the options record.
					_, raw := sumField(t, tshark, pcap, "cflow.packets")
					if pkts != raw*tc.sampling {
						t.Errorf("nfdump counts %d packets in %s, want %d x %d", pkts, f, raw, tc.sampling)
					}
				}
				t.Logf("%s: nfdump read %d flows, the simulator exported %d", f, flows, sum.FlowRecords)
			}
		})
	}
}
