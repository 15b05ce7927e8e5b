package exporttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch/internal/itest"
)

// namespacePrefix starts the name of every namespace the helpers create.
const namespacePrefix = "pwtest-"

// created holds the names of the namespaces the helpers created and have
// not deleted yet: the only places Run and Do act in.
var created struct {
	sync.Mutex
	names map[string]bool
}

// A Namespace is a network namespace that the test created: the only
// place where these helpers apply firewall rules, run programs or open
// sockets. The zero Namespace, or one whose namespace is gone, refuses
// everything.
type Namespace struct {
	name string
}

// NewNamespace creates a network namespace named pwtest-<random hex> and
// deletes it when t ends. It skips t (or fails it when PROXYWATCH_TEST_REQUIRE
// names "netns") unless the test runs as root with the ip program.
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	ip := itest.Need(t, "ip")
	if os.Geteuid() != 0 {
		itest.Unavailable(t, "netns", "creating network namespaces needs root")
	}
	var b [5]byte
	rand.Read(b[:])
	name := namespacePrefix + hex.EncodeToString(b[:])
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		itest.Unavailable(t, "netns", fmt.Sprintf("ip netns add %s: %v: %s", name, err, bytes.TrimSpace(out)))
	}
	created.Lock()
	if created.names == nil {
		created.names = map[string]bool{}
	}
	created.names[name] = true
	created.Unlock()
	t.Cleanup(func() {
		created.Lock()
		delete(created.names, name)
		created.Unlock()
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, bytes.TrimSpace(out))
		}
	})
	return &Namespace{name: name}
}

// Name returns the namespace's name.
func (ns *Namespace) Name() string { return ns.name }

// check returns an error unless ns is a namespace these helpers created,
// still exists, and is not the namespace the test process runs in.
func (ns *Namespace) check() error {
	if ns == nil || !strings.HasPrefix(ns.name, namespacePrefix) {
		return errors.New("refused: not a namespace the test created")
	}
	created.Lock()
	ok := created.names[ns.name]
	created.Unlock()
	if !ok {
		return fmt.Errorf("refused: namespace %q was not created by this test or is deleted", ns.name)
	}
	var own, theirs syscall.Stat_t
	// The calling thread's namespace, not the process's: the main thread
	// may have been the one a Do goroutine moved (and left parked).
	if err := syscall.Stat("/proc/thread-self/ns/net", &own); err != nil {
		return fmt.Errorf("refused: stat own namespace: %w", err)
	}
	if err := syscall.Stat("/run/netns/"+ns.name, &theirs); err != nil {
		return fmt.Errorf("refused: stat namespace %q: %w", ns.name, err)
	}
	if own.Dev == theirs.Dev && own.Ino == theirs.Ino {
		return fmt.Errorf("refused: namespace %q is the test's own", ns.name)
	}
	return nil
}

// Run runs prog with args inside the namespace (ip netns exec), with
// stdin as its standard input, and returns its combined output. It
// refuses, without running anything, unless ns is a live namespace the
// test created.
func (ns *Namespace) Run(ctx context.Context, stdin []byte, prog string, args ...string) ([]byte, error) {
	if err := ns.check(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, prog}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %w: %s", prog, strings.Join(args, " "), ns.name, err, bytes.TrimSpace(out))
	}
	return out, nil
}

// MustRun is Run that fails t on error.
func (ns *Namespace) MustRun(t testing.TB, stdin []byte, prog string, args ...string) []byte {
	t.Helper()
	out, err := ns.Run(t.Context(), stdin, prog, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Do calls f on an OS thread that has entered the namespace, so that the
// sockets f opens belong to it; they stay in it after Do returns. The
// thread is never returned to the runtime's pool: it exits with the
// goroutine. Do refuses unless ns is a live namespace the test created.
func (ns *Namespace) Do(f func() error) error {
	if err := ns.check(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		// Left locked on purpose: the thread ends with this goroutine
		// instead of carrying the namespace back into the pool.
		runtime.LockOSThread()
		if sysSetns == 0 {
			ch <- fmt.Errorf("enter namespace %q: setns not supported on %s", ns.name, runtime.GOARCH)
			return
		}
		fd, err := syscall.Open("/run/netns/"+ns.name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			ch <- fmt.Errorf("open namespace %q: %w", ns.name, err)
			return
		}
		_, _, errno := syscall.RawSyscall(sysSetns, uintptr(fd), syscall.CLONE_NEWNET, 0)
		syscall.Close(fd)
		if errno != 0 {
			ch <- fmt.Errorf("enter namespace %q: %w", ns.name, errno)
			return
		}
		ch <- f()
	}()
	return <-ch
}

// A Link is two namespaces joined by a veth pair: a client, whose
// addresses the test adds, and a server listening on TCP at ServerV4 and
// ServerV6. Every route is on-link, so the client may use any source
// address. Firewall rules go into Server.
type Link struct {
	Client, Server     *Namespace
	ServerV4, ServerV6 netip.AddrPort
	clientMAC          string
}

// Server addresses of a Link.
var (
	linkServerV4 = netip.MustParseAddr("192.0.2.1")
	linkServerV6 = netip.MustParseAddr("2001:db8:ffff::1")
)

// NewLink creates a Link; it skips t as NewNamespace does.
func NewLink(t testing.TB) *Link {
	t.Helper()
	l := &Link{Client: NewNamespace(t), Server: NewNamespace(t)}
	noDAD := []string{"-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"}
	l.Client.MustRun(t, nil, "sysctl", noDAD...)
	l.Server.MustRun(t, nil, "sysctl", noDAD...)
	l.Client.MustRun(t, nil, "ip", "link", "add", "pwc", "type", "veth", "peer", "name", "pws", "netns", l.Server.name)
	for _, c := range [][]string{
		{"link", "set", "lo", "up"}, {"link", "set", "pwc", "up"},
		{"route", "add", "default", "dev", "pwc"}, {"-6", "route", "add", "default", "dev", "pwc"},
	} {
		l.Client.MustRun(t, nil, "ip", c...)
	}
	for _, c := range [][]string{
		{"link", "set", "lo", "up"}, {"link", "set", "pws", "up"},
		{"addr", "add", linkServerV4.String() + "/32", "dev", "pws"},
		{"-6", "addr", "add", linkServerV6.String() + "/128", "dev", "pws", "nodad"},
		{"route", "add", "default", "dev", "pws"}, {"-6", "route", "add", "default", "dev", "pws"},
	} {
		l.Server.MustRun(t, nil, "ip", c...)
	}
	// Neighbours are static: a dropped neighbour solicitation from a
	// listed source must not leave the link unresolved for the others.
	l.clientMAC = mac(t, l.Client, "pwc")
	serverMAC := mac(t, l.Server, "pws")
	for _, a := range []netip.Addr{linkServerV4, linkServerV6} {
		l.Client.MustRun(t, nil, "ip", "neigh", "replace", a.String(), "lladdr", serverMAC, "dev", "pwc", "nud", "permanent")
	}
	for _, a := range []netip.Addr{linkServerV4, linkServerV6} {
		var ln net.Listener
		err := l.Server.Do(func() (err error) {
			ln, err = net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
			return err
		})
		if err != nil {
			t.Fatalf("listen in %s: %v", l.Server.name, err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ap := netip.MustParseAddrPort(ln.Addr().String())
		if a.Is4() {
			l.ServerV4 = ap
		} else {
			l.ServerV6 = ap
		}
	}
	return l
}

// AddClient gives the client the address a (a /32 or /128), to connect
// from.
func (l *Link) AddClient(t testing.TB, a netip.Addr) {
	t.Helper()
	if a.Is4() {
		l.Client.MustRun(t, nil, "ip", "addr", "add", a.String()+"/32", "dev", "pwc")
	} else {
		l.Client.MustRun(t, nil, "ip", "-6", "addr", "add", a.String()+"/128", "dev", "pwc", "nodad")
	}
	l.Server.MustRun(t, nil, "ip", "neigh", "replace", a.String(), "lladdr", l.clientMAC, "dev", "pws", "nud", "permanent")
}

// mac returns the hardware address of dev in ns.
func mac(t testing.TB, ns *Namespace, dev string) string {
	t.Helper()
	f := strings.Fields(string(ns.MustRun(t, nil, "ip", "-br", "link", "show", "dev", dev)))
	if len(f) < 3 {
		t.Fatalf("ip -br link show dev %s: %q", dev, f)
	}
	return f[2]
}

// confirmTimeout is how long a second attempt waits before a connection
// counts as dropped.
const confirmTimeout = 1500 * time.Millisecond

// isTimeout reports whether err is a connect timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Connect opens a TCP connection from the client address src to the
// server address of its family, and reports the error, if any, after at
// most timeout. A dropped SYN shows as a timeout.
func (l *Link) Connect(src netip.Addr, timeout time.Duration) error {
	dst := l.ServerV4
	if !src.Is4() {
		dst = l.ServerV6
	}
	return l.Client.Do(func() error {
		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: timeout}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// Blocked reports whether a connection from src to the server fails
// (within 300 ms) while the server is reachable: it fails t when the
// connection fails for another reason than a timeout.
func (l *Link) Blocked(t testing.TB, src netip.Addr) bool {
	t.Helper()
	err := l.Connect(src, 300*time.Millisecond)
	if isTimeout(err) {
		// A loaded machine can take longer than that to answer: a drop
		// is confirmed by a second, longer attempt.
		err = l.Connect(src, confirmTimeout)
	}
	if err == nil {
		return false
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connect from %v: %v, want success or a timeout", src, err)
	}
	return true
}
