package flowwatch

import (
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDevTrace prints detector features for one simulated run; set
// FLOWWATCH_DEV=scenario:seed[:source[:set=...]].
func TestDevTrace(t *testing.T) {
	spec := os.Getenv("FLOWWATCH_DEV")
	if spec == "" {
		t.Skip("FLOWWATCH_DEV not set")
	}
	parts := strings.Split(spec, ":")
	seed, _ := strconv.ParseUint(parts[1], 10, 64)
	src := "zeek"
	if len(parts) > 2 {
		src = parts[2]
	}
	var set []string
	if len(parts) > 3 {
		set = strings.Split(parts[3], ",")
	}
	run := simulate(t, parts[0], seed, set, "zeek", "ipfix")
	var ss = run.zeek(t)
	if src != "zeek" {
		ss = run.ipfix(t)
	}
	roles := map[netip.Addr]string{}
	for _, h := range run.truth.Hosts {
		for _, s := range h.Spans {
			if roles[s.Addr] != "" && !strings.Contains(roles[s.Addr], string(h.Role)) {
				roles[s.Addr] += "," + string(h.Role)
			} else if roles[s.Addr] == "" {
				roles[s.Addr] = string(h.Role)
				if h.Resembles != "" {
					roles[s.Addr] += "~" + string(h.Resembles)
				}
			}
		}
	}
	last := map[string]string{}
	watch := os.Getenv("FLOWWATCH_ADDR")
	trace := func(det string, a netip.Addr, port uint16, f map[string]float64) {
		if watch != "" && a.String() == watch {
			t.Logf("%s %s %d %v", det, a, port, f)
		}
		if det == "relay" && f["answered"] < 3 || det == "tunnel" && f["up"] < 1e4 {
			return
		}
		keys := make([]string, 0, len(f))
		for k := range f {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%.3g", k, f[k])
		}
		last[fmt.Sprintf("%-9s %-15s %5d %-28s", det, a, port, roles[a])] = b.String()
	}
	res := detect(t, DefaultConfig(), run.truth.Inside, ss, trace)
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Log(k, last[k])
	}
	rep := scoreRun(t, run, res.Findings)
	var b strings.Builder
	rep.WriteTable(&b)
	t.Log("\n" + b.String())
	t.Logf("stats %+v", res.Stats)
	byRole := map[string]int{}
	for _, f := range res.Findings {
		byRole[f.Detector+"/"+string(f.Role)]++
	}
	t.Logf("findings by detector/role: %v", byRole)
	for _, f := range res.Findings {
		if watch != "" && f.Subject.Prefix.Addr().String() == watch {
			t.Logf("finding %s %s conf %d %s..%s %v %v %v %s", f.Detector, f.Role, f.Confidence, f.Start, f.End, f.Counts, f.Scores, f.Reasons, f.Summary)
		}
	}
	spans := map[string]string{}
	for _, h := range run.truth.Hosts {
		for _, s := range h.Spans {
			spans[string(h.Role)+" "+s.Addr.String()] = fmt.Sprintf("%s..%s n=%d", s.Start.Format("02T15:04"), s.End.Format("02T15:04"), s.Events)
		}
	}
	for _, r := range rep.Roles {
		if r.Role == "relay" || r.Role == "backconnect-bot" || r.Role == "bot" {
			for _, m := range r.Missed {
				t.Logf("missed %s %s %s (bot %s)", r.Role, m, spans[string(r.Role)+" "+m.String()], spans["bot "+m.String()])
			}
		}
		if len(r.Wrong) > 0 || len(r.Missed) > 0 {
			t.Logf("%s wrong %v missed %v", r.Role, r.Wrong, r.Missed)
		}
	}
}
