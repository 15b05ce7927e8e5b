// Package storetest is the conformance suite for [store.Store]: every
// implementation runs [Run] from its tests, so the embedded and the
// PostgreSQL store keep one contract. It is imported only from _test.go
// files.
package storetest

import (
	"cmp"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for
// each call, and close it in t.Cleanup (the suite may close it first:
// Close may be called twice).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"FeedStateRoundTrip", testFeedStateRoundTrip},
		{"FeedStateNotFound", testFeedStateNotFound},
		{"ReplaceFeedRoundTrip", testReplaceFeedRoundTrip},
		{"ReplaceFeedReplaces", testReplaceFeedReplaces},
		{"ReplaceFeedDuplicateKeys", testReplaceFeedDuplicateKeys},
		{"ReplaceFeedSourceFeed", testReplaceFeedSourceFeed},
		{"ReplaceFeedAtomic", testReplaceFeedAtomic},
		{"ReplaceFeedInvalidState", testReplaceFeedInvalidState},
		{"ReplaceFeedEmpty", testReplaceFeedEmpty},
		{"UpdateFeedState", testUpdateFeedState},
		{"DeleteFeed", testDeleteFeed},
		{"AddDelete", testAddDelete},
		{"AddInvalid", testAddInvalid},
		{"Subject", testSubject},
		{"Covering", testCovering},
		{"Changes", testChanges},
		{"ChangesPaging", testChangesPaging},
		{"ChangesCursorExpired", testChangesCursorExpired},
		{"ConcurrentReaders", testConcurrentReaders},
		{"LargeFeed", testLargeFeed},
		{"StreamBreak", testStreamBreak},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// The instant the fixtures start from: nanoseconds and a zone that the
// store must reduce to microseconds in UTC.
var t0 = time.Date(2026, 9, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))

func addr(s string) proxywatch.Subject { return proxywatch.AddrSubject(netip.MustParseAddr(s)) }
func pfx(s string) proxywatch.Subject  { return proxywatch.PrefixSubject(netip.MustParsePrefix(s)) }

// sample returns indicators of feed that exercise every field: IPv4 and
// IPv6 addresses and prefixes, a domain and an ASN, zero and non-zero
// times (before 1970 and after 2262 too), tags, port and protocol, text
// outside ASCII, and one subject under several kinds and ports.
func sample(feed string) []proxywatch.Indicator {
	return []proxywatch.Indicator{
		{
			Subject: addr("203.0.113.7"), Kind: proxywatch.KindC2,
			Source:     proxywatch.Source{Feed: feed, Section: "Command and Control Servers", Line: 12},
			Confidence: 90, Tags: []string{"5socks", "themoon"}, Port: 443, Proto: "tcp",
			Comment:   "C2 für Anyproxy — 代理",
			FirstSeen: t0, LastSeen: t0.Add(time.Hour), Expires: t0.Add(30 * 24 * time.Hour),
		},
		{Subject: addr("203.0.113.7"), Kind: proxywatch.KindOpenProxy, Source: proxywatch.Source{Feed: feed, Line: 13},
			Confidence: 50, Port: 8080, Proto: "http"},
		{Subject: addr("203.0.113.7"), Kind: proxywatch.KindOpenProxy, Source: proxywatch.Source{Feed: feed, Line: 14},
			Confidence: 50, Port: 1080, Proto: "socks5"},
		{Subject: pfx("198.51.100.0/24"), Kind: proxywatch.KindScanner, Source: proxywatch.Source{Feed: feed}},
		{Subject: pfx("192.0.2.0/24"), Kind: proxywatch.KindUnknown, Source: proxywatch.Source{Feed: feed, Line: 2},
			Confidence: 100, Tags: []string{"single"},
			FirstSeen: time.Date(1969, 7, 20, 20, 17, 40, 999, time.UTC), Expires: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{Subject: pfx("2001:db8::/32"), Kind: proxywatch.KindResidentialProxy, Source: proxywatch.Source{Feed: feed, Line: 3},
			Confidence: 30, LastSeen: t0},
		{Subject: addr("2001:db8::7"), Kind: proxywatch.KindBackconnectC2, Source: proxywatch.Source{Feed: feed, Section: "# Backconnect C2s"},
			Confidence: 80, Port: 1080, Proto: "socks5", Tags: []string{}},
		{Subject: proxywatch.DomainSubject("c2.example.org"), Kind: proxywatch.KindC2, Source: proxywatch.Source{Feed: feed, Line: 20},
			Confidence: 70, Comment: "domain"},
		{Subject: proxywatch.ASNSubject(64496), Kind: proxywatch.KindAnonymizer, Source: proxywatch.Source{Feed: feed, Line: 21},
			Confidence: 60, Tags: []string{"asn-drop"}, FirstSeen: t0},
	}
}

// stored returns what the store must give back for inds: normalized.
func stored(t *testing.T, inds []proxywatch.Indicator) []proxywatch.Indicator {
	t.Helper()
	if len(inds) == 0 {
		return nil
	}
	out := make([]proxywatch.Indicator, len(inds))
	for i, ind := range inds {
		n, err := store.Normalize(ind)
		if err != nil {
			t.Fatalf("Normalize(%v) error %v", ind.Subject, err)
		}
		out[i] = n
	}
	return out
}

// keyString orders indicators for comparison.
func keyString(ind proxywatch.Indicator) string {
	return fmt.Sprintf("%s|%s|%s|%d|%s", ind.Source.Feed, ind.Subject, ind.Kind, ind.Port, ind.Proto)
}

// cmpOpts compares indicators and states: subjects by value, times by
// instant, slices of indicators in any order. Nil and empty tags differ.
var cmpOpts = gocmp.Options{
	gocmp.Comparer(func(a, b proxywatch.Subject) bool { return a == b }),
	cmpopts.SortSlices(func(a, b proxywatch.Indicator) bool { return keyString(a) < keyString(b) }),
}

// collect reads a stream to the end.
func collect(t *testing.T, seq iter.Seq2[proxywatch.Indicator, error]) []proxywatch.Indicator {
	t.Helper()
	var out []proxywatch.Indicator
	for ind, err := range seq {
		if err != nil {
			t.Fatalf("stream error %v", err)
		}
		out = append(out, ind)
	}
	return out
}

// wantFeed checks that feed holds exactly want (already normalized).
func wantFeed(t *testing.T, s store.Store, feed string, want []proxywatch.Indicator) {
	t.Helper()
	got := collect(t, s.Indicators(t.Context(), feed))
	if diff := gocmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("Indicators(%q) mismatch (-want +got):\n%s", feed, diff)
	}
}

// mustReplace replaces feed with inds and a state named feed.
func mustReplace(t *testing.T, s store.Store, st store.FeedState, inds []proxywatch.Indicator) {
	t.Helper()
	if err := s.ReplaceFeed(t.Context(), st, store.FromSlice(inds)); err != nil {
		t.Fatalf("ReplaceFeed(%q, %d indicators) error %v", st.Name, len(inds), err)
	}
}

// mustSeq returns s.Seq.
func mustSeq(t *testing.T, s store.Store) uint64 {
	t.Helper()
	seq, err := s.Seq(t.Context())
	if err != nil {
		t.Fatalf("Seq() error %v", err)
	}
	return seq
}

// sortedSubjects returns the distinct subjects of inds as sorted strings.
func sortedSubjects(inds []proxywatch.Indicator) []string {
	var out []string
	for _, ind := range inds {
		out = append(out, ind.Subject.String())
	}
	slices.SortFunc(out, cmp.Compare)
	return slices.Compact(out)
}
