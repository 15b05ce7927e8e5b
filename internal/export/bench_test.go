package export_test

import (
	"io"
	"iter"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/csvexport"
	"github.com/proxywatch/proxywatch/internal/export/ipset"
	"github.com/proxywatch/proxywatch/internal/export/nftables"
	"github.com/proxywatch/proxywatch/internal/export/plain"
	"github.com/proxywatch/proxywatch/internal/export/stixexport"
)

var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// synthetic yields n indicators shaped like a large residential-proxy
// feed, generated on the fly so that the input itself takes no memory:
// 90% single IPv4 addresses, 5% IPv4 prefixes /16-/31, 5% IPv6 prefixes
// /48-/128; a third never expire, the rest expire within 1-72 h.
func synthetic(n int) iter.Seq[proxywatch.Indicator] {
	return func(yield func(proxywatch.Indicator) bool) {
		r := rand.New(rand.NewPCG(42, 42))
		ind := proxywatch.Indicator{Kind: proxywatch.KindResidentialProxy, Confidence: 60,
			Source: proxywatch.Source{Feed: "synthetic"}}
		for range n {
			var p netip.Prefix
			switch x := r.IntN(100); {
			case x < 90:
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 32)
			case x < 95:
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}), 16+r.IntN(16))
			default:
				var a [16]byte
				a[0], a[1] = 0x20, 0x01
				for i := 2; i < 16; i++ {
					a[i] = byte(r.Uint32())
				}
				p = netip.PrefixFrom(netip.AddrFrom16(a), 48+r.IntN(81))
			}
			ind.Subject = proxywatch.PrefixSubject(p)
			ind.Expires = time.Time{}
			if r.IntN(3) > 0 {
				ind.Expires = benchNow.Add(time.Duration(1+r.IntN(72*3600)) * time.Second)
			}
			if !yield(ind) {
				return
			}
		}
	}
}

// BenchmarkExport1M exports one million indicators in each format and
// reports the document's size and element count besides time and
// allocations.
func BenchmarkExport1M(b *testing.B) {
	const n = 1_000_000
	opts := export.Options{Now: benchNow, Timeout: true, Allowlist: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.168.0.0/16"),
	}}
	for _, bc := range []struct {
		name string
		e    export.Exporter
	}{
		{"nftables", nftables.Exporter{}}, {"ipset", ipset.Exporter{}}, {"plain", plain.Exporter{}},
		{"csv", csvexport.Exporter{}}, {"stix", stixexport.Exporter{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var st export.Stats
			for b.Loop() {
				var err error
				if st, err = bc.e.Export(io.Discard, synthetic(n), opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Bytes), "doc-bytes")
			b.ReportMetric(float64(st.Entries), "entries")
		})
	}
}
