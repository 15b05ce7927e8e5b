package export_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/csvexport"
	"github.com/proxywatch/proxywatch/internal/export/ipset"
	"github.com/proxywatch/proxywatch/internal/export/nftables"
	"github.com/proxywatch/proxywatch/internal/export/plain"
	"github.com/proxywatch/proxywatch/internal/export/stixexport"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/stix"
)

// FuzzExport exports indicators built from the fuzzer's input, with
// feed names, tags and comments as outside sources may give them, in
// every format, and checks that each document reads back: the CSV with
// encoding/csv, cell for cell; the STIX bundle with the stix reader,
// object for object; the set formats line for line, with no outside
// text in them.
func FuzzExport(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1, 32, 0}, "feed", "tag", "comment")
	f.Add([]byte{32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 64, 3}, "-x", "=1+1", "a\"b\nc,d")
	f.Add([]byte{203, 0, 113, 0, 24, 1, 203, 0, 113, 7, 32, 2}, "f\x00", "\t", "\r\n'@")
	f.Fuzz(func(t *testing.T, data []byte, feed, tag, comment string) {
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var inds []proxywatch.Indicator
		for len(data) >= 6 && len(inds) < 32 {
			var p netip.Prefix
			if data[0]&0x20 != 0 && len(data) >= 18 {
				p = netip.PrefixFrom(netip.AddrFrom16([16]byte(data[:16])), int(data[16])%129)
				data = data[16:]
			} else {
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte(data[:4])), int(data[4])%33)
				data = data[4:]
			}
			ind := proxywatch.Indicator{Subject: proxywatch.PrefixSubject(p), Kind: proxywatch.Kind(1 + data[1]%10),
				Confidence: data[1], Source: proxywatch.Source{Feed: feed}, Tags: []string{tag}, Comment: comment,
				FirstSeen: now.Add(-time.Hour)}
			if data[1]%3 != 0 {
				ind.Expires = now.Add(time.Duration(data[1]) * time.Minute)
			}
			inds = append(inds, ind)
			data = data[2:]
		}
		opts := export.Options{Now: now, Timeout: true}
		run := func(e export.Exporter) ([]byte, export.Stats) {
			var b bytes.Buffer
			st, err := e.Export(&b, slices.Values(inds), opts)
			if err != nil {
				t.Fatalf("%T.Export() = %v", e, err)
			}
			return b.Bytes(), st
		}
		// The set formats hold addresses only: the outside text changes
		// nothing in them.
		bare := slices.Clone(inds)
		for i := range bare {
			bare[i].Source.Feed, bare[i].Tags, bare[i].Comment = "", nil, ""
		}
		for _, e := range []export.Exporter{nftables.Exporter{}, ipset.Exporter{}, plain.Exporter{}} {
			doc, _ := run(e)
			var b bytes.Buffer
			if _, err := e.Export(&b, slices.Values(bare), opts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(doc, b.Bytes()) {
				t.Errorf("%T: feed names, tags or comments changed the document", e)
			}
		}

		doc, st := run(csvexport.Exporter{})
		recs, err := csv.NewReader(bytes.NewReader(doc)).ReadAll()
		if err != nil || len(recs) != st.Entries+1 {
			t.Fatalf("CSV reads back as %d records (%v), want %d", len(recs), err, st.Entries+1)
		}
		want := comment
		if want != "" && strings.IndexByte("=+-@\t\r", want[0]) >= 0 {
			want = "'" + want
		}
		// encoding/csv's reader folds carriage returns before line feeds.
		want = strings.ReplaceAll(want, "\r", "")
		for _, rec := range recs[1:] {
			if got := strings.ReplaceAll(rec[10], "\r", ""); got != want {
				t.Errorf("CSV comment = %q, want %q", got, want)
			}
		}

		doc, st = run(stixexport.Exporter{})
		if !json.Valid(doc) {
			t.Fatalf("STIX bundle is not valid JSON:\n%s", doc)
		}
		r, err := stix.NewReader(bytes.NewReader(doc), intel.Options{Name: "back"})
		if err != nil {
			t.Fatal(err)
		}
		tally, err := intel.ReadAll(r, func(proxywatch.Indicator) error { return nil })
		if err != nil || tally.Accepted != st.Entries || tally.RefusedTotal() > 0 {
			t.Errorf("stix reader of the bundle: %v, tally %+v, want %d accepted", err, tally, st.Entries)
		}
	})
}
