package sim

import (
	"github.com/proxywatch/proxywatch/internal/itest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPeerParsers feeds the sshd log to the parsers of fail2ban (the stock
// sshd filter) and sshguard: both must see the brute forcer and every ssh
// campaign participant, and fail2ban must miss no failure line.
func TestPeerParsers(t *testing.T) {
	dir, _ := runSmoke(t, Options{Outputs: []string{OutSSHD, OutTruth}})
	tf := readTruthFile(t, dir+"/truth.json")
	want := map[string]bool{}
	for _, h := range tf.Hosts {
		if h.Role == "brute-forcer" || (h.Role == "campaign" && strings.HasPrefix(h.Campaign, "ssh")) {
			for _, s := range h.Spans {
				want[s.Addr.String()] = true
			}
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d ssh attackers in the truth", len(want))
	}
	check := func(tool string, out []byte, field int) {
		got := map[string]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > field {
				got[f[field]] = true
			}
		}
		for a := range want {
			if !got[a] {
				t.Errorf("%s does not see attacker %s", tool, a)
			}
		}
		t.Logf("%s sees %d addresses; the truth has %d ssh attackers", tool, len(got), len(want))
	}
	t.Run("fail2ban", func(t *testing.T) {
		f2b := itest.Need(t, "fail2ban-regex")
		out, err := exec.CommandContext(t.Context(), f2b, "-o", "<ip>", dir+"/auth.log", "sshd").Output()
		if err != nil {
			t.Fatalf("fail2ban-regex: %v", err)
		}
		check("fail2ban-regex", out, 0)
		missed, err := exec.CommandContext(t.Context(), f2b, "--print-all-missed", dir+"/auth.log", "sshd").Output()
		if err != nil {
			t.Fatalf("fail2ban-regex: %v", err)
		}
		for _, l := range strings.Split(string(missed), "\n") {
			if !strings.Contains(l, " sshd[") {
				continue // the summary, not a missed line
			}
			for _, s := range []string{"Failed password", "Invalid user", "maximum authentication", "authentication failure;"} {
				if strings.Contains(l, s) && !strings.Contains(l, "PAM ") {
					t.Errorf("fail2ban's sshd filter misses %q", strings.TrimSpace(l))
				}
			}
		}
	})
	t.Run("sshguard", func(t *testing.T) {
		p := "/usr/libexec/sshguard/sshg-parser"
		if _, err := os.Stat(p); err != nil {
			itest.Need(t, "sshg-parser")
		}
		in, err := os.Open(dir + "/auth.log")
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		cmd := exec.CommandContext(t.Context(), p)
		cmd.Stdin = in
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sshg-parser: %v", err)
		}
		check("sshg-parser", out, 1)
	})
}
