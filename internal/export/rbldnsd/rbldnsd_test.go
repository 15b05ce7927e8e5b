package rbldnsd

import (
	"bufio"
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
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
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
		ind("192.0.2.6/32", proxywatch.KindBruteForce, 30, "f3"), // below the minimum
		ind("192.0.2.7/32", proxywatch.KindResidentialProxy, 90, "a"),
		ind("192.0.2.7/32", proxywatch.KindOpenProxy, 60, "b"), // same prefix: kind priority
		ind("192.0.2.8/32", proxywatch.KindOpenProxy, 90, "f1"),
		ind("198.51.100.0/24", proxywatch.KindC2, 90, "f1"),         // cut around the allowlist
		ind("198.51.100.0/25", proxywatch.KindScanner, 90, "inner"), // cut to the same piece: more specific wins
		ind("198.51.100.130/32", proxywatch.KindC2, 90, "f1"),       // inside the allowlist
		ind("::ffff:198.18.0.0/111", proxywatch.KindScanner, 90, "mapped"),
		ind("2001:db8::/32", proxywatch.KindAnonymizer, 70, "v6"),
		ind("2001:db8:1::1/128", proxywatch.KindScanner, 70, "v6 feed$"),
		ind("127.0.0.2/32", proxywatch.KindOther, 90, "loop"), // a test point: the zone's own answer wins
		{Subject: proxywatch.DomainSubject("example.org"), Kind: proxywatch.KindC2, Confidence: 90},
		expired, later,
	}
}

var allow = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.64/26"),
	netip.MustParsePrefix("198.51.100.128/25"),
	netip.MustParsePrefix("::ffff:10.0.0.0/104"),
	netip.MustParsePrefix("2001:db8::/33"),
}

func TestConformance(t *testing.T) {
	exporttest.Run(t, exporttest.Suite{Exporter: Exporter{Zone: "bl.test.", TTL: time.Minute}, Decode: decode})
}

// decode reads a zone back: every listed prefix but the test point, with
// the checks rbldnsd would make (CIDR without host bits, the value's A
// record in 127.0.0.0/24).
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	var es []exporttest.Entry
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '$' || line[0] == ':' || line[0] == '!' {
			continue
		}
		text, val, _ := strings.Cut(line, " ")
		if val != "" && !strings.HasPrefix(val, ":") {
			t.Fatalf("line %d %q: value does not start with ':'", n, line)
		}
		p, err := netip.ParsePrefix(text)
		if err != nil {
			a, aerr := netip.ParseAddr(text)
			if aerr != nil {
				t.Fatalf("line %d %q: %v", n, line, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p != p.Masked() {
			t.Fatalf("line %d %q: host bits set", n, line)
		}
		if p == testListed {
			continue
		}
		last := p.Addr().AsSlice()
		for i := p.Bits(); i < len(last)*8; i++ {
			last[i/8] |= 0x80 >> (i % 8)
		}
		to, _ := netip.AddrFromSlice(last)
		es = append(es, exporttest.Entry{From: p.Addr(), To: to})
	}
	return es
}

func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	e := Exporter{Zone: "bl.test.", Nameservers: []string{"ns1.bl.test.", "ns2.bl.test."}, TTL: 5 * time.Minute}
	st, err := e.Export(&buf, slices.Values(fixture()), export.Options{Now: now, MinConfidence: 50, Allowlist: allow})
	if err != nil {
		t.Fatal(err)
	}
	want := export.Stats{Indicators: 16, NotPrefix: 1, Expired: 1, BelowConfidence: 1, Selected: 13,
		Allowlisted: 2, Carved: 3, Entries: 8, V4: 7, V6: 1, Bytes: int64(buf.Len())}
	if st != want {
		t.Errorf("Export stats = %+v, want %+v", st, want)
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
		t.Errorf("Export (-golden +got):\n%s", diff)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		e    Exporter
		opts export.Options
		want []string // lines that must be present
		not  []string // substrings that must be absent
	}{
		{"kinds", Exporter{TXT: "{prefix}"}, export.Options{Now: now, MinConfidence: 50, Kinds: []proxywatch.Kind{proxywatch.KindOpenProxy}},
			[]string{"192.0.2.0/24 :8:192.0.2.0/24", "192.0.2.7 :8:192.0.2.7/32"}, []string{"198.51.100.0/24", ":20:"}},
		{"grouped", Exporter{TXT: "{kind} {feed}"}, export.Options{Now: now, MinConfidence: 50, Kinds: []proxywatch.Kind{proxywatch.KindOpenProxy}},
			[]string{":8:open-proxy f1", "192.0.2.0/24", "192.0.2.8", "192.0.2.7 :8:open-proxy b"}, nil},
		{"template", Exporter{TXT: "{kind} {addr} {prefix}"}, export.Options{Now: now, MinConfidence: 50},
			[]string{"192.0.2.5 :20:c2 $ 192.0.2.5/32", "127.0.0.2 :2:listed: RFC 5782 test point", "!127.0.0.1"}, []string{"$TTL", "$SOA"}},
		{"minimum", Exporter{}, export.Options{Now: now, MinConfidence: 95}, nil, []string{"192.0.2"}},
		{"expiry", Exporter{}, export.Options{Now: now.Add(2 * time.Hour), MinConfidence: 50}, nil, []string{"203.0.113.10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := tc.e.Export(&buf, slices.Values(fixture()), tc.opts); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(buf.String(), "\n")
			for _, w := range tc.want {
				if !slices.Contains(lines, w) {
					t.Errorf("Export(%s) lacks the line %q:\n%s", tc.name, w, buf.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(buf.String(), n) {
					t.Errorf("Export(%s) contains %q:\n%s", tc.name, n, buf.String())
				}
			}
		})
	}
	_, err := Exporter{TXT: "costs $5"}.Export(io.Discard, slices.Values(fixture()), export.Options{Now: now})
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Export with a bad template = %v, want ErrInvalid", err)
	}
}

// TestReadsBack reads the export with the rbldnsd dataset reader: every
// entry parses, and the one exclusion is the unlisted test point.
func TestReadsBack(t *testing.T) {
	var buf bytes.Buffer
	_, err := Exporter{Zone: "bl.test."}.Export(&buf, slices.Values(fixture()), export.Options{Now: now, MinConfidence: 50, Allowlist: allow})
	if err != nil {
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
	want := []string{"127.0.0.2/32", "192.0.2.0/24", "192.0.2.5/32", "192.0.2.7/32", "192.0.2.8/32",
		"198.18.0.0/15", "198.51.100.0/26", "2001:db8:8000::/33", "203.0.113.10/32"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries read back (-want +got):\n%s", diff)
	}
	if ex := rd.Exclusions(); len(ex) != 1 || ex[0] != testUnlisted {
		t.Errorf("exclusions read back = %v, want only %v", ex, testUnlisted)
	}
}
