package csvexport_test

import (
	"bytes"
	"encoding/csv"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/csvexport"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/csvfeed"
)

// decode reads a CSV export back: the header, then one entry per row.
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(doc)).ReadAll()
	if err != nil {
		t.Fatalf("read CSV: %v", err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvexport.Header) {
		t.Fatalf("header = %v, want %v", recs, csvexport.Header)
	}
	var es []exporttest.Entry
	for n, rec := range recs[1:] {
		p, err := netip.ParsePrefix(rec[0])
		if err != nil || p != p.Masked() {
			t.Fatalf("row %d: prefix %q: %v", n+1, rec[0], err)
		}
		e := exporttest.Entry{From: p.Addr(), To: lastAddr(p)}
		if rec[6] != "" {
			if e.Expires, err = time.Parse(time.RFC3339Nano, rec[6]); err != nil {
				t.Fatalf("row %d: expires %q: %v", n+1, rec[6], err)
			}
		}
		es = append(es, e)
	}
	return es
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestConformance(t *testing.T) {
	exporttest.Run(t, exporttest.Suite{Exporter: csvexport.Exporter{}, Decode: decode, Expires: true})
}

func TestRows(t *testing.T) {
	a := exporttest.Ind("192.0.2.0/24", proxywatch.KindC2, 90, time.Hour)
	a.Tags, a.Comment, a.Port, a.Proto = []string{"x", "y"}, `=HYPERLINK("http://example.org")`, 8080, "http"
	b := exporttest.Ind("192.0.2.7", proxywatch.KindOpenProxy, 40, 0)
	b.Source.Feed, b.FirstSeen = "-feed", time.Time{}
	var buf bytes.Buffer
	st, err := csvexport.Exporter{}.Export(&buf, slices.Values([]proxywatch.Indicator{b, a}),
		export.Options{Now: exporttest.Now, Allowlist: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "prefix,kind,confidence,feed,first_seen,last_seen,expires,port,proto,tags,comment\n" +
		`192.0.2.128/25,c2,90,test,2026-02-27T12:00:00Z,,2026-03-01T13:00:00Z,8080,http,x;y,"'=HYPERLINK(""http://example.org"")"` + "\n"
	if buf.String() != want {
		t.Errorf("Export() =\n%s\nwant\n%s", buf.String(), want)
	}
	if st.Entries != 1 || st.Allowlisted != 1 || st.Carved != 1 {
		t.Errorf("Export() stats = %+v", st)
	}
}

// TestRoundTrip reads an export back with the csvfeed reader and gets the
// same indicators.
func TestRoundTrip(t *testing.T) {
	var inds []proxywatch.Indicator
	for i, s := range []string{"192.0.2.0/24", "198.51.100.7", "2001:db8::/48", "2001:db8:1::1"} {
		ind := exporttest.Ind(s, proxywatch.Kinds()[i], uint8(10+i), time.Duration(i)*time.Hour)
		ind.Tags = []string{"t" + s[:3]}
		ind.Comment = "seen, \"quoted\"\nand on two lines"
		ind.LastSeen = exporttest.Now.Add(-time.Minute)
		ind.Port, ind.Proto = uint16(1080+i), "socks5"
		inds = append(inds, ind)
	}
	var buf bytes.Buffer
	if _, err := (csvexport.Exporter{}).Export(&buf, slices.Values(inds), export.Options{Now: exporttest.Now}); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, c := range []string{"kind", "confidence", "first_seen", "last_seen", "expires", "port", "proto", "tags", "comment"} {
		params[c] = c
	}
	params["ip"] = "prefix"
	r, err := csvfeed.NewReader(strings.NewReader(buf.String()), intel.Options{Name: "test", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	var got []proxywatch.Indicator
	if _, err := intel.ReadAll(r, func(ind proxywatch.Indicator) error { got = append(got, ind); return nil }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(inds)
	opt := cmp.Options{cmpopts.IgnoreFields(proxywatch.Source{}, "Line"), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })}
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("csvfeed read of the export mismatch (-want +got):\n%s", diff)
	}
}
