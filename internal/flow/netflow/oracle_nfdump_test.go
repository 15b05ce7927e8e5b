package netflow_test

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// nfdumpFormat prints the compared fields, one flow per line.
const nfdumpFormat = "fmt:%ts|%te|%sa|%da|%sp|%dp|%pr|%pkt|%byt"

// nfdumpRecords runs nfdump with args and parses its lines printed in
// nfdumpFormat. Times are printed in UTC.
func nfdumpRecords(t *testing.T, nfdump string, args ...string) []oracleTimed {
	t.Helper()
	cmd := exec.Command(nfdump, append(args, "-q", "-N", "-o", nfdumpFormat)...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nfdump %v: %v: %s", args, err, stderr.Bytes())
	}
	var recs []oracleTimed
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 9 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		var r oracleTimed
		var err error
		ts := func(s string) time.Time {
			v, e := time.Parse("2006-01-02 15:04:05.000", s)
			if e != nil && err == nil {
				err = e
			}
			return v
		}
		u := func(s string) uint64 {
			v, e := strconv.ParseUint(s, 10, 64)
			if e != nil && err == nil {
				err = e
			}
			return v
		}
		r.Start, r.End = ts(f[0]), ts(f[1])
		r.Src, r.Dst = netip.MustParseAddr(f[2]).Unmap(), netip.MustParseAddr(f[3]).Unmap()
		r.SrcPort, r.DstPort = uint16(u(f[4])), nfdumpPort(f[5], u)
		r.Proto = protoByName(f[6])
		r.Packets, r.Bytes = u(f[7]), u(f[8])
		if err != nil {
			t.Fatalf("nfdump line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func protoByName(s string) uint8 {
	switch strings.ToUpper(s) {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "ICMP":
		return 1
	case "ICMP6":
		return 58
	}
	n, _ := strconv.Atoi(s)
	return uint8(n)
}

// oracleTimed is the compared subset with times, at millisecond precision.
type oracleTimed struct {
	Start, End       time.Time
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Packets, Bytes   uint64
}

func timed(r flow.Record) oracleTimed {
	return oracleTimed{r.Start.Truncate(time.Millisecond), r.End.Truncate(time.Millisecond),
		r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto, r.Packets, r.Bytes}
}

// multiset counts records, so that two record sets compare whatever their order.
func multiset(recs []oracleTimed) map[oracleTimed]int {
	m := make(map[oracleTimed]int)
	for _, r := range recs {
		m[r]++
	}
	return m
}

func diffMultisets(t *testing.T, what string, want, got map[oracleTimed]int) {
	t.Helper()
	n := 0
	for r, w := range want {
		if g := got[r]; g != w && n < 10 {
			t.Errorf("%s: %+v: got %d, want %d", what, r, g, w)
			n++
		}
	}
	for r, g := range got {
		if _, ok := want[r]; !ok && n < 10 {
			t.Errorf("%s: unexpected %+v ×%d", what, r, g)
			n++
		}
	}
}

// TestNfdumpOracle replays the nfcapd file with nfreplay as NetFlow v9 and
// v5 to the collector on 127.0.0.1 and compares what it decodes, times
// included, with `nfdump -r` on the file.
func TestNfdumpOracle(t *testing.T) {
	nfdump := itest.Need(t, "nfdump")
	nfreplay := itest.Need(t, "nfreplay")
	file := data(t, "slips-nfdump/test1-malicious.nfdump")
	want := nfdumpRecords(t, nfdump, "-r", file)
	if len(want) != 4593 {
		t.Fatalf("nfdump -r printed %d flows, want the 4,593 the README states", len(want))
	}
	// nfreplay 1.7.1 skips the file's old record layout ("Skip unknown
	// record type 10"): nfdump rewrites it in the current one first.
	conv := filepath.Join(t.TempDir(), "converted.nfcapd")
	if out, err := exec.Command(nfdump, "-r", file, "-w", conv).CombinedOutput(); err != nil {
		t.Fatalf("nfdump -w: %v: %s", err, out)
	}
	for _, v := range []string{"9", "5"} {
		t.Run("v"+v, func(t *testing.T) {
			addr, stop, c := runCollector(t, netflow.DefaultConfig(), nil)
			cmd := exec.Command(nfreplay, "-r", conv, "-H", "127.0.0.1", "-p", strconv.Itoa(addr.Port), "-v", v, "-d", "200")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nfreplay: %v: %s", err, out)
			}
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				s := c.Stats()
				if s.Records[netflow.V9]+s.Records[netflow.V5] >= uint64(len(want)) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			recs := stop()
			got := make([]oracleTimed, len(recs))
			for i, r := range recs {
				got[i] = timed(r)
			}
			if len(got) != len(want) {
				t.Errorf("decoded %d records, want %d", len(got), len(want))
			}
			diffMultisets(t, "nfreplay -v "+v, multiset(want), multiset(got))
			if s := c.Stats(); s.Lost != [3]uint64{} || s.Errors != [7]uint64{} {
				t.Errorf("Stats() lost %v, errors %v, want none", s.Lost, s.Errors)
			}
		})
	}
}

// nfdumpPort parses a port, or ICMP's "type.code", which the decoder
// carries as type<<8|code.
func nfdumpPort(s string, u func(string) uint64) uint16 {
	if typ, code, ok := strings.Cut(s, "."); ok {
		return uint16(u(typ)<<8 | u(code))
	}
	return uint16(u(s))
}
