package dnsbl

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// exchangeAll asks every question over UDP, pipelined, asks those lost
// again, and finally asks over TCP when tcp is set (rbldnsd has no TCP:
// it gets more UDP attempts instead).
func exchangeAll(t *testing.T, udp, tcp string, qs []dns.Question) []*dns.Msg {
	t.Helper()
	out := make([]*dns.Msg, len(qs))
	conn, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const batch = 64
	for attempt := 0; attempt < 5; attempt++ {
		var todo []int
		for i := range qs {
			if out[i] == nil {
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 {
			break
		}
		for start := 0; start < len(todo); start += batch {
			part := todo[start:min(start+batch, len(todo))]
			for j, i := range part {
				m := &dns.Msg{Question: []dns.Question{qs[i]}}
				m.Id = uint16(j)
				b, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			buf := make([]byte, 4096)
			conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
			for got := 0; got < len(part); got++ {
				n, err := conn.Read(buf)
				if err != nil {
					break
				}
				m := new(dns.Msg)
				if m.Unpack(buf[:n]) != nil || int(m.Id) >= len(part) ||
					len(m.Question) != 1 || m.Question[0] != qs[part[m.Id]] {
					got-- // a late answer to an earlier batch
					continue
				}
				if m.Truncated {
					continue // asked again, over TCP when there is TCP
				}
				out[part[m.Id]] = m
			}
		}
		if attempt == 1 && tcp != "" {
			c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
			for i := range qs {
				if out[i] == nil {
					m, _, err := c.Exchange(&dns.Msg{Question: []dns.Question{qs[i]}}, tcp)
					if err == nil && !m.Truncated {
						out[i] = m
					}
				}
			}
		}
	}
	for i, m := range out {
		if m == nil {
			t.Fatalf("%s %s: no answer from %s after 5 attempts", qs[i].Name, dns.TypeToString[qs[i].Qtype], udp)
		}
	}
	return out
}

// readableTempDir returns a temporary directory that rbldnsd, running as
// an unprivileged user, can read.
func readableTempDir(t *testing.T) string {
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(d) == os.TempDir() {
			break
		}
	}
	return dir
}

// startRbldnsd runs rbldnsd on a free loopback port until the test ends
// and returns its address. rbldnsd refuses to run as root, so as root it
// runs as the rbldns user the Debian package creates, or nobody.
func startRbldnsd(t *testing.T, bin, dir string, zones []string) string {
	t.Helper()
	for try := 0; try < 5; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		args := []string{"-n", "-b", "127.0.0.1/" + strconv.Itoa(port), "-w", dir, "-c", "0", "-t", "300"}
		if os.Geteuid() == 0 {
			u := "rbldns"
			if _, err := user.Lookup(u); err != nil {
				u = "nobody"
			}
			args = append(args, "-u", u)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, append(args, zones...)...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start rbldnsd: %v", err)
		}
		started := make(chan bool, 1)
		logged := make(chan string, 1)
		go func() {
			var log strings.Builder
			sc := bufio.NewScanner(out)
			ok := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if !ok && strings.Contains(sc.Text(), " started ") {
					ok = true
					started <- true
				}
			}
			if !ok {
				started <- false
			}
			logged <- log.String()
		}()
		select {
		case ok := <-started:
			if ok {
				t.Cleanup(func() { cancel(); cmd.Wait() })
				return "127.0.0.1:" + strconv.Itoa(port)
			}
		case <-time.After(30 * time.Second):
		}
		cancel()
		cmd.Wait()
		if log := <-logged; !strings.Contains(log, "in use") {
			t.Fatalf("rbldnsd did not start:\n%s", log)
		}
	}
	t.Fatal("rbldnsd: no free port after 5 tries")
	return ""
}
