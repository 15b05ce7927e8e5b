package rbldnsd

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/rbldnsdset"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

func ind(prefix string, k proxywatch.Kind, conf uint8, feed string) proxywatch.Indicator {
	return proxywatch.Indicator{
		Subject:    proxywatch.PrefixSubject(netip.MustParsePrefix(prefix)),
		Kind:       k,
		Confidence: conf,
		Source:     proxywatch.Source{Feed: feed},
	}
}

func fixture() []proxywatch.Indicator {
	expired := ind("203.0.113.9/32", proxywatch.KindC2, 90, "old")
	expired.Expires = now.Add(-time.Hour)
	later := ind("203.0.113.10/32", proxywatch.KindC2, 90, "new")
	later.Expires = now.Add(time.Hour)
	return []proxywatch.Indicator{
		ind("192.0.2.0/24", proxywatch.KindOpenProxy, 90, "f1"),
		ind("192.0.2.5/32", proxywatch.KindC2, 80, "f2"),
		ind("192.0.2.6/32", proxywatch.KindBruteForce, 30, "f3"),
		ind("192.0.2.7/32", proxywatch.KindResidentialProxy, 90, "a"),
		ind("192.0.2.7/32", proxywatch.KindOpenProxy, 60, "b"),
		ind("192.0.2.8/32", proxywatch.KindOpenProxy, 90, "f1"),
		ind("192.0.2.9/32", proxywatch.KindOpenProxy, 90, "f1"),
		ind("198.51.100.0/24", proxywatch.KindC2, 90, "f1"),
		ind("198.51.100.130/32", proxywatch.KindC2, 90, "f1"), // inside the allowlist
		ind("::ffff:198.18.0.0/111", proxywatch.KindScanner, 90, "mapped"),
		ind("2001:db8::/32", proxywatch.KindAnonymizer, 70, "v6"),
		ind("2001:db8:1::1/128", proxywatch.KindScanner, 70, "v6 feed$"),
		ind("127.0.0.2/32", proxywatch.KindOther, 90, "loop"), // a test point: the zone's own answer wins
		{Subject: proxywatch.DomainSubject("example.org"), Kind: proxywatch.KindC2, Confidence: 90},
		expired, later,
	}
}

var allow = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.128/25"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::ffff:10.0.0.0/104"),
	netip.MustParsePrefix("2001:db8:ff::/48"),
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	st, err := Write(&buf, slices.Values(fixture()), Options{
		Now: now, MinConfidence: 50, Allowlist: allow, Zone: "bl.test.",
		Nameservers: []string{"ns1.bl.test.", "ns2.bl.test."}, TTL: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{IPv4: 8, IPv6: 2, Exclusions: 4, Skipped: 6}
	if st != want {
		t.Errorf("Write stats = %+v, want %+v", st, want)
	}
	golden := filepath.Join("testdata", "fixture.rbl")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), buf.String()); diff != "" {
		t.Errorf("Write (-golden +got):\n%s", diff)
	}
}

func TestWriteOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // lines that must be present
		not  []string // substrings that must be absent
	}{
		{"kinds", Options{Now: now, MinConfidence: 50, Kinds: []proxywatch.Kind{proxywatch.KindOpenProxy}},
			[]string{"192.0.2.0/24 :8:192.0.2.0/24"}, []string{"198.51.100.0/24", ":20:"}},
		{"template", Options{Now: now, MinConfidence: 50, TXT: "{kind} {addr} {prefix}"},
			[]string{"192.0.2.5 :20:c2 $ 192.0.2.5/32", "127.0.0.2 :2:listed: RFC 5782 test point", "!127.0.0.1"}, []string{"$TTL", "$SOA"}},
		{"minimum", Options{Now: now, MinConfidence: 95}, nil, []string{"192.0.2"}},
		{"expiry", Options{Now: now.Add(2 * time.Hour), MinConfidence: 50}, nil, []string{"203.0.113.10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.TXT == "" {
				tc.opts.TXT = "{prefix}"
			}
			var buf bytes.Buffer
			if _, err := Write(&buf, slices.Values(fixture()), tc.opts); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(buf.String(), "\n")
			for _, w := range tc.want {
				if !slices.Contains(lines, w) {
					t.Errorf("Write(%s) lacks the line %q:\n%s", tc.name, w, buf.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("Write(%s) contains %q:\n%s", tc.name, n, buf.String())
				}
			}
		})
	}
	if _, err := Write(io.Discard, slices.Values(fixture()), Options{TXT: "costs $5"}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Write with a bad template = %v, want ErrInvalid", err)
	}
}

// TestWriteReadsBack reads the export with the rbldnsd dataset reader:
// every entry parses, and the exclusions are the allowlist and the
// unlisted test point.
func TestWriteReadsBack(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, slices.Values(fixture()), Options{Now: now, MinConfidence: 50, Allowlist: allow, Zone: "bl.test."}); err != nil {
		t.Fatal(err)
	}
	rd, err := rbldnsdset.New(&buf, intel.Options{Name: "export"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		in, err := rd.Read()
		if err == io.EOF {
			break
		}
		var pe *intel.ParseError
		if errors.As(err, &pe) && pe.Excluded {
			continue
		}
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		got = append(got, in.Subject.String())
	}
	slices.Sort(got)
	want := []string{"127.0.0.2/32", "192.0.2.0/24", "192.0.2.5/32", "192.0.2.7/32", "192.0.2.8/32", "192.0.2.9/32",
		"198.18.0.0/15", "198.51.100.0/24", "2001:db8:1::1/128", "2001:db8::/32", "203.0.113.10/32"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries read back (-want +got):\n%s", diff)
	}
	var excl []string
	for _, p := range rd.Exclusions() {
		excl = append(excl, p.String())
	}
	slices.Sort(excl)
	if diff := cmp.Diff([]string{"10.0.0.0/8", "127.0.0.0/8", "127.0.0.1/32", "198.51.100.128/25", "2001:db8:ff::/48"}, excl); diff != "" {
		t.Errorf("exclusions read back (-want +got):\n%s", diff)
	}
}
