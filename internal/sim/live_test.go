package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/proxywatch/proxywatch/internal/itest"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"127.0.0.1:2055", "127.0.0.1:2055", true},
		{"127.9.9.9:4739", "127.9.9.9:4739", true},
		{"[::1]:9995", "[::1]:9995", true},
		{"localhost:2055", "127.0.0.1:2055", true},
		{"[::ffff:127.0.0.1]:2055", "[::ffff:127.0.0.1]:2055", true},
		{"192.0.2.1:2055", "", false},
		{"198.18.255.2:2055", "", false},
		{"[2001:db8::1]:2055", "", false},
		{"collector.example:2055", "", false},
		{"127.0.0.1:0", "", false},
		{"127.0.0.1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := LoopbackAddr(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("LoopbackAddr(%q) = %v, %v; want ok %v", tc.in, got, err, tc.ok)
			}
			if tc.ok && got.String() != tc.want {
				t.Errorf("LoopbackAddr(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// listen counts the datagrams arriving on a loopback UDP socket and
// checks their version field.
func listen(t *testing.T, version uint16) (addr string, stop func() (int, int)) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	var mu sync.Mutex
	n, bad := 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			n++
			if k < 2 || binary.BigEndian.Uint16(buf) != version {
				bad++
			}
			mu.Unlock()
		}
	}()
	return c.LocalAddr().String(), func() (int, int) {
		time.Sleep(200 * time.Millisecond)
		c.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return n, bad
	}
}

func TestLive(t *testing.T) {
	for _, v := range []int{9, 10} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			addr, stop := listen(t, uint16(v))
			sc, err := LoadScenario("smoke")
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Run(t.Context(), sc, Options{Live: &LiveOptions{Addr: addr, Rate: 50000, Version: v}})
			if err != nil {
				t.Fatal(err)
			}
			got, bad := stop()
			if sum.LiveSent == 0 || int64(got) != sum.LiveSent || bad != 0 {
				t.Errorf("Run(live v%d) sent %d datagrams, the listener got %d (%d not v%d)", v, sum.LiveSent, got, bad, v)
			}
			if len(sum.Files) != 0 {
				t.Errorf("live-only run wrote files: %v", sum.Files)
			}
		})
	}
}

func TestLivePacedAndCancelled(t *testing.T) {
	addr, stop := listen(t, 10)
	defer stop()
	sc, err := LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	sum, err := Run(ctx, sc, Options{Live: &LiveOptions{Addr: addr, Rate: 100}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run(rate 100, 300ms) = %+v, %v; want the context's error", sum, err)
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("Run took %s to stop", el)
	}
}

// TestLiveNfcapd sends the smoke scenario's IPFIX export live, paced, to a
// private nfcapd on loopback and reads it back with nfdump.
func TestLiveNfcapd(t *testing.T) {
	nfcapd := itest.Need(t, "nfcapd")
	nfdump := itest.Need(t, "nfdump")
	dir := t.TempDir()
	capd := itest.StartNfcapd(t, nfcapd, dir, "-B", "4000000")
	port := capd.Port
	sc, err := LoadScenario("smoke")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(t.Context(), sc, Options{Live: &LiveOptions{Addr: fmt.Sprintf("127.0.0.1:%d", port), Rate: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	log, _ := capd.Stop()
	out, err := exec.CommandContext(t.Context(), nfdump, "-R", dir, "-q", "-o", "line").Output()
	if err != nil {
		t.Fatalf("nfdump: %v", err)
	}
	got := strings.Count(strings.TrimSpace(string(out)), "\n") + 1
	if int64(got) != sum.FlowRecords {
		t.Errorf("nfdump reads %d flows sent live, the simulator exported %d (%s)", got, sum.FlowRecords, log)
	}
	t.Logf("live IPFIX at 5000 datagrams/s: %d datagrams, nfdump read %d of %d flows", sum.LiveSent, got, sum.FlowRecords)
}
