package itest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Nfcapd is a running nfcapd collecting on 127.0.0.1:Port into a
// directory.
type Nfcapd struct {
	Port int
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
	err  error
}

// StartNfcapd starts the nfcapd at path writing into dir, with extra
// arguments (for example "-B", "4000000"), on a free loopback port, and
// waits until it has bound the port. A start that exits or does not bind
// within 10 s is retried on a new port, twice; the third failure fails t
// with nfcapd's own output. The process is killed when t ends, if Stop
// has not been called.
func StartNfcapd(t testing.TB, path, dir string, extra ...string) *Nfcapd {
	t.Helper()
	var why string
	for attempt := 0; attempt < 3; attempt++ {
		why = ""
		port := freeUDPPort(t)
		args := append([]string{"-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600"}, extra...)
		n := &Nfcapd{Port: port, cmd: exec.Command(path, args...), log: &lockedBuffer{}, done: make(chan struct{})}
		n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
		if err := n.cmd.Start(); err != nil {
			t.Fatalf("nfcapd: %v", err)
		}
		go func() { n.err = n.cmd.Wait(); close(n.done) }()
		t.Cleanup(func() { _ = n.cmd.Process.Kill(); <-n.done })
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-n.done:
				why = "exited (" + errString(n.err) + "): " + n.log.String()
				deadline = time.Time{}
				continue
			default:
			}
			if udpBound(port) {
				return n
			}
			time.Sleep(20 * time.Millisecond)
		}
		if why == "" {
			why = "did not bind within 10 s: " + n.log.String()
			_ = n.cmd.Process.Kill()
			<-n.done
		}
		t.Logf("nfcapd attempt %d on 127.0.0.1:%d %s", attempt+1, port, why)
	}
	t.Fatalf("nfcapd could not be started: %s", why)
	return nil
}

// Stop sends SIGTERM, on which nfcapd writes and closes its file, and
// waits for it to exit. It returns nfcapd's output.
func (n *Nfcapd) Stop() (string, error) {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	return n.log.String(), n.err
}

func errString(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// udpBound reports whether a socket holds 127.0.0.1:port, from
// /proc/net/udp. It does not probe by binding: a probe holding the port
// for a moment makes a collector starting at that moment fail to bind and
// exit.
func udpBound(port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	return bytes.Contains(b, fmt.Appendf(nil, " 0100007F:%04X ", port))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
