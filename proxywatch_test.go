package proxywatch_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name, in, want string
		typ            proxywatch.SubjectType
		wantErr        bool
	}{
		{name: "ipv4 address", in: "203.0.113.7", want: "203.0.113.7/32", typ: proxywatch.SubjectPrefix},
		{name: "ipv4 prefix host bits", in: "203.0.113.7/24", want: "203.0.113.0/24", typ: proxywatch.SubjectPrefix},
		{name: "ipv6 address", in: "2001:db8::1", want: "2001:db8::1/128", typ: proxywatch.SubjectPrefix},
		{name: "mapped address", in: "::ffff:192.0.2.1", want: "192.0.2.1/32", typ: proxywatch.SubjectPrefix},
		{name: "mapped prefix", in: "::ffff:192.0.2.0/120", want: "192.0.2.0/24", typ: proxywatch.SubjectPrefix},
		{name: "domain", in: "Evil.Example.ORG.", want: "evil.example.org", typ: proxywatch.SubjectDomain},
		{name: "asn", in: "AS64496", want: "AS64496", typ: proxywatch.SubjectASN},
		{name: "asn lower", in: "as64496", want: "AS64496", typ: proxywatch.SubjectASN},
		{name: "as0", in: "AS0", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "zone", in: "fe80::1%eth0", wantErr: true},
		{name: "bare word", in: "localhost", wantErr: true},
		{name: "numeric labels", in: "1.2.3", wantErr: true},
		{name: "bad prefix", in: "203.0.113.0/33", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := proxywatch.ParseSubject(tc.in)
			if tc.wantErr {
				if !errors.Is(err, proxywatch.ErrInvalid) {
					t.Fatalf("ParseSubject(%q) = %v, %v; want ErrInvalid", tc.in, s, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", tc.in, err)
			}
			if s.String() != tc.want || s.Type() != tc.typ {
				t.Errorf("ParseSubject(%q) = %q (type %d), want %q (type %d)", tc.in, s, s.Type(), tc.want, tc.typ)
			}
		})
	}
}

func TestKindRoundTrip(t *testing.T) {
	for _, k := range proxywatch.Kinds() {
		got, err := proxywatch.ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v; want %v", k.String(), got, err, k)
		}
	}
	if k, err := proxywatch.ParseKind("Open_Proxy"); err != nil || k != proxywatch.KindOpenProxy {
		t.Errorf("ParseKind(Open_Proxy) = %v, %v", k, err)
	}
	if _, err := proxywatch.ParseKind("botnet"); !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("ParseKind(botnet) err = %v, want ErrInvalid", err)
	}
}

func TestIndicatorExpiry(t *testing.T) {
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	ind := proxywatch.Indicator{Subject: proxywatch.AddrSubject(netip.MustParseAddr("192.0.2.1"))}
	if ind.ExpiredAt(now) {
		t.Error("zero Expires expired")
	}
	ind.Expires = now
	if !ind.ExpiredAt(now) {
		t.Error("indicator not expired at its Expires")
	}
	if ind.ExpiredAt(now.Add(-time.Nanosecond)) {
		t.Error("indicator expired before its Expires")
	}
}

func TestErrorKinds(t *testing.T) {
	cause := errors.New("disk on fire")
	err := error(&proxywatch.Error{Kind: proxywatch.ErrUnavailable, Message: "store unavailable", Err: cause})
	if !errors.Is(err, proxywatch.ErrUnavailable) || !errors.Is(err, cause) {
		t.Errorf("errors.Is failed for %v", err)
	}
	if errors.Is(err, proxywatch.ErrNotFound) {
		t.Errorf("%v matches ErrNotFound", err)
	}
}

// FuzzParseSubject checks that whatever parses prints back to a form that
// parses to the same subject.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "2001:db8::/32", "example.org", "AS1", "::ffff:1.2.3.4/128", "a-b.c_d.e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := proxywatch.ParseSubject(in)
		if err != nil {
			return
		}
		again, err := proxywatch.ParseSubject(s.String())
		if err != nil || again != s {
			t.Fatalf("ParseSubject(%q) = %v; reparse of %q = %v, %v", in, s, s.String(), again, err)
		}
	})
}
