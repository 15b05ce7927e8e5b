package formats

import (
	"github.com/proxywatch/proxywatch/internal/intel"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name, file, head, want string
	}{
		{"plain", "list.txt", "# comment\n192.0.2.1\n198.51.100.0/24\n", "plain"},
		{"ipsum counts", "ipsum.txt", "# IPsum\n192.0.2.1\t3\n192.0.2.2\t1\n", "plain"},
		{"range", "r.netset", "192.0.2.0-192.0.2.9\n", "plain"},
		{"asn list", "ASN.txt", "AS64496 # example\nAS64497\n", "plain"},
		{"ipport", "all.txt", "http://192.0.2.1:8080\nsocks5://192.0.2.2:1080\n", "ipport"},
		{"hostport", "p.txt", "192.0.2.1:8080\n192.0.2.2:3128\n", "ipport"},
		{"c2 header", "c2.txt", "C2 IP:port\n\n192.0.2.1:443\n", "iocreport"},
		{"defanged", "report.txt", "Command and Control:\n192.0.2[.]1\n", "iocreport"},
		{"drop comments", "list.txt", "; Spamhaus DROP List\n192.0.2.0/24 ; SBL1\n198.51.100.0/24 ; SBL2\n", "drop"},
		{"drop name", "/x/edrop.txt", "192.0.2.0/24\n", "drop"},
		{"rbldnsd", "zone", "$TTL 3600\n:127.0.0.2:listed\n192.0.2.1\n", "rbldnsd"},
		{"stix", "b.json", `{"type": "bundle", "id": "bundle--1", "objects": []}`, "stix"},
		{"stix 2.1", "b.json", "\ufeff{\"spec_version\": \"2.1\"}", "stix"},
		{"misp", "e.json", `{"Event": {"Attribute": []}}`, "misp"},
		{"asn drop", "x.json", `{"asn":64496,"rir":"arin","domain":"x","cc":"US","asname":"X"}`, "drop"},
		{"proxies json", "p.json", `[{"protocol":"http","host":"192.0.2.1","port":80}]`, "ipport"},
		{"csv report", "iocs.csv", "Domain,IP\nexample.org,192.0.2.1\n", "iocreport"},
		{"prose", "notes.txt", "some words\nmore words\n", "iocreport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(tc.file, []byte(tc.head))
			if err != nil || got != tc.want {
				t.Errorf("Detect(%q, %q) = %q, %v; want %q", tc.file, tc.head, got, err, tc.want)
			}
		})
	}
	if _, err := Detect("x.json", []byte(`{"hello": 1}`)); err == nil {
		t.Error("Detect accepted JSON of no known shape")
	}
}

func TestReadersNamed(t *testing.T) {
	names := Names()
	if len(names) != len(Readers()) || len(names) < 8 {
		t.Fatalf("Names() = %v", names)
	}
	for _, n := range names {
		if _, err := Readers()[n](strings.NewReader(""), intel.Options{Name: "test"}); err != nil {
			t.Errorf("reader %q refuses empty options: %v", n, err)
		}
	}
}

// FuzzDetect checks Detect never panics and always names a known format
// when it does not fail.
func FuzzDetect(f *testing.F) {
	f.Add("a.txt", []byte("192.0.2.1\n"))
	f.Add("a.json", []byte(`{"type":"bundle"}`))
	f.Add("a", []byte("$TTL 1\n:127.0.0.2\n"))
	f.Fuzz(func(t *testing.T, name string, head []byte) {
		got, err := Detect(name, head)
		if err != nil {
			return
		}
		if _, ok := Readers()[got]; !ok {
			t.Fatalf("Detect(%q, %q) = %q, not a known format", name, head, got)
		}
	})
}
