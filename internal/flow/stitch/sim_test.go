package stitch_test

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/sim"
)

// TestAgainstZeek runs the simulator, which writes the same connections
// both as Zeek sees them (conn.log) and as a router exports them (IPFIX,
// cut at a 1-minute active and 15-second idle timeout), stitches the
// export and compares the sessions with Zeek's: endpoints, direction,
// packets and IP bytes each way, start within a second.
func TestAgainstZeek(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	sc, err := sim.LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := sim.Run(t.Context(), sc, sim.Options{OutDir: dir, Outputs: []string{sim.OutZeek, sim.OutIPFIX}}); err != nil {
		t.Fatal(err)
	}
	want := readZeek(t, filepath.Join(dir, sim.OutputFiles[sim.OutZeek]))
	got := stitchPcap(t, filepath.Join(dir, sim.OutputFiles[sim.OutIPFIX]), stitch.DefaultConfig())

	type k struct {
		orig, resp netip.AddrPort
		proto      uint8
	}
	index := map[k][]flow.Session{}
	for _, s := range got {
		kk := k{s.Orig, s.Resp, s.Proto}
		index[kk] = append(index[kk], s)
	}
	var exact, swapped, counts, missing int
	for _, z := range want {
		found := false
		for _, s := range index[k{z.Orig, z.Resp, z.Proto}] {
			if d := s.Start.Sub(z.Start); d < -time.Second || d > time.Second {
				continue
			}
			found = true
			if s.OrigPackets == z.OrigPackets && s.RespPackets == z.RespPackets && s.OrigBytes == z.OrigBytes && s.RespBytes == z.RespBytes {
				exact++
			} else {
				counts++
			}
			break
		}
		if found {
			continue
		}
		for _, s := range index[k{z.Resp, z.Orig, z.Proto}] {
			if d := s.Start.Sub(z.Start); d >= -time.Second && d <= time.Second {
				found = true
				swapped++
				break
			}
		}
		if !found {
			missing++
		}
	}
	n := len(want)
	t.Logf("zeek %d sessions, stitched %d: exact %d (%.2f%%), other counts %d, reversed %d, unmatched %d",
		n, len(got), exact, 100*float64(exact)/float64(n), counts, swapped, missing)
	if float64(exact) < 0.995*float64(n) || missing > 0 {
		t.Errorf("%d of %d Zeek sessions stitched exactly and %d not found, want at least 99.5%% and none", exact, n, missing)
	}
}

func readZeek(t *testing.T, path string) []flow.Session {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := zeek.NewReader(f, zeek.Options{})
	var out []flow.Session
	for {
		s, err := r.ReadSession()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

func stitchPcap(t *testing.T, path string, cfg stitch.Config) []flow.Session {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapread.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rr := netflow.NewReader(pr, path, netflow.Options{})
	s, err := stitch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []flow.Session
	emit := func(x flow.Session) { out = append(out, x) }
	for {
		r, err := rr.ReadRecord()
		if err == io.EOF {
			break
		}
		if _, ok := errors.AsType[*flow.ParseError](err); ok {
			t.Errorf("decode: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		s.Add(&r, emit)
	}
	s.Flush(emit)
	return out
}
