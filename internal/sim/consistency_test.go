package sim

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/truth"
)

type zconn struct {
	TS        float64    `json:"ts"`
	Orig      netip.Addr `json:"id.orig_h"`
	OrigPort  uint16     `json:"id.orig_p"`
	Resp      netip.Addr `json:"id.resp_h"`
	RespPort  uint16     `json:"id.resp_p"`
	Proto     string     `json:"proto"`
	Service   string     `json:"service"`
	OrigBytes uint64     `json:"orig_bytes"`
	RespBytes uint64     `json:"resp_bytes"`
	State     string     `json:"conn_state"`
	RespPkts  uint64     `json:"resp_pkts"`
}

func readConns(t *testing.T, path string) []zconn {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []zconn
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c zconn
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b zconn) int {
		switch {
		case a.TS < b.TS:
			return -1
		case a.TS > b.TS:
			return 1
		}
		return 0
	})
	return out
}

func readTruthFile(t *testing.T, path string) *truth.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tf, err := truth.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

func secs(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// TestConsistency checks that the outputs tell one story: the truth's bots
// beacon to C2s in the flows, relayed sessions pair up in time and bytes,
// the collector never answers, and every inside campaign participant's
// login attempt is an outbound session in the flows with the same source
// port as in the sshd log.
func TestConsistency(t *testing.T) {
	dir, _ := runSmoke(t, Options{Outputs: []string{OutZeekJSON, OutSSHD, OutWebJSON, OutTruth}})
	conns := readConns(t, filepath.Join(dir, "conn.json"))
	tf := readTruthFile(t, filepath.Join(dir, "truth.json"))
	byOrig := map[netip.Addr][]zconn{}
	for _, c := range conns {
		byOrig[c.Orig] = append(byOrig[c.Orig], c)
	}
	c2 := map[netip.Addr]bool{}
	var collector netip.Addr
	for _, h := range tf.Hosts {
		switch h.Role {
		case proxywatch.RoleC2:
			c2[h.Spans[0].Addr] = true
		case proxywatch.RoleCollector:
			collector = h.Spans[0].Addr
		}
	}
	if len(c2) != 4 || !collector.IsValid() {
		t.Fatalf("truth has %d C2s and collector %v, want 4 and one", len(c2), collector)
	}
	auth, err := os.ReadFile(filepath.Join(dir, "auth.log"))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[proxywatch.Role]int{}
	for _, h := range tf.Hosts {
		roles[h.Role]++
		for _, s := range h.Spans {
			switch {
			case h.Role == proxywatch.RoleBot:
				found := false
				for _, c := range byOrig[s.Addr] {
					if (c2[c.Resp] || c.Resp == collector) && c.TS >= secs(s.Start)-1e-6 && c.TS <= secs(s.End)+1e-6 {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("bot %s at %s: no session to a C2 or the collector in its span", h.ID, s.Addr)
				}
			case h.Role == proxywatch.RoleCampaign && h.Inside:
				svc := sshAddr
				if strings.HasPrefix(h.Campaign, "web") {
					svc = webAddr
				}
				var got *zconn
				for i, c := range byOrig[s.Addr] {
					if c.Resp == svc && c.TS >= secs(s.Start)-5 && c.TS <= secs(s.Start)+1e-6 {
						got = &byOrig[s.Addr][i]
					}
				}
				if got == nil {
					t.Errorf("campaign participant %s at %s (%s): no session to %s at its attempt", h.ID, s.Addr, s.Start, svc)
					continue
				}
				if svc == sshAddr {
					want := "from " + s.Addr.String() + " port " + itoa(int(got.OrigPort))
					if !strings.Contains(string(auth), want) {
						t.Errorf("auth.log has no line %q for the session in the flows", want)
					}
				}
			}
		}
	}
	for _, r := range []proxywatch.Role{proxywatch.RoleBot, proxywatch.RoleRelay, proxywatch.RoleExposedProxy, proxywatch.RoleC2,
		proxywatch.RoleCollector, proxywatch.RoleCampaign, proxywatch.RoleBruteForcer, proxywatch.RoleBenignLookalike} {
		if roles[r] == 0 {
			t.Errorf("the smoke truth has no %s", r)
		}
	}
	// Every relayed session pairs with the bot's outbound one.
	pairs := 0
	for _, in := range conns {
		if in.Service != "socks" || in.OrigBytes <= socksUp {
			continue
		}
		ok := false
		for _, out := range byOrig[in.Resp] {
			d := out.TS - in.TS
			if d >= 0.019 && d <= 0.401 && out.OrigBytes+socksUp == in.OrigBytes && out.RespBytes+socksDown == in.RespBytes {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("relayed session %+v has no matching outbound session", in)
		}
		pairs++
	}
	if pairs < 50 {
		t.Errorf("only %d relayed sessions", pairs)
	}
	for _, c := range conns {
		if c.Resp == collector && (c.Proto != "udp" || c.RespPkts != 0 || c.State != "S0") {
			t.Errorf("collector session %+v is not a one-way UDP datagram", c)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestScenariosRun runs every built-in scenario at the small size.
func TestScenariosRun(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode")
	}
	want := map[string][]proxywatch.Role{
		"5socks":   {proxywatch.RoleBot, proxywatch.RoleRelay, proxywatch.RoleC2, proxywatch.RoleCollector, proxywatch.RoleCampaign},
		"nsocks":   {proxywatch.RoleBot, proxywatch.RoleBackconnectBot, proxywatch.RoleBackconnectC2, proxywatch.RoleCampaign},
		"baseline": {proxywatch.RoleBenignLookalike},
		"smoke":    {proxywatch.RoleBot, proxywatch.RoleRelay},
	}
	for _, in := range Scenarios() {
		t.Run(in.Name, func(t *testing.T) {
			sc, err := LoadScenario(in.Name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			sum, err := Run(t.Context(), sc, Options{OutDir: dir, Outputs: allOutputs})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range sum.Files {
				if f.Bytes == 0 {
					t.Errorf("%s is empty", f.Name)
				}
			}
			tf := readTruthFile(t, filepath.Join(dir, "truth.json"))
			have := map[proxywatch.Role]bool{}
			for _, h := range tf.Hosts {
				have[h.Role] = true
			}
			for _, r := range want[in.Name] {
				if !have[r] {
					t.Errorf("truth of %s has no %s", in.Name, r)
				}
			}
			if in.Name == "baseline" && len(have) != 1 {
				t.Errorf("baseline truth has roles %v, want look-alikes only", have)
			}
		})
	}
}
