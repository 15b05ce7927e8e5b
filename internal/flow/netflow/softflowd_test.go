package netflow_test

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// TestSoftflowdEndToEnd runs a real exporter: softflowd reads a synthetic
// packet capture and exports NetFlow v9 and IPFIX to 127.0.0.1, tcpdump
// records the export, and the recording is replayed, paced, to the
// collector and to nfcapd; the two must decode the same records (times
// to the millisecond included), with nothing lost. The chain and its
// pitfalls are those of ../shared/peers/netflow.sh.
func TestSoftflowdEndToEnd(t *testing.T) {
	softflowd := itest.Need(t, "softflowd")
	tcpdump := itest.Need(t, "tcpdump")
	nfcapd := itest.Need(t, "nfcapd")
	nfdump := itest.Need(t, "nfdump")
	python := pythonPath(t)
	gen := filepath.Join(itest.ModuleRoot(t), "..", "shared", "gen", "pcap")
	if _, err := os.Stat(filepath.Join(gen, "udpreplay.py")); err != nil {
		itest.Unavailable(t, "gen", "../shared/gen/pcap not found")
	}
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows.pcap")
	out, err := exec.Command(python, filepath.Join(gen, "genpcap.py"), "--flows", "2000", "--out", flows).Output()
	if err != nil {
		t.Fatalf("genpcap.py: %v", err)
	}
	var expect struct {
		Unidirectional int `json:"unidirectional_flows"`
	}
	if err := json.Unmarshal(out, &expect); err != nil {
		t.Fatalf("genpcap.py output %q: %v", out, err)
	}
	for _, v := range []string{"9", "10"} {
		t.Run("v"+v, func(t *testing.T) {
			export := filepath.Join(dir, "export-v"+v+".pcap")
			var sent int
			record(t, tcpdump, export, func(port int) {
				cmd := exec.Command(softflowd, "-r", flows, "-n", "127.0.0.1:"+strconv.Itoa(port), "-v", v, "-d", "-a", "-c", "none", "-p", filepath.Join(dir, "softflowd.pid"))
				b, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("softflowd: %v: %s", err, b)
				}
				// "Flows exported: 2104 (4000 records) in 127 packets (0 failures)"
				if m := regexp.MustCompile(`records\) in (\d+) packets`).FindSubmatch(b); m != nil {
					sent, _ = strconv.Atoi(string(m[1]))
				}
			})
			if ps, err := readPcapPayloads(export); err != nil || (sent > 0 && len(ps) != sent) {
				t.Fatalf("tcpdump recorded %d of the %d datagrams softflowd sent (%v)", len(ps), sent, err)
			}

			// The collector.
			addr, stop, c := runCollector(t, netflow.DefaultConfig(), nil)
			replay(t, python, gen, export, addr.Port)
			waitRecords(c, uint64(expect.Unidirectional)*9/10)
			recs := stop()

			// nfcapd, on its own port.
			capdir := filepath.Join(dir, "nfcapd-v"+v)
			if err := os.MkdirAll(capdir, 0o755); err != nil {
				t.Fatal(err)
			}
			capd := itest.StartNfcapd(t, nfcapd, capdir)
			replay(t, python, gen, export, capd.Port)
			time.Sleep(300 * time.Millisecond)
			if log, err := capd.Stop(); err != nil { // nfcapd writes and closes its file
				t.Logf("nfcapd: %v: %s", err, log)
			}
			want := nfdumpRecords(t, nfdump, "-R", capdir)

			got := make([]oracleTimed, len(recs))
			for i, r := range recs {
				got[i] = timed(r)
			}
			// nfdump 1.7.1 swaps the start and end of softflowd's IPFIX
			// records (flowStartSysUpTime and flowEndSysUpTime; tshark reads
			// them as the decoder does): compare the two times as a span.
			for _, rs := range [][]oracleTimed{want, got} {
				for i := range rs {
					if rs[i].End.Before(rs[i].Start) {
						rs[i].Start, rs[i].End = rs[i].End, rs[i].Start
					}
				}
			}
			t.Logf("softflowd exported %d records (genpcap expects %d flows); collector %d, nfcapd %d",
				len(want), expect.Unidirectional, len(got), len(want))
			if len(want) < expect.Unidirectional*99/100 {
				t.Fatalf("nfcapd got %d records, want about %d", len(want), expect.Unidirectional)
			}
			diffMultisets(t, "collector vs nfcapd", multiset(want), multiset(got))
			if s := c.Stats(); s.Lost != [3]uint64{} || s.Errors != [7]uint64{} || c.SocketDrops() != 0 {
				t.Errorf("Stats() lost %v, errors %v, socket drops %d; want none", s.Lost, s.Errors, c.SocketDrops())
			}
		})
	}
}

// pythonPath prefers Debian's interpreter, as the peer scripts do.
func pythonPath(t *testing.T) string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return itest.Need(t, "python3")
}

// record runs tcpdump on the loopback interface, capturing UDP to a free
// port into path, while run exports to that port. A socket drains the port
// meanwhile: without a listener the kernel answers "port unreachable" and
// the exporter's connected socket loses datagrams.
func record(t *testing.T, tcpdump, path string, run func(port int)) {
	t.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	cmd := exec.Command(tcpdump, "-i", "lo", "-n", "-U", "-B", "16384", "-Z", "root", "-w", path, "udp and dst host 127.0.0.1 and dst port "+strconv.Itoa(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start listening")
	}
	run(port)
	time.Sleep(1500 * time.Millisecond) // libpcap hands over a ring block when full or after about a second
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
}

// replay sends a recorded export to 127.0.0.1:port at 2,000 datagrams a
// second with udpreplay.py.
func replay(t *testing.T, python, gen, pcap string, port int) {
	t.Helper()
	b, err := exec.Command(python, filepath.Join(gen, "udpreplay.py"), pcap, "127.0.0.1", strconv.Itoa(port), "--pps", "2000").CombinedOutput()
	if err != nil {
		t.Fatalf("udpreplay.py: %v: %s", err, b)
	}
}

// waitRecords waits until the collector has decoded n records, or a while.
func waitRecords(c *netflow.Collector, n uint64) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s := c.Stats()
		if s.Records[netflow.V5]+s.Records[netflow.V9]+s.Records[netflow.IPFIX] >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the rest of the replay
}
