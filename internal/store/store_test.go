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

func TestSubjectKey(t *testing.T) {
	tests := []struct {
		name    string
		subject proxywatch.Subject
		want    []byte
	}{
		{"v4 host", addrS("203.0.113.7"), []byte{4, 203, 0, 113, 7, 32}},
		{"v4 /21", pfxS("192.0.0.0/21"), []byte{4, 192, 0, 0, 0, 21}},
		{"v4 /0", pfxS("0.0.0.0/0"), []byte{4, 0, 0, 0, 0, 0}},
		{"v6 /32", pfxS("2001:db8::/32"), []byte{6, 0x20, 0x01, 0x0d, 0xb8, 12: 0, 16: 0, 17: 32}},
		{"domain", proxywatch.DomainSubject("a.example"), []byte("da.example")},
		{"asn", proxywatch.ASNSubject(64496), []byte{'a', 0, 0, 0xfb, 0xf0}},
		{"zero", proxywatch.Subject{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SubjectKey(tc.subject); !bytes.Equal(got, tc.want) {
				t.Errorf("SubjectKey(%s) = %v, want %v", tc.subject, got, tc.want)
			}
		})
	}
	// Keys of different subjects differ, whatever their types.
	seen := map[string]proxywatch.Subject{}
	for _, s := range []proxywatch.Subject{
		addrS("0.0.0.0"), pfxS("0.0.0.0/0"), addrS("::"), pfxS("::/0"), pfxS("::/32"), addrS("100.0.0.97"),
		proxywatch.DomainSubject("a.b"), proxywatch.ASNSubject(1), addrS("::ffff:0.0.0.1"),
	} {
		k := string(SubjectKey(s))
		if prev, ok := seen[k]; ok {
			t.Errorf("SubjectKey(%s) = SubjectKey(%s) = %v", s, prev, []byte(k))
		}
		seen[k] = s
	}
}

func addrS(s string) proxywatch.Subject { return proxywatch.AddrSubject(netip.MustParseAddr(s)) }
func pfxS(s string) proxywatch.Subject  { return proxywatch.PrefixSubject(netip.MustParsePrefix(s)) }

// TestCoveringKeysDifferential checks the index scheme against
// netip.Prefix.Contains on random prefixes and addresses.
func TestCoveringKeysDifferential(t *testing.T) {
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
		pa := randAddr(r.UintN(2) == 0)
		p := netip.PrefixFrom(pa, int(r.UintN(uint(pa.BitLen()+1)))).Masked()
		a := randAddr(r.UintN(2) == 0)
		keys, err := CoveringKeys(a)
		if err != nil {
			t.Fatalf("CoveringKeys(%s) error %v", a, err)
		}
		pk := SubjectKey(proxywatch.PrefixSubject(p))
		got := false
		for _, k := range keys {
			got = got || bytes.Equal(k, pk)
		}
		want := p.Contains(a)
		if got != want {
			t.Fatalf("SubjectKey(%s) in CoveringKeys(%s) = %v, want %v", p, a, got, want)
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

func TestCoveringKeysMapped(t *testing.T) {
	got, err := CoveringKeys(netip.MustParseAddr("::ffff:203.0.113.7"))
	want, _ := CoveringKeys(netip.MustParseAddr("203.0.113.7"))
	if err != nil || len(got) != 33 || !bytes.Equal(got[32], want[32]) {
		t.Errorf("CoveringKeys(::ffff:203.0.113.7) = %d keys, %v, want the 33 of 203.0.113.7", len(got), err)
	}
	for _, s := range []string{"", "fe80::1%eth0"} {
		var a netip.Addr
		if s != "" {
			a = netip.MustParseAddr(s)
		}
		if _, err := CoveringKeys(a); !errors.Is(err, proxywatch.ErrInvalid) {
			t.Errorf("CoveringKeys(%q) error = %v, want ErrInvalid", s, err)
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
