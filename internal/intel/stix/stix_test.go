package stix

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

func TestReaderFixtures(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		want        []result
		wantSkipped map[string]int
	}{
		{
			name: "stix 2.1 bundle",
			file: "bundle21.json",
			want: []result{
				{Line: 2, Subject: "192.0.2.10/32", Kind: "c2"},
				{Line: 3, Subject: "198.51.100.7/32", Kind: "anonymizer"},
				{Line: 3, Subject: "2001:db8::7/128", Kind: "anonymizer"},
				{Line: 3, Subject: "proxy.example.org", Kind: "anonymizer"},
				{Line: 4, Subject: "203.0.113.0/25", Kind: "brute-force"},
				{Line: 4, Subject: "192.0.2.20/32", Kind: "brute-force"},
				{Line: 4, Subject: "192.0.2.21/32", Kind: "brute-force"},
				{Line: 5, Subject: "198.51.100.9/32", Kind: "unknown", Port: 1080, Proto: "tcp"},
				{Line: 6, Reason: "refused:unsupported"},              // address AND file hash
				{Line: 7, Reason: "excluded:hash"},                    // hash only
				{Line: 8, Reason: "excluded:other-type"},              // url only
				{Line: 9, Reason: "refused:unsupported"},              // REPEATS
				{Line: 10, Subject: "192.0.2.41/32", Kind: "unknown"}, // WITHIN on one observation
				{Line: 11, Reason: "refused:unsupported"},             // FOLLOWEDBY
				{Line: 12, Reason: "refused:bad-address"},             // 192.0.2.300 ...
				{Line: 12, Subject: "192.0.2.43/32", Kind: "unknown"}, // ... OR a good one
				{Line: 13, Reason: "refused:syntax"},
				{Line: 14, Reason: "refused:unsupported"}, // snort
				{Line: 15, Reason: "excluded:revoked"},
				{Line: 16, Reason: "excluded:benign"},
				{Line: 17, Reason: "refused:bad-value"},   // confidence 250
				{Line: 18, Reason: "refused:unsupported"}, // src_ref with dst_port
				{Line: 19, Reason: "refused:bad-value"},   // valid_from
				{Line: 22, Reason: "refused:bad-value"},   // labels is a number
			},
			wantSkipped: map[string]int{"identity": 1, "ipv4-addr": 1, "relationship": 1},
		},
		{
			name: "stix 2.0 bundle",
			file: "bundle20.json",
			want: []result{
				{Line: 2, Subject: "192.0.2.6/32", Kind: "unknown"},
				{Line: 3, Reason: "refused:bad-address"}, // ipv6-addr type with an IPv4 value
			},
			wantSkipped: map[string]int{"report": 1, "observed-data": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd := open(t, filepath.Join("testdata", tc.file))
			got := results(t, rd)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read() results mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSkipped, rd.Skipped()); diff != "" {
				t.Errorf("Skipped() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderFields(t *testing.T) {
	rd := open(t, filepath.Join("testdata", "bundle21.json"))
	ind, err := rd.Read()
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	want := proxywatch.Indicator{
		Subject:    proxywatch.AddrSubject(mustAddr(t, "192.0.2.10")),
		Kind:       proxywatch.KindC2,
		Source:     proxywatch.Source{Feed: "bundle21.json", Line: 2},
		Confidence: 85,
		Tags:       []string{"malicious-activity"},
		Comment:    "IP Address for known C2 channel",
		FirstSeen:  time.Date(2024, 5, 8, 9, 0, 0, 0, time.UTC),
		Expires:    time.Date(2025, 5, 8, 9, 0, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, ind, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Read() mismatch (-want +got):\n%s", diff)
	}
}

func TestReaderDocuments(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []result
		wantErr string // a final error containing this, or "" for io.EOF
	}{
		{name: "empty bundle", input: `{"type":"bundle","id":"bundle--1"}`},
		{name: "empty objects", input: `{"type":"bundle","objects":[],"id":"bundle--1"}`},
		{name: "objects before type", input: `{"objects":[{"type":"indicator","pattern":"[ipv4-addr:value='192.0.2.1']"}],"type":"bundle"}`,
			want: []result{{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown"}}},
		{name: "bare array", input: `[{"type":"indicator","pattern":"[domain-name:value='c2.example.com']"}]`,
			want: []result{{Line: 1, Subject: "c2.example.com", Kind: "unknown"}}},
		{name: "array element not an object", input: `{"type":"bundle","objects":[3,{"type":"malware"}]}`,
			want: []result{{Line: 1, Reason: "refused:bad-value"}}},
		{name: "not a bundle", input: `{"type":"indicator","pattern":"[ipv4-addr:value='192.0.2.1']"}`, wantErr: "not a bundle"},
		{name: "truncated", input: `{"type":"bundle","objects":[{"type":"indicator","pattern":"[ipv4-addr:value='192.0.2.1']"}`,
			want: []result{{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown"}}, wantErr: "unexpected EOF"},
		{name: "not json", input: `hello`, wantErr: "invalid character"},
		{name: "empty", input: ``, wantErr: "empty document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tc.input), intel.Options{Name: "doc"})
			if err != nil {
				t.Fatal(err)
			}
			var got []result
			var final error
			for {
				ind, err := rd.Read()
				if err != nil {
					if pe, ok := err.(*intel.ParseError); ok {
						what := "refused:"
						if pe.Excluded {
							what = "excluded:"
						}
						got = append(got, result{Line: pe.Line, Reason: what + pe.Reason})
						continue
					}
					final = err
					break
				}
				got = append(got, result{Line: ind.Source.Line, Subject: ind.Subject.String(), Kind: ind.Kind.String()})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read() results mismatch (-want +got):\n%s", diff)
			}
			switch {
			case tc.wantErr == "" && final.Error() != "EOF":
				t.Errorf("final Read() = %v, want io.EOF", final)
			case tc.wantErr != "" && !strings.Contains(final.Error(), tc.wantErr):
				t.Errorf("final Read() = %v, want an error containing %q", final, tc.wantErr)
			}
			if _, err := rd.Read(); err != final {
				t.Errorf("Read() after the end = %v, want %v again", err, final)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	_, err := NewReader(strings.NewReader(""), intel.Options{Params: map[string]string{"columns": "1"}})
	if err == nil {
		t.Errorf("NewReader(params columns) = nil error, want an unknown-param error")
	}
}

// TestRealData reads the STIX bundles of ../shared/data/stix-misp in place.
//
// The expected numbers were derived outside this reader:
//   - Talos 2024-04 brute-force bundle: `grep -o '"type": "indicator"' | wc -l`
//     gives 3926, and every pattern is the network-traffic dst_ref form
//     (`grep -c` of "dst_ref.value" on the one-line file's objects, checked
//     with a Python json walk), so all 3926 are accepted; the other objects
//     are 1 identity, 1 report, 1 observed-data.
//   - Talos 2025-04 XorDDoS: 176 indicators by their misp:type labels:
//     171 ip-dst and 3 hostname accepted, 2 sha256 excluded as hash.
//   - OASIS examples, by reading each pattern: the APT1 report has 4 CIDR
//     and 3 domain indicators, 3 MD5 hashes and 2 x509 certificates; Poison
//     Ivy has 64 distinct ipv4/domain values over its ORs (a Python regex
//     over the patterns), one of which, "domain autuo.xicp.net", is not a
//     domain, and 2 file:name patterns.
func TestRealData(t *testing.T) {
	dir := itest.Data(t, "stix-misp")
	tests := []struct {
		file         string
		accepted     int
		excluded     map[string]int
		refused      map[string]int
		skipped      map[string]int
		kinds        map[string]int
		wantSubjects []string // a sample that must be present
	}{
		{
			file:         "cisco-talos-iocs/2024/04/large-scale-brute-force-activity-targeting-vpns-ssh-services-with-commonly-used-login-credentials.json",
			accepted:     3926,
			skipped:      map[string]int{"identity": 1, "report": 1, "observed-data": 1},
			kinds:        map[string]int{"unknown": 3926},
			wantSubjects: []string{"23.155.24.6/32", "103.175.51.137/32"},
		},
		{
			file:         "cisco-talos-iocs/2025/04/new_XorDDoS_controller_and_infrastructure.json",
			accepted:     174,
			excluded:     map[string]int{"hash": 2},
			skipped:      map[string]int{"identity": 1, "report": 1, "observed-data": 1, "tool": 1, "attack-pattern": 6, "marking-definition": 1},
			kinds:        map[string]int{"unknown": 174},
			wantSubjects: []string{"47.42.59.162/32"},
		},
		{
			file:         "oasis-cti-stix2-json-schemas/examples/indicator-for-c2-ip-address.json",
			accepted:     1,
			kinds:        map[string]int{"c2": 1},
			wantSubjects: []string{"10.0.0.0/32"},
		},
		{
			file:     "oasis-cti-stix2-json-schemas/examples/indicators-for-C2-with-COA.json",
			accepted: 1,
			excluded: map[string]int{"hash": 1},
			skipped:  map[string]int{"identity": 1, "malware": 1, "course-of-action": 1, "relationship": 3},
			kinds:    map[string]int{"c2": 1},
		},
		{
			file:    "oasis-cti-stix2-json-schemas/examples/infrastructure.json",
			skipped: map[string]int{"infrastructure": 2, "relationship": 4, "malware": 2, "ipv4-addr": 1, "domain-name": 1},
		},
		{
			file:     "oasis-cti-stix2-json-schemas/examples/threat-reports/apt1.json",
			accepted: 7,
			excluded: map[string]int{"hash": 3, "other-type": 2},
			skipped: map[string]int{"relationship": 30, "tool": 10, "attack-pattern": 7, "malware": 6,
				"threat-actor": 5, "identity": 4, "intrusion-set": 1, "report": 1},
			kinds:        map[string]int{"unknown": 7},
			wantSubjects: []string{"223.166.0.0/15", "hugesoft.org"},
		},
		{
			file:     "oasis-cti-stix2-json-schemas/examples/threat-reports/poisonivy.json",
			accepted: 64,
			excluded: map[string]int{"other-type": 2},
			refused:  map[string]int{"bad-address": 1},
			skipped: map[string]int{"relationship": 90, "malware": 25, "vulnerability": 6, "campaign": 3,
				"attack-pattern": 3, "identity": 1, "course-of-action": 1, "report": 1},
			kinds:        map[string]int{"unknown": 64},
			wantSubjects: []string{"219.76.208.163/32", "60.10.1.115/32", "www.webserver.dynssl.com"},
		},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			rd := open(t, filepath.Join(dir, tc.file))
			inds, errs := inteltest.Drain(t, rd)
			want := inteltest.Counts{Accepted: tc.accepted, Excluded: tc.excluded, Refused: tc.refused}
			if diff := cmp.Diff(want, inteltest.Count(inds, errs)); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.skipped, nilIfEmpty(rd.Skipped())); diff != "" {
				t.Errorf("Skipped() mismatch (-want +got):\n%s", diff)
			}
			kinds := map[string]int{}
			have := map[string]bool{}
			for _, ind := range inds {
				kinds[ind.Kind.String()]++
				have[ind.Subject.String()] = true
				if ind.Source.Feed != filepath.Base(tc.file) || ind.Source.Line <= 0 || ind.FirstSeen.IsZero() {
					t.Errorf("indicator %v: source %v, first seen %v, want the file, an ordinal and valid_from", ind.Subject, ind.Source, ind.FirstSeen)
				}
			}
			if diff := cmp.Diff(tc.kinds, nilIfEmpty(kinds)); diff != "" {
				t.Errorf("kinds mismatch (-want +got):\n%s", diff)
			}
			for _, s := range tc.wantSubjects {
				if !have[s] {
					t.Errorf("subject %s missing", s)
				}
			}
		})
	}
}

// TestTalosAddresses checks that every address the Talos text twin lists
// comes out of the STIX bundle, and nothing else: the .txt file is an
// independent rendering of the same report.
func TestTalosAddresses(t *testing.T) {
	base := filepath.Join(itest.Data(t, filepath.Join("stix-misp", "cisco-talos-iocs")), "2024", "04",
		"large-scale-brute-force-activity-targeting-vpns-ssh-services-with-commonly-used-login-credentials")
	text, err := os.ReadFile(base + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, line := range strings.Split(intel.Refang(string(text)), "\n") {
		if p, err := intel.ParsePrefix(strings.TrimSpace(line)); err == nil {
			want[p.String()] = true
		}
	}
	inds, _ := inteltest.Drain(t, open(t, base+".json"))
	got := map[string]bool{}
	for _, ind := range inds {
		got[ind.Subject.String()] = true
	}
	if len(want) < 3900 {
		t.Fatalf("text twin gives %d addresses, want the ~3,926 of the report", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("addresses from the bundle differ from the text twin (-txt +json):\n%s", diff)
	}
}

func nilIfEmpty(m map[string]int) map[string]int {
	if len(m) == 0 {
		return nil
	}
	return m
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	p, err := intel.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p.Addr()
}
