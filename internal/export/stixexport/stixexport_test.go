package stixexport_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
	"github.com/proxywatch/proxywatch/internal/export/stixexport"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/stix"
)

// readBack reads a bundle with the stix reader, failing t on any refusal.
func readBack(t *testing.T, doc []byte) []proxywatch.Indicator {
	t.Helper()
	r, err := stix.NewReader(bytes.NewReader(doc), intel.Options{Name: "back"})
	if err != nil {
		t.Fatal(err)
	}
	var got []proxywatch.Indicator
	tally, err := intel.ReadAll(r, func(ind proxywatch.Indicator) error { got = append(got, ind); return nil })
	if err != nil || tally.RefusedTotal()+tally.ExcludedTotal() > 0 {
		t.Fatalf("stix reader: %v, tally %+v", err, tally)
	}
	return got
}

// decode checks the bundle's shape and reads it back with the stix
// reader.
func decode(t *testing.T, doc []byte) []exporttest.Entry {
	t.Helper()
	var b struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(doc, &b); err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if b.Type != "bundle" || !strings.HasPrefix(b.ID, "bundle--") || b.Objects == nil {
		t.Fatalf("bundle type %q id %q objects %v", b.Type, b.ID, b.Objects)
	}
	ids := map[string]bool{}
	for _, o := range b.Objects {
		var obj map[string]any
		json.Unmarshal(o, &obj)
		for _, k := range []string{"type", "spec_version", "id", "created", "modified", "pattern", "pattern_type", "valid_from"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("object %s lacks required property %q", o, k)
			}
		}
		id, _ := obj["id"].(string)
		if ids[id] {
			t.Errorf("id %s used twice", id)
		}
		ids[id] = true
		if vu, ok := obj["valid_until"].(string); ok && vu <= obj["valid_from"].(string) {
			t.Errorf("object %s: valid_until not after valid_from", o)
		}
		if obj["modified"].(string) < obj["created"].(string) {
			t.Errorf("object %s: modified before created", o)
		}
	}
	var es []exporttest.Entry
	for _, ind := range readBack(t, doc) {
		p := ind.Subject.Prefix
		es = append(es, exporttest.Entry{From: p.Addr(), To: lastAddr(p), Expires: ind.Expires})
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
	exporttest.Run(t, exporttest.Suite{Exporter: stixexport.Exporter{}, Decode: decode, Expires: true})
}

// TestRoundTrip exports one indicator of every kind, in both families,
// and reads the bundle back with the stix reader.
func TestRoundTrip(t *testing.T) {
	var inds []proxywatch.Indicator
	for i, k := range proxywatch.Kinds() {
		s := fmt.Sprintf("192.0.2.%d/32", i)
		if i%2 == 1 {
			s = fmt.Sprintf("2001:db8::%x00/120", i)
		}
		ind := exporttest.Ind(s, k, uint8(10*i), time.Duration(i)*time.Hour)
		ind.FirstSeen = exporttest.Now.Add(-time.Duration(i)*time.Hour - 1500*time.Microsecond)
		inds = append(inds, ind)
	}
	var b bytes.Buffer
	if _, err := (stixexport.Exporter{}).Export(&b, slices.Values(inds), export.Options{Now: exporttest.Now}); err != nil {
		t.Fatal(err)
	}
	type key struct {
		Subject            string
		Kind               proxywatch.Kind
		Confidence         uint8
		FirstSeen, Expires time.Time
	}
	var want, got []key
	for _, ind := range inds {
		want = append(want, key{ind.Subject.String(), ind.Kind, ind.Confidence, ind.FirstSeen.Truncate(time.Millisecond), ind.Expires})
	}
	for _, ind := range readBack(t, b.Bytes()) {
		if ind.Kind == proxywatch.KindUnknown {
			ind.Kind = proxywatch.KindOther // the feed default, as for every feed
		}
		got = append(got, key{ind.Subject.String(), ind.Kind, ind.Confidence, ind.FirstSeen, ind.Expires})
	}
	less := func(a, b key) int { return strings.Compare(a.Subject, b.Subject) }
	slices.SortFunc(want, less)
	slices.SortFunc(got, less)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stix reader of the export mismatch (-want +got):\n%s", diff)
	}
}

// TestValidUntilAfterValidFrom checks an expiry within a millisecond of
// the first-seen time.
func TestValidUntilAfterValidFrom(t *testing.T) {
	ind := exporttest.Ind("192.0.2.1", proxywatch.KindC2, 50, 0)
	ind.FirstSeen = exporttest.Now.Add(300 * time.Microsecond)
	ind.Expires = exporttest.Now.Add(700 * time.Microsecond)
	var b bytes.Buffer
	if _, err := (stixexport.Exporter{}).Export(&b, slices.Values([]proxywatch.Indicator{ind}), export.Options{Now: exporttest.Now}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"valid_from":"2026-03-01T12:00:00.000Z"`, `"valid_until":"2026-03-01T12:00:00.001Z"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Export() = %s, want it to hold %s", b.String(), want)
		}
	}
	decode(t, b.Bytes())
}

// TestMergeAndStableIDs checks that one prefix and kind from two feeds is
// one object, and that ids depend on the prefix and kind only.
func TestMergeAndStableIDs(t *testing.T) {
	a := exporttest.Ind("192.0.2.0/24", proxywatch.KindC2, 40, time.Hour)
	a.Tags = []string{"x"}
	b := exporttest.Ind("192.0.2.0/24", proxywatch.KindC2, 90, 2*time.Hour)
	b.Source.Feed, b.Tags, b.FirstSeen = "other", []string{"y", "x"}, exporttest.Now.Add(-72*time.Hour)
	var out bytes.Buffer
	st, err := stixexport.Exporter{}.Export(&out, slices.Values([]proxywatch.Indicator{a, b}), export.Options{Now: exporttest.Now})
	if err != nil {
		t.Fatal(err)
	}
	id := stixexport.ID(netip.MustParsePrefix("192.0.2.0/24"), proxywatch.KindC2)
	want := `{"type":"indicator","spec_version":"2.1","id":"` + id + `","created":"2026-02-26T12:00:00.000Z",` +
		`"modified":"2026-03-01T12:00:00.000Z","name":"c2 192.0.2.0/24","indicator_types":["malicious-activity"],` +
		`"pattern":"[ipv4-addr:value = '192.0.2.0/24']","pattern_type":"stix","pattern_version":"2.1",` +
		`"valid_from":"2026-02-26T12:00:00.000Z","valid_until":"2026-03-01T14:00:00.000Z","confidence":90,` +
		`"labels":["c2","x","y"],"x_proxywatch_feeds":["other","test"]}`
	if st.Entries != 1 || !strings.Contains(out.String(), "\n"+want+"\n") {
		t.Errorf("Export() = %d objects:\n%s\nwant the object\n%s", st.Entries, out.String(), want)
	}
	later := export.Options{Now: exporttest.Now.Add(time.Minute)}
	var again bytes.Buffer
	if _, err := (stixexport.Exporter{}).Export(&again, slices.Values([]proxywatch.Indicator{a}), later); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.String(), `"id":"`+id+`"`) {
		t.Errorf("a later export of the same listing does not reuse id %s:\n%s", id, again.String())
	}
	if other := stixexport.ID(netip.MustParsePrefix("192.0.2.0/24"), proxywatch.KindOpenProxy); other == id {
		t.Errorf("ID() is the same for two kinds")
	}
}
