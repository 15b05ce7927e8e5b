package intel

import (
	"testing"

	"github.com/proxywatch/proxywatch"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		text       string
		want       proxywatch.Kind
		wantTarget bool
	}{
		// Headers and cells from the Black Lotus Labs reports.
		{"C2s used by the 5socks/anyproxy networks:", proxywatch.KindC2, false},
		{"Command and Control Servers:", proxywatch.KindC2, false},
		{"Backconnect C2s", proxywatch.KindBackconnectC2, false},
		{"REM Proxy C2s", proxywatch.KindC2, false},
		{"Router Proxy C2", proxywatch.KindC2, false},
		{"Intermediary Proxies:", proxywatch.KindOpenProxy, false},
		{"Malware Hosting IPs:", proxywatch.KindMalwareHost, false},
		{"SystemBC Malware Hoster", proxywatch.KindMalwareHost, false},
		{"1st stage Payload Servers", proxywatch.KindMalwareHost, false},
		{"Downloader IP", proxywatch.KindMalwareHost, false},
		{"Compromised WordPress site, hosting the payloads", proxywatch.KindMalwareHost, false},
		{"Callback Server", proxywatch.KindC2, false},
		{"Heartbeat server", proxywatch.KindC2, false},
		{"Upstream Controller for Panels", proxywatch.KindC2, false},
		{"Upload server", proxywatch.KindCollector, false},
		{"Data exfiltration collector", proxywatch.KindCollector, false},
		{"IPs conducting brute force attacks", proxywatch.KindBruteForce, false},
		{"Mass scanning hosts", proxywatch.KindScanner, false},
		{"Residential proxy exits", proxywatch.KindResidentialProxy, false},
		{"Tor exit node", proxywatch.KindAnonymizer, false},
		{"anonymization", proxywatch.KindAnonymizer, false},
		{"Bot C2s to find victim DNS server", proxywatch.KindC2, false},
		{"Domains to DDoS from Lua Script", proxywatch.KindUnknown, true},
		{"Targeted IP", proxywatch.KindUnknown, true},
		// Nothing said.
		{"additional infrastructure:", proxywatch.KindUnknown, false},
		{"malicious-activity", proxywatch.KindUnknown, false},
		{"Procured VPSs", proxywatch.KindUnknown, false},
		{"Kad Controlled Network Nodes as of 3/5", proxywatch.KindUnknown, false},
		{"# SystemBC remproxy site", proxywatch.KindUnknown, false}, // "remproxy" is not "proxy"
		{"", proxywatch.KindUnknown, false},
	}
	for _, tc := range tests {
		k, target := Classify(tc.text)
		if k != tc.want || target != tc.wantTarget {
			t.Errorf("Classify(%q) = %v, %v, want %v, %v", tc.text, k, target, tc.want, tc.wantTarget)
		}
		if got := KindFromText(tc.text); got != tc.want {
			t.Errorf("KindFromText(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
