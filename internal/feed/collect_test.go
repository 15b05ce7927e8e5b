package feed

import (
	"errors"
	"hash/maphash"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

var now0 = time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)

func collectString(t *testing.T, f Feed, doc string) ([]proxywatch.Indicator, Report, error) {
	t.Helper()
	r, err := openLines(strings.NewReader(doc), intel.Options{Name: f.Name, Params: f.Params})
	if err != nil {
		t.Fatal(err)
	}
	return Collect(r, DefaultConfig().Resolve(f), now0)
}

func TestCollectDefaults(t *testing.T) {
	f := testFeed("partner")
	f.Kind = "open-proxy"
	f.Confidence = 70
	f.Tags = []string{"partner", "socks"}
	doc := "203.0.113.7\n198.51.100.0/24 c2 90\n2001:db8::1 scanner 200\n"
	got, rep, err := collectString(t, f, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []proxywatch.Indicator{
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.7")), Kind: proxywatch.KindOpenProxy, Confidence: 70,
			Source: proxywatch.Source{Feed: "partner", Line: 1}, Tags: []string{"partner", "socks"}},
		{Subject: proxywatch.PrefixSubject(mustPrefix("198.51.100.0/24")), Kind: proxywatch.KindC2, Confidence: 90,
			Source: proxywatch.Source{Feed: "partner", Line: 2}, Tags: []string{"partner", "socks"}},
		{Subject: proxywatch.AddrSubject(mustAddr("2001:db8::1")), Kind: proxywatch.KindScanner, Confidence: 100,
			Source: proxywatch.Source{Feed: "partner", Line: 3}, Tags: []string{"partner", "socks"}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Collect() mismatch (-want +got):\n%s", diff)
	}
	if rep.Accepted != 3 || rep.Read.Accepted != 3 {
		t.Errorf("Collect() report = %+v, want 3 accepted", rep)
	}
	// Appending to one indicator's tags must not show in another's.
	got[0].Tags = append(got[0].Tags, "x")
	if len(got[1].Tags) != 2 {
		t.Errorf("tags share a backing array: %v", got[1].Tags)
	}
}

func TestCollectDuplicatesAndRefusals(t *testing.T) {
	doc := strings.Join([]string{
		"# comment",
		"203.0.113.7",
		"203.0.113.7",          // duplicate
		"203.0.113.7/32 other", // duplicate after the default kind applies
		"203.0.113.7 c2",       // another kind: another indicator
		"not-an-address!",      // refused by the reader
		"0.0.0.0/0",            // too wide
		"10.0.0.0/7",           // too wide
		"10.0.0.0/8",           // at the bound: accepted
		"2001:db8::/18",        // too wide
		"2001:db8::/19",        // at the bound
		"2001:db8::/19",        // duplicate
	}, "\n")
	got, rep, err := collectString(t, testFeed("f"), doc)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, ind := range got {
		subjects = append(subjects, ind.Subject.String()+" "+ind.Kind.String())
	}
	wantSubjects := []string{"203.0.113.7/32 other", "203.0.113.7/32 c2", "10.0.0.0/8 other", "2001::/19 other"}
	if diff := cmp.Diff(wantSubjects, subjects); diff != "" {
		t.Errorf("Collect() subjects (-want +got):\n%s", diff)
	}
	if rep.Duplicates != 3 {
		t.Errorf("Collect() duplicates = %d, want 3", rep.Duplicates)
	}
	if diff := cmp.Diff(map[string]int{ReasonTooWideV4: 2, ReasonTooWideV6: 1}, rep.GuardRefused); diff != "" {
		t.Errorf("Collect() guard refusals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{intel.ReasonBadAddress: 1}, rep.Read.Refused); diff != "" {
		t.Errorf("Collect() reader refusals (-want +got):\n%s", diff)
	}
	if rep.Accepted != 4 || rep.Read.Accepted != 10 {
		t.Errorf("Collect() accepted = %d of %d read, want 4 of 10", rep.Accepted, rep.Read.Accepted)
	}
	if len(rep.GuardSamples) != 3 || rep.GuardSamples[0] != (Refusal{Line: 7, Subject: "0.0.0.0/0", Reason: ReasonTooWideV4}) {
		t.Errorf("Collect() guard samples = %+v", rep.GuardSamples)
	}
	if share, want := rep.RefusedShare(), 4.0/11; share != want {
		t.Errorf("RefusedShare() = %v, want %v", share, want)
	}
}

func TestCollectFinalError(t *testing.T) {
	got, rep, err := collectString(t, testFeed("f"), "203.0.113.1\n!fail\n203.0.113.2\n")
	if !errors.Is(err, errBroken) {
		t.Errorf("Collect() error = %v, want %v", err, errBroken)
	}
	if got != nil || rep.Read.Accepted != 1 {
		t.Errorf("Collect() = %d indicators, %d read; want none returned, 1 read", len(got), rep.Read.Accepted)
	}
}

func TestCollectTTL(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name     string
		ttl      time.Duration
		kindTTL  map[string]time.Duration
		kind     string
		lastSeen time.Time
		expires  time.Time // the indicator's own
		want     time.Time
	}{
		{"no-ttl", -1, nil, "c2", time.Time{}, time.Time{}, time.Time{}},
		{"feed-ttl", 10 * day, nil, "c2", time.Time{}, time.Time{}, now0.Add(10 * day)},
		{"residential-default", -1, nil, "residential-proxy", time.Time{}, time.Time{}, now0.Add(3 * day)},
		{"kind-caps-feed", 10 * day, nil, "residential-proxy", time.Time{}, time.Time{}, now0.Add(3 * day)},
		{"feed-caps-kind", day, nil, "residential-proxy", time.Time{}, time.Time{}, now0.Add(day)},
		{"other-kind-uncapped", 10 * day, nil, "open-proxy", time.Time{}, time.Time{}, now0.Add(10 * day)},
		{"feed-kind-override", -1, map[string]time.Duration{"open-proxy": 6 * time.Hour}, "open-proxy", time.Time{}, time.Time{}, now0.Add(6 * time.Hour)},
		{"cap-removed", -1, map[string]time.Duration{"residential-proxy": -1}, "residential-proxy", time.Time{}, time.Time{}, time.Time{}},
		{"from-last-seen", -1, nil, "residential-proxy", now0.Add(-2 * day), time.Time{}, now0.Add(day)},
		{"future-last-seen", -1, nil, "residential-proxy", now0.Add(day), time.Time{}, now0.Add(3 * day)},
		{"own-expiry-kept", day, nil, "residential-proxy", time.Time{}, now0.Add(30 * day), now0.Add(30 * day)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := DefaultConfig().Resolve(Feed{Name: "f", Format: "lines", Settings: Settings{TTL: tc.ttl, KindTTL: tc.kindTTL}})
			k, err := proxywatch.ParseKind(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			r := &sliceReader{inds: []proxywatch.Indicator{{
				Subject: proxywatch.AddrSubject(mustAddr("203.0.113.9")), Kind: k, LastSeen: tc.lastSeen, Expires: tc.expires,
			}}}
			got, rep, err := Collect(r, f, now0)
			if err != nil || len(got) != 1 {
				t.Fatalf("Collect() = %v, %v", got, err)
			}
			if !got[0].Expires.Equal(tc.want) {
				t.Errorf("Collect() Expires = %v, want %v", got[0].Expires, tc.want)
			}
			if wantExpired := tc.want.Equal(now0) || (!tc.want.IsZero() && tc.want.Before(now0)); (rep.Expired == 1) != wantExpired {
				t.Errorf("Collect() Expired = %d, want expired %v", rep.Expired, wantExpired)
			}
		})
	}
}

// sliceReader returns fixed indicators.
type sliceReader struct{ inds []proxywatch.Indicator }

func (r *sliceReader) Read() (proxywatch.Indicator, error) {
	if len(r.inds) == 0 {
		return proxywatch.Indicator{}, errEOF
	}
	ind := r.inds[0]
	r.inds = r.inds[1:]
	return ind, nil
}

func TestCollectHashCollision(t *testing.T) {
	// Distinct keys whose hashes collide must all be kept, and repeats
	// still found: every key hashes to 7 here.
	inds := []proxywatch.Indicator{
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.2"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.3"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.2"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.3"))},
	}
	f := DefaultConfig().Resolve(testFeed("f"))
	same := func(*maphash.Hash, *proxywatch.Key) uint64 { return 7 }
	c, err := collect(&sliceReader{inds: inds}, f, now0, maphash.MakeSeed(), same)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.inds) != 3 || c.rep.Duplicates != 3 {
		t.Errorf("collect() = %d indicators, %d duplicates; want 3, 3", len(c.inds), c.rep.Duplicates)
	}
}

func TestKeyHashDistinguishes(t *testing.T) {
	var h maphash.Hash
	h.SetSeed(maphash.MakeSeed())
	keys := []proxywatch.Key{
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1"))},
		{Subject: proxywatch.PrefixSubject(mustPrefix("203.0.113.0/24"))},
		{Subject: proxywatch.AddrSubject(mustAddr("::ffff:203.0.113.1").Unmap().Prev())},
		{Subject: proxywatch.AddrSubject(mustAddr("2001:db8::1"))},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1")), Kind: proxywatch.KindC2},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1")), Port: 1080},
		{Subject: proxywatch.AddrSubject(mustAddr("203.0.113.1")), Port: 1080, Proto: "socks5"},
		{Subject: proxywatch.DomainSubject("example.org")},
		{Subject: proxywatch.DomainSubject("example.org"), Proto: "x"},
		{Subject: proxywatch.DomainSubject("example.orgx")},
		{Subject: proxywatch.ASNSubject(64496)},
	}
	seen := map[uint64]int{}
	for i := range keys {
		sum := hashKey(&h, &keys[i])
		if j, ok := seen[sum]; ok {
			t.Errorf("hashKey(%v) = hashKey(%v)", keys[i], keys[j])
		}
		seen[sum] = i
	}
}
