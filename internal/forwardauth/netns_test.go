package forwardauth

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/proxywatch/proxywatch/internal/itest"
)

// The test network: a server namespace and a client namespace joined by a
// veth pair. The client namespace owns one listed and one unlisted
// documentation address, routed through the pair, so that the proxies see
// real non-loopback peers.
const (
	serverAddr   = "192.0.2.1"
	clientLink   = "192.0.2.2"
	listedAddr   = "198.51.100.7"
	unlistedAddr = "203.0.113.9"
)

// testNet is a pair of namespaces the test created and deletes.
type testNet struct {
	server, client string
}

// newTestNet creates the namespaces, or skips t when it cannot (not root,
// no ip).
func newTestNet(t *testing.T) *testNet {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		itest.Unavailable(t, "netns", "creating network namespaces needs root")
	}
	itest.Need(t, "ip")
	b := make([]byte, 3)
	rand.Read(b)
	id := hex.EncodeToString(b)
	n := &testNet{server: "pwtest-" + id + "-s", client: "pwtest-" + id + "-c"}
	for _, ns := range []string{n.server, n.client} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	vs, vc := "pwv"+id+"s", "pwv"+id+"c"
	// The pair is created inside the server namespace with its peer in
	// the client one: the host's own interfaces are never touched.
	ipCmd(t, "-n", n.server, "link", "add", vs, "type", "veth", "peer", "name", vc, "netns", n.client)
	ipCmd(t, "-n", n.server, "link", "set", "lo", "up")
	ipCmd(t, "-n", n.server, "addr", "add", serverAddr+"/24", "dev", vs)
	ipCmd(t, "-n", n.server, "link", "set", vs, "up")
	ipCmd(t, "-n", n.client, "link", "set", "lo", "up")
	ipCmd(t, "-n", n.client, "addr", "add", clientLink+"/24", "dev", vc)
	for _, a := range []string{listedAddr, unlistedAddr} {
		ipCmd(t, "-n", n.client, "addr", "add", a+"/32", "dev", vc)
		ipCmd(t, "-n", n.server, "route", "add", a+"/32", "via", clientLink)
	}
	ipCmd(t, "-n", n.client, "link", "set", vc, "up")
	return n
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// listenIn binds a TCP listener inside the namespace ns. The socket keeps
// its namespace for life, so the server runs in this process while its
// peers live in the namespace.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread never returns to the host namespace: it stays locked
		// and the runtime discards it when this goroutine ends.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if _, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, e)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen in %s: %v", ns, r.err)
	}
	t.Cleanup(func() { r.ln.Close() })
	return r.ln
}

// startIn runs prog with args inside ns until the test ends.
func startIn(t *testing.T, ns string, env []string, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, prog}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prog, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", prog, out.String())
		}
	})
}

// curlFrom requests url from the client namespace with source address
// src, and returns the status and body.
func curlFrom(t *testing.T, n *testNet, src, url string) (int, string) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", n.client, "curl", "-sS", "--max-time", "5",
		"--interface", src, "-w", "\n%{http_code}", url).CombinedOutput()
	if err != nil {
		return 0, string(out)
	}
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndexByte(s, '\n')
	var code int
	fmt.Sscanf(s[i+1:], "%d", &code)
	return code, strings.TrimSpace(s[:max(i, 0)])
}
