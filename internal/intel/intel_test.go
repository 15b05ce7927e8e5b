package intel_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "v4", in: "192.0.2.1", want: "192.0.2.1/32"},
		{name: "v4 cidr host bits", in: "192.0.2.1/24", want: "192.0.2.0/24"},
		{name: "v6", in: "2001:db8::1", want: "2001:db8::1/128"},
		{name: "mapped", in: "::ffff:192.0.2.1", want: "192.0.2.1/32"},
		{name: "mapped cidr", in: "::ffff:192.0.2.0/120", want: "192.0.2.0/24"},
		{name: "mapped too short", in: "::ffff:0.0.0.0/90", wantErr: true},
		{name: "zone", in: "fe80::1%eth0", wantErr: true},
		{name: "garbage", in: "192.0.2", wantErr: true},
		{name: "leading zeros", in: "192.0.02.1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := intel.ParsePrefix(tc.in)
			if tc.wantErr != (err != nil) {
				t.Fatalf("ParsePrefix(%q) = %v, %v; wantErr %v", tc.in, p, err, tc.wantErr)
			}
			if err == nil && p.String() != tc.want {
				t.Errorf("ParsePrefix(%q) = %v, want %v", tc.in, p, tc.want)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	got, err := intel.ParseRange("192.0.2.0 - 192.0.2.130")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("192.0.2.128/31"), netip.MustParsePrefix("192.0.2.130/32")}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ParseRange mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"192.0.2.9-192.0.2.1", "192.0.2.1-2001:db8::1", "192.0.2.1-x", "nodash"} {
		if _, err := intel.ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q) succeeded, want error", bad)
		}
	}
}

func TestRefang(t *testing.T) {
	tests := map[string]string{
		"176.53.20[.]42":           "176.53.20.42",
		"195[.]123[.]233[.]68":     "195.123.233.68",
		"hxxps://evil[.]example/x": "https://evil.example/x",
		"198.51.100[.5":            "198.51.100.5",
		"example(.)org":            "example.org",
		"[2001:db8::1]:443":        "[2001:db8::1]:443",
		"user[at]example[dot]org":  "user@example.org",
		"plain.example.org":        "plain.example.org",
	}
	for in, want := range tests {
		if got := intel.Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadAllTally(t *testing.T) {
	fatal := errors.New("disk error")
	r := &inteltest.Script{Items: []any{
		proxywatch.Indicator{},
		intel.NewParseError("f", 2, intel.ReasonBadAddress, "300.1.1.1", nil),
		intel.NewExclusion("f", 3, intel.ReasonHash, "d41d8cd98f00b204e9800998ecf8427e"),
		intel.NewParseError("f", 4, intel.ReasonBadAddress, "x", nil),
		proxywatch.Indicator{},
		fatal,
		proxywatch.Indicator{},
	}}
	var n int
	tally, err := intel.ReadAll(r, func(proxywatch.Indicator) error { n++; return nil })
	if !errors.Is(err, fatal) {
		t.Fatalf("ReadAll err = %v, want %v", err, fatal)
	}
	if n != 2 || tally.Accepted != 2 || tally.Refused[intel.ReasonBadAddress] != 2 || tally.Excluded[intel.ReasonHash] != 1 {
		t.Errorf("ReadAll = %d indicators, tally %+v", n, tally)
	}
	if len(tally.Errors) != 2 || tally.Errors[0].Line != 2 {
		t.Errorf("tally.Errors = %v", tally.Errors)
	}
}

func TestCheckParams(t *testing.T) {
	if err := intel.CheckParams(map[string]string{"ip": "1"}, "ip", "port"); err != nil {
		t.Errorf("CheckParams(known) = %v", err)
	}
	err := intel.CheckParams(map[string]string{"ipp": "1"}, "ip", "port")
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("CheckParams(unknown) = %v, want ErrInvalid", err)
	}
}
