package export

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ind(s string, conf uint8, expires time.Duration) proxywatch.Indicator {
	sub, err := proxywatch.ParseSubject(s)
	if err != nil {
		panic(err)
	}
	i := proxywatch.Indicator{Subject: sub, Kind: proxywatch.KindOpenProxy, Confidence: conf, Source: proxywatch.Source{Feed: "f"}}
	if expires != 0 {
		i.Expires = now.Add(expires)
	}
	return i
}

func rangesString(rs []Range) []string {
	var out []string
	for _, r := range rs {
		s := r.From.String() + "-" + r.To.String()
		if p, ok := r.Prefix(); ok {
			s = p.String()
		}
		if r.Timeout > 0 {
			s += " " + r.Timeout.String()
		}
		out = append(out, s)
	}
	return out
}

func TestCollapse(t *testing.T) {
	tests := []struct {
		name    string
		inds    []proxywatch.Indicator
		opts    Options
		max     time.Duration
		want    []string
		wantErr error
	}{
		{name: "empty", opts: Options{Now: now}},
		{name: "no now", opts: Options{}, wantErr: proxywatch.ErrInvalid},
		{name: "bad name", opts: Options{Now: now, Name: "a-b"}, wantErr: proxywatch.ErrInvalid},
		{
			name: "filters",
			inds: []proxywatch.Indicator{
				ind("192.0.2.1", 50, 0), ind("192.0.2.2", 10, 0), ind("192.0.2.3", 50, -time.Second),
				{Subject: proxywatch.DomainSubject("example.org"), Confidence: 90},
				ind("2001:db8::1", 50, time.Hour),
			},
			opts: Options{Now: now, MinConfidence: 20},
			want: []string{"192.0.2.1/32", "2001:db8::1/128"},
		},
		{
			name: "adjacent merge into one range",
			inds: []proxywatch.Indicator{ind("192.0.2.0/25", 50, 0), ind("192.0.2.128/26", 50, 0), ind("192.0.2.192", 50, 0)},
			opts: Options{Now: now},
			want: []string{"192.0.2.0-192.0.2.192"},
		},
		{
			name: "nested shorter-lived child absorbed",
			inds: []proxywatch.Indicator{ind("192.0.2.0/24", 50, 2*time.Hour), ind("192.0.2.7", 50, time.Hour)},
			opts: Options{Now: now, Timeout: true},
			want: []string{"192.0.2.0/24 2h0m0s"},
		},
		{
			name: "nested longer-lived child kept",
			inds: []proxywatch.Indicator{ind("192.0.2.0/24", 50, time.Hour), ind("192.0.2.7", 50, 0)},
			opts: Options{Now: now, Timeout: true},
			want: []string{"192.0.2.0-192.0.2.6 1h0m0s", "192.0.2.7/32", "192.0.2.8-192.0.2.255 1h0m0s"},
		},
		{
			name: "timeouts ignored without Options.Timeout",
			inds: []proxywatch.Indicator{ind("192.0.2.0/24", 50, time.Hour), ind("192.0.2.7", 50, 0)},
			opts: Options{Now: now},
			want: []string{"192.0.2.0/24"},
		},
		{
			name: "cap merges",
			inds: []proxywatch.Indicator{ind("192.0.2.0/25", 50, 48*time.Hour), ind("192.0.2.128/25", 50, 72*time.Hour)},
			opts: Options{Now: now, Timeout: true},
			max:  24 * time.Hour,
			want: []string{"192.0.2.0/24 24h0m0s"},
		},
		{
			name: "round up",
			inds: []proxywatch.Indicator{ind("192.0.2.0/25", 50, 1500*time.Millisecond)},
			opts: Options{Now: now, Timeout: true},
			want: []string{"192.0.2.0/25 2s"},
		},
		{
			name: "allowlist carved",
			inds: []proxywatch.Indicator{ind("192.0.2.0/24", 50, 0), ind("198.51.100.0/24", 50, 0), ind("203.0.113.9", 50, 0)},
			opts: Options{Now: now, Allowlist: []netip.Prefix{
				netip.MustParsePrefix("192.0.2.64/26"), netip.MustParsePrefix("198.51.100.0/23"),
				netip.MustParsePrefix("192.0.2.255/32"),
			}},
			want: []string{"192.0.2.0/26", "192.0.2.128-192.0.2.254", "203.0.113.9/32"},
		},
		{
			name: "whole address space",
			inds: []proxywatch.Indicator{ind("0.0.0.0/0", 50, time.Hour), ind("255.255.255.255", 50, 0), ind("::/0", 50, 0)},
			opts: Options{Now: now, Timeout: true},
			want: []string{"0.0.0.0-255.255.255.254 1h0m0s", "255.255.255.255/32", "::/0"},
		},
		{
			name: "mapped address",
			inds: []proxywatch.Indicator{{Subject: proxywatch.Subject{Prefix: netip.MustParsePrefix("::ffff:192.0.2.1/128")}, Confidence: 1}},
			opts: Options{Now: now},
			want: []string{"192.0.2.1/32"},
		},
		{
			name: "duplicates keep longest",
			inds: []proxywatch.Indicator{ind("192.0.2.0/24", 50, time.Hour), ind("192.0.2.0/24", 50, 3*time.Hour), ind("192.0.2.0/24", 50, 2*time.Hour)},
			opts: Options{Now: now, Timeout: true},
			want: []string{"192.0.2.0/24 3h0m0s"},
		},
		{
			name: "kinds",
			inds: []proxywatch.Indicator{ind("192.0.2.1", 50, 0), {Subject: proxywatch.AddrSubject(netip.MustParseAddr("192.0.2.2")), Kind: proxywatch.KindC2}},
			opts: Options{Now: now, Kinds: []proxywatch.Kind{proxywatch.KindC2}},
			want: []string{"192.0.2.2/32"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Collapse(slices.Values(tc.inds), tc.opts, tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Collapse() error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, rangesString(got)); diff != "" {
				t.Errorf("Collapse() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollapseStats(t *testing.T) {
	inds := []proxywatch.Indicator{
		ind("192.0.2.1", 50, 0), ind("192.0.2.2", 10, 0), ind("192.0.2.3", 50, -time.Second),
		{Subject: proxywatch.ASNSubject(64496), Confidence: 90},
		ind("198.51.100.0/24", 50, 0), ind("203.0.113.7", 50, 0),
		{Subject: proxywatch.AddrSubject(netip.MustParseAddr("192.0.2.9")), Kind: proxywatch.KindC2, Confidence: 90},
	}
	opts := Options{Now: now, MinConfidence: 20, Kinds: []proxywatch.Kind{proxywatch.KindOpenProxy},
		Allowlist: []netip.Prefix{netip.MustParsePrefix("198.51.100.128/25"), netip.MustParsePrefix("203.0.113.0/24")}}
	_, st, err := Collapse(slices.Values(inds), opts, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Indicators: 7, NotPrefix: 1, Expired: 1, BelowConfidence: 1, OtherKind: 1, Selected: 3, Allowlisted: 1, Carved: 1}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("Collapse() stats mismatch (-want +got):\n%s", diff)
	}
}

func TestSpanPrefix(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		want     []string
	}{
		{name: "single", from: "192.0.2.1", to: "192.0.2.1", want: []string{"192.0.2.1/32"}},
		{name: "aligned", from: "192.0.2.0", to: "192.0.2.255", want: []string{"192.0.2.0/24"}},
		{name: "unaligned", from: "192.0.2.1", to: "192.0.2.4", want: []string{"192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/32"}},
		{name: "all v4", from: "0.0.0.0", to: "255.255.255.255", want: []string{"0.0.0.0/0"}},
		{name: "top v4", from: "255.255.255.254", to: "255.255.255.255", want: []string{"255.255.255.254/31"}},
		{name: "all v6", from: "::", to: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", want: []string{"::/0"}},
		{name: "v6 across halves", from: "::ffff:ffff:ffff:ffff", to: "0:0:0:1::", want: []string{"::ffff:ffff:ffff:ffff/128", "0:0:0:1::/128"}},
		{name: "v6 upper half", from: "8000::", to: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", want: []string{"8000::/1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Range{From: netip.MustParseAddr(tc.from), To: netip.MustParseAddr(tc.to)}
			var got []string
			for _, p := range r.AppendPrefixes(nil) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%v.AppendPrefixes() mismatch (-want +got):\n%s", r, diff)
			}
			p, ok := r.Prefix()
			if ok != (len(tc.want) == 1) || ok && p.String() != tc.want[0] {
				t.Errorf("%v.Prefix() = %v, %v, want %v", r, p, ok, tc.want)
			}
		})
	}
}

// universe is a small address space for brute-force checks: 192.0.2.0/26
// and 2001:db8::/122.
var universe = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/26"), netip.MustParsePrefix("2001:db8::/122")}

// randomInput returns indicators and an allowlist within the universe.
func randomInput(r *rand.Rand, n int) ([]proxywatch.Indicator, []netip.Prefix) {
	pick := func() netip.Prefix {
		u := universe[r.IntN(2)]
		host := u.Addr().BitLen() - u.Bits()
		bits := u.Bits() + r.IntN(host+1)
		a := u.Addr().As16()
		off := r.IntN(1 << host)
		if u.Addr().Is4() {
			b := u.Addr().As4()
			b[3] |= byte(off)
			return netip.PrefixFrom(netip.AddrFrom4(b), bits).Masked()
		}
		a[15] |= byte(off)
		return netip.PrefixFrom(netip.AddrFrom16(a), bits).Masked()
	}
	var inds []proxywatch.Indicator
	for range n {
		i := proxywatch.Indicator{Subject: proxywatch.PrefixSubject(pick()), Confidence: uint8(r.IntN(101)),
			Kind: proxywatch.Kinds()[r.IntN(3)]}
		switch r.IntN(4) {
		case 0: // never expires
		case 1:
			i.Expires = now.Add(-time.Duration(r.IntN(100)) * time.Second)
		default:
			i.Expires = now.Add(time.Duration(1+r.IntN(5)) * time.Hour)
		}
		inds = append(inds, i)
	}
	var al []netip.Prefix
	for range r.IntN(3) {
		al = append(al, pick())
	}
	return inds, al
}

// bruteForce returns, for every address of the universe, the lifetime
// Collapse should give it (-1 when it is not held, 0 when permanent).
func bruteForce(inds []proxywatch.Indicator, opts Options) map[netip.Addr]time.Duration {
	want := map[netip.Addr]time.Duration{}
	for _, u := range universe {
		for a := u.Addr(); u.Contains(a); a = a.Next() {
			life := time.Duration(-1)
			for _, i := range inds {
				p := i.Subject.Prefix
				if !p.Contains(a) || i.ExpiredAt(opts.Now) || i.Confidence < opts.MinConfidence ||
					len(opts.Kinds) > 0 && !slices.Contains(opts.Kinds, i.Kind) {
					continue
				}
				l := time.Duration(0)
				if opts.Timeout && !i.Expires.IsZero() {
					l = (i.Expires.Sub(opts.Now) + time.Second - 1).Truncate(time.Second)
				}
				switch {
				case life == 0:
				case l == 0 || l > life:
					life = l
				}
			}
			for _, p := range opts.Allowlist {
				if p.Contains(a) {
					life = -1
				}
			}
			want[a] = life
		}
	}
	return want
}

// checkRanges checks that rs are sorted, disjoint and maximal, and hold
// exactly the lifetimes want gives.
func checkRanges(t *testing.T, rs []Range, want map[netip.Addr]time.Duration) {
	t.Helper()
	got := map[netip.Addr]time.Duration{}
	for a := range want {
		got[a] = -1
	}
	for i, r := range rs {
		if r.To.Less(r.From) || r.From.Is4() != r.To.Is4() {
			t.Fatalf("range %d %v-%v is not a range", i, r.From, r.To)
		}
		if i > 0 {
			prev := rs[i-1]
			if !prev.To.Less(r.From) {
				t.Fatalf("ranges %v-%v and %v-%v overlap or are out of order", prev.From, prev.To, r.From, r.To)
			}
			if prev.To.Next() == r.From && prev.Timeout == r.Timeout {
				t.Errorf("ranges %v-%v and %v-%v are adjacent with the same timeout", prev.From, prev.To, r.From, r.To)
			}
		}
		for a := r.From; ; a = a.Next() {
			got[a] = r.Timeout
			if a == r.To {
				break
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifetimes by address mismatch (-want +got):\n%s", diff)
	}
}

func TestCollapseRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	for i := range rounds {
		inds, al := randomInput(r, 1+r.IntN(12))
		opts := Options{Now: now, Allowlist: al, Timeout: r.IntN(4) > 0, MinConfidence: uint8(r.IntN(30))}
		if r.IntN(3) == 0 {
			opts.Kinds = []proxywatch.Kind{proxywatch.KindC2}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			rs, _, err := Collapse(slices.Values(inds), opts, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkRanges(t, rs, bruteForce(inds, opts))
			sel, _, err := Select(slices.Values(inds), opts)
			if err != nil {
				t.Fatal(err)
			}
			checkSelect(t, sel, inds, opts)
		})
	}
}

// checkSelect checks that the union of sel's prefixes is the selected
// addresses of inds outside the allowlist, and that sel is sorted.
func checkSelect(t *testing.T, sel, inds []proxywatch.Indicator, opts Options) {
	t.Helper()
	o := opts
	o.Timeout = false
	want := bruteForce(inds, o)
	for a, l := range want {
		covered := false
		for _, s := range sel {
			if s.Subject.Prefix.Contains(a) {
				covered = true
			}
		}
		if covered != (l >= 0) {
			t.Errorf("Select(): %v covered %v, want %v", a, covered, l >= 0)
		}
	}
	if !slices.IsSortedFunc(sel, func(a, b proxywatch.Indicator) int { return Compare(&a, &b) }) {
		t.Errorf("Select() result is not sorted")
	}
}

// FuzzCollapse checks Collapse against the brute-force reference on
// inputs built from the fuzzer's bytes: each group of four bytes is a
// prefix of the universe (family, offset, length) and a lifetime.
func FuzzCollapse(f *testing.F) {
	f.Add([]byte{0, 0, 26, 0, 0, 7, 32, 3}, uint8(1))
	f.Add([]byte{1, 0, 122, 1, 1, 60, 128, 0, 0, 63, 32, 2}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, allow uint8) {
		var inds []proxywatch.Indicator
		for len(data) >= 4 && len(inds) < 16 {
			u := universe[data[0]&1]
			host := u.Addr().BitLen() - u.Bits()
			bits := u.Bits() + int(data[2])%(host+1)
			a := u.Addr().As16()
			a[15] |= data[1] & 63
			p := netip.PrefixFrom(netip.AddrFrom16(a).Unmap(), bits)
			i := proxywatch.Indicator{Subject: proxywatch.PrefixSubject(p), Confidence: 50}
			if data[3] > 0 {
				i.Expires = now.Add(time.Duration(data[3]) * time.Minute)
			}
			inds = append(inds, i)
			data = data[4:]
		}
		opts := Options{Now: now, Timeout: true}
		if allow > 0 {
			u := universe[allow&1]
			a := u.Addr().As16()
			a[15] |= allow >> 2
			opts.Allowlist = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom16(a).Unmap(), u.Addr().BitLen()-int(allow>>6)).Masked()}
		}
		rs, _, err := Collapse(slices.Values(inds), opts, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkRanges(t, rs, bruteForce(inds, opts))
	})
}
