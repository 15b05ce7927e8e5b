package flowwatch

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/itest"
	"github.com/proxywatch/proxywatch/internal/labels"
)

// labInside are the inside prefixes of the laboratory captures: private
// ranges and CTU's network.
var labInside = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("147.32.0.0/16")}

// labelledCapture is one labelled capture and its score.
type labelledCapture struct {
	name, rel string
}

var labelledCaptures = []labelledCapture{
	{"IoT-23 34-1 (Mirai)", "botnet-flows/iot23-CTU-IoT-Malware-Capture-34-1/conn.log.labeled"},
	{"IoT-23 21-1 (Torii)", "botnet-flows/iot23-pipe-csv/CTU-IoT-Malware-Capture-21-1conn.log.labeled.csv"},
	{"IoT-23 42-1 (Trojan)", "botnet-flows/iot23-pipe-csv/CTU-IoT-Malware-Capture-42-1conn.log.labeled.csv"},
	{"Stratosphere 008 (CTU-Normal-40, no C&C)", "botnet-flows/stratosphere-security-datasets/008-zeek-mixed/data/conn.log.labeled"},
}

// labelledScore runs the detectors, as shipped, over one capture and
// scores them against its C&C labels: by flow and by destination address,
// with every finding and with C2 findings alone.
func labelledScore(t *testing.T, c labelledCapture) (all, c2only eval.Report, findings []proxywatch.Finding) {
	t.Helper()
	path := itest.Data(t, c.rel)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var key bytes.Buffer
	if _, _, err := labels.Convert(bytes.NewReader(raw), c.rel, &key, labels.Options{Only: []string{"C&C"}}); err != nil {
		t.Fatalf("convert %s: %v", c.rel, err)
	}
	ss := readSessions(t, zeek.NewReader(bytes.NewReader(raw), zeek.Options{Name: c.rel}))
	// The captures are sorted by start; sessions come to the detectors as
	// Zeek writes them live, when they end.
	slices.SortStableFunc(ss, func(a, b flow.Session) int { return a.End().Compare(b.End()) })
	res := detect(t, DefaultConfig(), labInside, ss, nil)
	var c2 []proxywatch.Finding
	for _, f := range res.Findings {
		if f.Role == proxywatch.RoleC2 {
			c2 = append(c2, f)
		}
	}
	score := func(fs []proxywatch.Finding) eval.Report {
		rep, err := eval.Score(bytes.NewReader(key.Bytes()), bytes.NewReader(findingsJSON(t, fs)), eval.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	return score(res.Findings), score(c2), res.Findings
}

func roleRow(r eval.Report, role proxywatch.Role) eval.RoleScore {
	for _, x := range r.Roles {
		if x.Role == role {
			return x
		}
	}
	return eval.RoleScore{Role: role}
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

// TestLabelledCaptures scores the detectors against the C&C labels of the
// labelled captures in ../shared/data/botnet-flows. The single-host
// captures can only be caught by the per-pair beacon detector.
func TestLabelledCaptures(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "| capture | C&C flows | C&C addresses | by address: found / flagged c2 | by flow (c2 findings): precision, recall | by flow (all findings): precision, recall |\n|---|---|---|---|---|---|\n")
	for _, c := range labelledCaptures {
		t.Run(c.name, func(t *testing.T) {
			all, c2, fs := labelledScore(t, c)
			row := roleRow(c2, proxywatch.RoleC2)
			fmt.Fprintf(&b, "| %s | %d | %d | %d / %d | %s, %s | %s, %s |\n", c.name, c2.Flows.Malicious, row.Truth,
				row.TP, row.Flagged, pct(c2.Flows.Precision), pct(c2.Flows.Recall), pct(all.Flows.Precision), pct(all.Flows.Recall))
			for _, f := range fs {
				t.Logf("%s %s %s conf %d: %s", f.Detector, f.Role, f.Subject, f.Confidence, f.Summary)
			}
			if strings.Contains(c.name, "34-1") && (row.TP != 1 || row.FP != 0) {
				t.Errorf("34-1: c2 by address = %+v, want the C&C server found and nothing else", row)
			}
		})
	}
	t.Log("\n" + b.String())
}
