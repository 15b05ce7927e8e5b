package storetest

import (
	"errors"
	"net/netip"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

func wantCount(t *testing.T, s store.Store, feed string, want int) {
	t.Helper()
	st, err := s.FeedState(t.Context(), feed)
	if err != nil || st.Indicators != want {
		t.Errorf("FeedState(%q).Indicators = %d, %v, want %d, nil", feed, st.Indicators, err, want)
	}
}

func testAddDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	one := proxywatch.Indicator{Subject: addr("203.0.113.9"), Kind: proxywatch.KindBruteForce,
		Source: proxywatch.Source{Feed: "local"}, Confidence: 100, Comment: "added by hand", Expires: t0}
	if err := s.Add(ctx, one); err != nil {
		t.Fatalf("Add(%s) error %v", one.Subject, err)
	}
	wantFeed(t, s, "local", stored(t, []proxywatch.Indicator{one}))
	wantCount(t, s, "local", 1)

	// The same key again replaces it.
	upd := one
	upd.Confidence, upd.Tags = 40, []string{"updated"}
	if err := s.Add(ctx, upd); err != nil {
		t.Fatalf("Add(%s) again error %v", upd.Subject, err)
	}
	wantFeed(t, s, "local", stored(t, []proxywatch.Indicator{upd}))
	wantCount(t, s, "local", 1)

	// Another port is another indicator.
	two := one
	two.Port, two.Proto = 22, "tcp"
	if err := s.Add(ctx, two); err != nil {
		t.Fatalf("Add(%s port 22) error %v", two.Subject, err)
	}
	wantCount(t, s, "local", 2)

	// Adding to a feed loaded in bulk, and deleting from it.
	mustReplace(t, s, store.FeedState{Name: "bulk"}, sample("bulk"))
	extra := proxywatch.Indicator{Subject: pfx("2001:db8:1::/48"), Kind: proxywatch.KindC2, Source: proxywatch.Source{Feed: "bulk"}}
	if err := s.Add(ctx, extra); err != nil {
		t.Fatalf("Add(%s to bulk) error %v", extra.Subject, err)
	}
	wantFeed(t, s, "bulk", stored(t, append(sample("bulk"), extra)))
	wantCount(t, s, "bulk", len(sample("bulk"))+1)
	gone := sample("bulk")[0]
	if err := s.Delete(ctx, gone.Key()); err != nil {
		t.Fatalf("Delete(%v) error %v", gone.Key(), err)
	}
	wantFeed(t, s, "bulk", stored(t, append(sample("bulk")[1:], extra)))
	wantCount(t, s, "bulk", len(sample("bulk")))

	if err := s.Delete(ctx, one.Key()); err != nil {
		t.Fatalf("Delete(%v) error %v", one.Key(), err)
	}
	wantFeed(t, s, "local", stored(t, []proxywatch.Indicator{two}))
	wantCount(t, s, "local", 1)

	seq := mustSeq(t, s)
	for _, k := range []proxywatch.Key{
		one.Key(),                              // already deleted
		{Feed: "absent", Subject: one.Subject}, // no such feed
		{Feed: "local", Subject: two.Subject, Kind: two.Kind, Port: 23, Proto: "tcp"}, // other port
	} {
		if err := s.Delete(ctx, k); !errors.Is(err, proxywatch.ErrNotFound) {
			t.Errorf("Delete(%+v) error = %v, want ErrNotFound", k, err)
		}
	}
	if got := mustSeq(t, s); got != seq {
		t.Errorf("Seq() after failed deletes = %d, want %d", got, seq)
	}

	// A later ReplaceFeed replaces what was added by hand too.
	mustReplace(t, s, store.FeedState{Name: "bulk"}, sample("bulk"))
	wantFeed(t, s, "bulk", stored(t, sample("bulk")))
}

func testAddInvalid(t *testing.T, s store.Store) {
	good := proxywatch.Indicator{Subject: addr("192.0.2.1"), Kind: proxywatch.KindC2, Source: proxywatch.Source{Feed: "local"}}
	tests := []struct {
		name string
		mod  func(*proxywatch.Indicator)
	}{
		{"empty feed", func(i *proxywatch.Indicator) { i.Source.Feed = "" }},
		{"no subject", func(i *proxywatch.Indicator) { i.Subject = proxywatch.Subject{} }},
		{"unmasked prefix", func(i *proxywatch.Indicator) {
			i.Subject = proxywatch.Subject{Prefix: netip.MustParsePrefix("192.0.2.1/24")}
		}},
		{"unknown kind", func(i *proxywatch.Indicator) { i.Kind = 250 }},
		{"confidence above 100", func(i *proxywatch.Indicator) { i.Confidence = 101 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ind := good
			tc.mod(&ind)
			if err := s.Add(t.Context(), ind); !errors.Is(err, proxywatch.ErrInvalid) {
				t.Errorf("Add(%+v) error = %v, want ErrInvalid", ind, err)
			}
		})
	}
	if err := s.Delete(t.Context(), proxywatch.Key{Feed: "local"}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Delete(no subject) error = %v, want ErrInvalid", err)
	}
	wantFeed(t, s, "", nil)
	if seq := mustSeq(t, s); seq != 0 {
		t.Errorf("Seq() after only invalid writes = %d, want 0", seq)
	}
}

func testSubject(t *testing.T, s store.Store) {
	mustReplace(t, s, store.FeedState{Name: "a"}, sample("a"))
	mustReplace(t, s, store.FeedState{Name: "b"}, sample("b")[:4])
	tests := []struct {
		name    string
		subject proxywatch.Subject
		want    []proxywatch.Indicator
	}{
		{"address in two feeds, three kinds and ports", addr("203.0.113.7"), append(sample("a")[:3], sample("b")[:3]...)},
		{"prefix", pfx("198.51.100.0/24"), []proxywatch.Indicator{sample("a")[3], sample("b")[3]}},
		{"ipv6 prefix", pfx("2001:db8::/32"), sample("a")[5:6]},
		{"domain", proxywatch.DomainSubject("C2.Example.org."), sample("a")[7:8]},
		{"asn", proxywatch.ASNSubject(64496), sample("a")[8:9]},
		{"address inside a listed prefix is not the prefix", addr("198.51.100.1"), nil},
		{"absent domain", proxywatch.DomainSubject("example.net"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Subject(t.Context(), tc.subject)
			if err != nil {
				t.Fatalf("Subject(%s) error %v", tc.subject, err)
			}
			if diff := gocmp.Diff(stored(t, tc.want), got, cmpOpts); diff != "" {
				t.Errorf("Subject(%s) mismatch (-want +got):\n%s", tc.subject, diff)
			}
		})
	}
	if _, err := s.Subject(t.Context(), proxywatch.Subject{}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Subject(zero) error = %v, want ErrInvalid", err)
	}
}

func testCovering(t *testing.T, s store.Store) {
	ind := func(subject proxywatch.Subject) proxywatch.Indicator {
		return proxywatch.Indicator{Subject: subject, Kind: proxywatch.KindOther, Source: proxywatch.Source{Feed: "c"}}
	}
	mustReplace(t, s, store.FeedState{Name: "c"}, []proxywatch.Indicator{
		ind(addr("203.0.113.7")), ind(pfx("203.0.113.0/24")), ind(pfx("203.0.112.0/23")),
		ind(pfx("198.51.100.0/24")), ind(pfx("2001:db8::/32")), ind(addr("2001:db8::7")),
		ind(pfx("2001:db8:ffff::/48")), ind(proxywatch.DomainSubject("host.example.org")), ind(proxywatch.ASNSubject(64496)),
	})
	mustReplace(t, s, store.FeedState{Name: "wide"}, []proxywatch.Indicator{
		{Subject: pfx("0.0.0.0/0"), Source: proxywatch.Source{Feed: "wide"}},
		{Subject: pfx("::/0"), Source: proxywatch.Source{Feed: "wide"}},
	})
	tests := []struct {
		addr string
		want []string
	}{
		{"203.0.113.7", []string{"0.0.0.0/0", "203.0.112.0/23", "203.0.113.0/24", "203.0.113.7/32"}},
		{"::ffff:203.0.113.7", []string{"0.0.0.0/0", "203.0.112.0/23", "203.0.113.0/24", "203.0.113.7/32"}},
		{"203.0.113.6", []string{"0.0.0.0/0", "203.0.112.0/23", "203.0.113.0/24"}},
		{"203.0.113.255", []string{"0.0.0.0/0", "203.0.112.0/23", "203.0.113.0/24"}},
		{"203.0.112.0", []string{"0.0.0.0/0", "203.0.112.0/23"}},
		{"203.0.114.0", []string{"0.0.0.0/0"}},
		{"198.51.100.0", []string{"0.0.0.0/0", "198.51.100.0/24"}},
		{"198.51.101.0", []string{"0.0.0.0/0"}},
		{"2001:db8::7", []string{"2001:db8::/32", "2001:db8::7/128", "::/0"}},
		{"2001:db8::8", []string{"2001:db8::/32", "::/0"}},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", []string{"2001:db8::/32", "2001:db8:ffff::/48", "::/0"}},
		{"2001:db9::", []string{"::/0"}},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := s.Covering(t.Context(), netip.MustParseAddr(tc.addr))
			if err != nil {
				t.Fatalf("Covering(%s) error %v", tc.addr, err)
			}
			if diff := gocmp.Diff(tc.want, sortedSubjects(got)); diff != "" {
				t.Errorf("Covering(%s) mismatch (-want +got):\n%s", tc.addr, diff)
			}
		})
	}
	if err := s.DeleteFeed(t.Context(), "wide"); err != nil {
		t.Fatalf("DeleteFeed(wide) error %v", err)
	}
	if got, err := s.Covering(t.Context(), netip.MustParseAddr("192.0.2.1")); err != nil || len(got) != 0 {
		t.Errorf("Covering(192.0.2.1) = %v, %v, want none, nil", got, err)
	}
	if _, err := s.Covering(t.Context(), netip.Addr{}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("Covering(invalid address) error = %v, want ErrInvalid", err)
	}
}
