package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
)

func TestPrefixRange(t *testing.T) {
	tests := []struct {
		name        string
		prefix      string
		family      int
		first, last string
	}{
		{"v4 host", "203.0.113.7/32", 4, "203.0.113.7", "203.0.113.7"},
		{"v4 /24", "198.51.100.0/24", 4, "198.51.100.0", "198.51.100.255"},
		{"v4 /21", "192.0.0.0/21", 4, "192.0.0.0", "192.0.7.255"},
		{"v4 /0", "0.0.0.0/0", 4, "0.0.0.0", "255.255.255.255"},
		{"v6 /32", "2001:db8::/32", 6, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"v6 /127", "2001:db8::/127", 6, "2001:db8::", "2001:db8::1"},
		{"v6 /0", "::/0", 6, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fam, first, last := PrefixRange(netip.MustParsePrefix(tc.prefix))
			got := []any{fam, netip.AddrFrom16(first).Unmap().String(), netip.AddrFrom16(last).Unmap().String()}
			want := []any{tc.family, tc.first, tc.last}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PrefixRange(%s) mismatch (-want +got):\n%s", tc.prefix, diff)
			}
		})
	}
}

// TestCoveringStartsDifferential checks the index scheme against
// netip.Prefix.Contains on random prefixes and addresses.
func TestCoveringStartsDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.UintN(4)) // few distinct values, so prefixes often match
			}
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{byte(r.UintN(4)), byte(r.UintN(4)), byte(r.UintN(4)), byte(r.UintN(4))})
	}
	var pos, neg int
	for range 20000 {
		v6p, v6a := r.UintN(2) == 0, r.UintN(2) == 0
		pa := randAddr(v6p)
		p := netip.PrefixFrom(pa, int(r.UintN(uint(pa.BitLen()+1)))).Masked()
		a := randAddr(v6a)
		pfam, first, last := PrefixRange(p)
		fam, a16, starts, err := CoveringStarts(a)
		if err != nil {
			t.Fatalf("CoveringStarts(%s) error %v", a, err)
		}
		inStarts := false
		for _, s := range starts {
			if s == first {
				inStarts = true
			}
		}
		got := fam == pfam && inStarts && bytes.Compare(last[:], a16[:]) >= 0
		want := p.Contains(a)
		if got != want {
			t.Fatalf("covering by index scheme (%s, %s) = %v, want %v", p, a, got, want)
		}
		if want {
			pos++
		} else {
			neg++
		}
	}
	if pos < 1000 || neg < 1000 {
		t.Errorf("random cases: %d covering, %d not; want at least 1000 of each", pos, neg)
	}
}

func TestCoveringStartsMapped(t *testing.T) {
	fam, a16, _, err := CoveringStarts(netip.MustParseAddr("::ffff:203.0.113.7"))
	if err != nil || fam != 4 || netip.AddrFrom16(a16).Unmap() != netip.MustParseAddr("203.0.113.7") {
		t.Errorf("CoveringStarts(::ffff:203.0.113.7) = %d, %v, %v, want 4, 203.0.113.7, nil", fam, netip.AddrFrom16(a16), err)
	}
	for _, s := range []string{"", "fe80::1%eth0"} {
		var a netip.Addr
		if s != "" {
			a = netip.MustParseAddr(s)
		}
		if _, _, _, err := CoveringStarts(a); !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("CoveringStarts(%q) error = %v, want ErrInvalid", s, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	good := proxywatch.Indicator{
		Subject:    proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.7")),
		Kind:       proxywatch.KindC2,
		Source:     proxywatch.Source{Feed: "f\xff", Section: "a\x00b"},
		Confidence: 100,
		Tags:       []string{},
		FirstSeen:  time.Date(2026, 9, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600)),
	}
	got, err := Normalize(good)
	if err != nil {
		t.Fatalf("Normalize(good) error %v", err)
	}
	want := good
	want.Source = proxywatch.Source{Feed: "f\uFFFD", Section: "a\uFFFDb"}
	want.Tags = nil
	want.FirstSeen = time.Date(2026, 9, 1, 9, 0, 0, 123456000, time.UTC)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b proxywatch.Subject) bool { return a == b })); diff != "" {
		t.Errorf("Normalize(good) mismatch (-want +got):\n%s", diff)
	}
	if got.FirstSeen.Location() != time.UTC {
		t.Errorf("Normalize(good).FirstSeen location = %v, want UTC", got.FirstSeen.Location())
	}

	bad := []struct {
		name string
		mod  func(*proxywatch.Indicator)
	}{
		{"no subject", func(i *proxywatch.Indicator) { i.Subject = proxywatch.Subject{} }},
		{"unmasked prefix", func(i *proxywatch.Indicator) {
			i.Subject = proxywatch.Subject{Prefix: netip.MustParsePrefix("203.0.113.7/24")}
		}},
		{"mapped prefix", func(i *proxywatch.Indicator) {
			i.Subject = proxywatch.PrefixSubject(netip.MustParsePrefix("::ffff:203.0.113.0/120"))
		}},
		{"upper-case domain", func(i *proxywatch.Indicator) { i.Subject = proxywatch.Subject{Domain: "Example.org"} }},
		{"two fields", func(i *proxywatch.Indicator) { i.Subject.ASN = 64496 }},
		{"unknown kind", func(i *proxywatch.Indicator) { i.Kind = 200 }},
		{"confidence", func(i *proxywatch.Indicator) { i.Confidence = 101 }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			ind := good
			tc.mod(&ind)
			if _, err := Normalize(ind); !errors.Is(err, proxywatch.ErrInvalid) {
				t.Errorf("Normalize(%+v) error = %v, want ErrInvalid", ind, err)
			}
		})
	}
}

func TestNormalizeState(t *testing.T) {
	if _, err := NormalizeState(FeedState{}); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("NormalizeState(empty name) error = %v, want ErrInvalid", err)
	}
	if _, err := NormalizeState(FeedState{Name: "f", Holds: -1}); err == nil || !strings.Contains(err.Error(), "holds") {
		t.Errorf("NormalizeState(holds -1) error = %v, want one naming holds", err)
	}
}

func TestChangeOpText(t *testing.T) {
	for _, op := range []ChangeOp{ChangeFeed, ChangeState, ChangeAdd, ChangeDelete} {
		b, _ := op.MarshalText()
		var got ChangeOp
		if err := got.UnmarshalText(b); err != nil || got != op {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v, nil", b, got, err, op)
		}
	}
	if _, err := ParseChangeOp("unknown"); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("ParseChangeOp(unknown) error = %v, want ErrInvalid", err)
	}
}
