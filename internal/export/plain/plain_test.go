package plain_test

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
	"github.com/proxywatch/proxywatch/internal/export/plain"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// decode reads a plain list back with intel.ParsePrefix, as the plain
// list reader would.
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	var es []exporttest.Entry
	if len(doc) > 0 && !bytes.HasSuffix(doc, []byte("\n")) {
		t.Fatalf("document does not end in a newline")
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(doc), "\n"), "\n") {
		if line == "" && len(doc) == 0 {
			break
		}
		p, err := intel.ParsePrefix(line)
		if err != nil || line != p.String() && line != p.Addr().String() {
			t.Fatalf("line %d %q: not a canonical address or prefix (%v)", n+1, line, err)
		}
		if p.IsSingleIP() && strings.Contains(line, "/") {
			t.Errorf("line %d %q: single address written as a prefix", n+1, line)
		}
		r := export.Range{From: p.Addr(), To: lastAddr(p)}
		es = append(es, exporttest.Entry{From: r.From, To: r.To})
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
	exporttest.Run(t, exporttest.Suite{Exporter: plain.Exporter{}, Decode: decode, Disjoint: true})
}

func TestList(t *testing.T) {
	inds := []proxywatch.Indicator{
		exporttest.Ind("2001:db8::1", proxywatch.KindC2, 90, 0),
		exporttest.Ind("192.0.2.0/25", proxywatch.KindC2, 90, time.Hour),
		exporttest.Ind("192.0.2.128/25", proxywatch.KindC2, 90, 0),
		exporttest.Ind("198.51.100.7", proxywatch.KindC2, 90, 0),
		exporttest.Ind("203.0.113.0/24", proxywatch.KindC2, 90, 0),
	}
	opts := export.Options{Now: exporttest.Now, Allowlist: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/25")}}
	var b bytes.Buffer
	st, err := plain.Exporter{}.Export(&b, slices.Values(inds), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "192.0.2.0/24\n198.51.100.7\n203.0.113.128/25\n2001:db8::1\n"
	if b.String() != want {
		t.Errorf("Export() = %q, want %q", b.String(), want)
	}
	if st.Entries != 4 || st.V4 != 3 || st.V6 != 1 || st.Carved != 1 {
		t.Errorf("Export() stats = %+v", st)
	}
}
