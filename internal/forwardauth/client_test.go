package forwardauth

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var trusted = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("192.0.2.0/28"),
	netip.MustParsePrefix("::ffff:10.1.0.0/112"), // mapped: taken as 10.1.0.0/16
}

func TestClient(t *testing.T) {
	tests := []struct {
		name   string
		header string // ClientHeader
		peer   string
		local  bool
		h      http.Header
		want   string
		err    error
	}{
		{name: "untrusted peer ignores header", header: "X-Forwarded-For", peer: "203.0.113.9",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, want: "203.0.113.9"},
		{name: "no header configured", header: "", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, want: "127.0.0.1"},
		{name: "mapped peer unmapped", header: "X-Forwarded-For", peer: "::ffff:203.0.113.9", want: "203.0.113.9"},
		{name: "zoned peer", header: "", peer: "fe80::1%eth0", want: "fe80::1"},
		{name: "xff single", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, want: "198.51.100.7"},
		{name: "xff right-most untrusted", header: "x-forwarded-for", peer: "192.0.2.1",
			h: http.Header{"X-Forwarded-For": {"203.0.113.66, 198.51.100.7, 192.0.2.3"}}, want: "198.51.100.7"},
		{name: "xff spoofed left part ignored", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"8.8.8.8, 198.51.100.7"}}, want: "198.51.100.7"},
		{name: "xff across lines", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"203.0.113.66, 198.51.100.7", "192.0.2.2", "10.1.2.3"}}, want: "198.51.100.7"},
		{name: "xff all trusted takes left-most", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"192.0.2.4, 127.0.0.2"}}, want: "192.0.2.4"},
		{name: "xff ports and brackets", header: "X-Forwarded-For", peer: "::1",
			h: http.Header{"X-Forwarded-For": {"[2001:db8::7]:443 , 192.0.2.5:8080"}}, want: "2001:db8::7"},
		{name: "xff v4 port", header: "X-Forwarded-For", peer: "::1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7:5555"}}, want: "198.51.100.7"},
		{name: "xff mapped", header: "X-Forwarded-For", peer: "::1",
			h: http.Header{"X-Forwarded-For": {"::ffff:198.51.100.7"}}, want: "198.51.100.7"},
		{name: "xff zone", header: "X-Forwarded-For", peer: "::1",
			h: http.Header{"X-Forwarded-For": {"[fe80::9%25eth0]:80, fe80::8%eth1"}}, want: "fe80::8"},
		{name: "xff missing", header: "X-Forwarded-For", peer: "127.0.0.1", err: errMissing},
		{name: "xff blank", header: "X-Forwarded-For", peer: "127.0.0.1", h: http.Header{"X-Forwarded-For": {" "}}, err: errMissing},
		{name: "xff garbage", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7, nonsense"}}, err: errMalformed},
		{name: "xff garbage left of the client is not read", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"nonsense, 198.51.100.7"}}, want: "198.51.100.7"},
		{name: "xff empty element", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7,"}}, err: errMalformed},
		{name: "xff bad port", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"198.51.100.7:99999"}}, err: errMalformed},
		{name: "xff v4 in brackets", header: "X-Forwarded-For", peer: "127.0.0.1",
			h: http.Header{"X-Forwarded-For": {"[198.51.100.7]"}}, err: errMalformed},
		{name: "x-real-ip", header: "X-Real-IP", peer: "127.0.0.1",
			h: http.Header{"X-Real-Ip": {"203.0.113.9"}}, want: "203.0.113.9"},
		{name: "x-real-ip last value", header: "X-Real-IP", peer: "127.0.0.1",
			h: http.Header{"X-Real-Ip": {"8.8.8.8", "203.0.113.9"}}, want: "203.0.113.9"},
		{name: "x-real-ip is not a list", header: "X-Real-IP", peer: "127.0.0.1",
			h: http.Header{"X-Real-Ip": {"203.0.113.9, 8.8.8.8"}}, err: errMalformed},
		{name: "x-real-ip missing", header: "X-Real-IP", peer: "127.0.0.1", err: errMissing},
		{name: "forwarded", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=198.51.100.7;proto=https;by=192.0.2.1`}}, want: "198.51.100.7"},
		{name: "forwarded rfc example", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=192.0.2.43, for="[2001:db8:cafe::17]:4711"`}}, want: "2001:db8:cafe::17"},
		{name: "forwarded right-most untrusted across lines", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=203.0.113.66, For="198.51.100.7:1234"`, `for=192.0.2.2;host=example.org`}}, want: "198.51.100.7"},
		{name: "forwarded quoted escapes", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for="\[2001:db8::5\]";by="a;b,c"`}}, want: "2001:db8::5"},
		{name: "forwarded unknown", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=unknown`}}, err: errObfuscated},
		{name: "forwarded obfuscated", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=_hidden, for=192.0.2.2`}}, err: errObfuscated},
		{name: "forwarded element without for", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=198.51.100.7, proto=https`}}, err: errMissing},
		{name: "forwarded duplicate for", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=198.51.100.7;for=203.0.113.9`}}, err: errMalformed},
		{name: "forwarded unterminated quote", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for="198.51.100.7`}}, err: errMalformed},
		{name: "forwarded unquoted v6 with port is not a token", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for=[2001:db8::1]:80`}}, err: errMalformed},
		{name: "forwarded empty elements skipped", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {` , for=198.51.100.7 ,, `}}, want: "198.51.100.7"},
		{name: "forwarded obfuscated port", header: "Forwarded", peer: "127.0.0.1",
			h: http.Header{"Forwarded": {`for="198.51.100.7:_p1"`}}, want: "198.51.100.7"},
		{name: "forwarded missing", header: "Forwarded", peer: "127.0.0.1", err: errMissing},
		{name: "unix socket peer trusted", header: "X-Forwarded-For", local: true,
			h: http.Header{"X-Forwarded-For": {"198.51.100.7"}}, want: "198.51.100.7"},
		{name: "unix socket without header", header: "", local: true, err: errNoPeer},
		{name: "no peer", header: "X-Forwarded-For", err: errNoPeer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newResolver(trusted, tc.header)
			var peer netip.Addr
			if tc.peer != "" {
				peer = netip.MustParseAddr(tc.peer)
			}
			got, err := r.client(peer, tc.local, tc.h)
			if err != tc.err {
				t.Fatalf("client(%s, %v) error = %v, want %v", tc.peer, tc.h, err, tc.err)
			}
			if tc.err == nil && got.String() != tc.want {
				t.Errorf("client(%s, %v) = %s, want %s", tc.peer, tc.h, got, tc.want)
			}
		})
	}
}

func TestParseForwarded(t *testing.T) {
	tests := []struct {
		line string
		want []forNode
		ok   bool
	}{
		{``, nil, true},
		{`for=a`, []forNode{{"a", true}}, true},
		{`For="x\"y"; by=b ;proto=http, host=h`, []forNode{{`x"y`, true}, {}}, true},
		{`;;for=a;;`, []forNode{{"a", true}}, true},
		{`for = a`, nil, false},
		{`for=`, nil, false},
		{`=a`, nil, false},
		{`for=a b`, nil, false},
		{`for="a\`, nil, false},
		{"for=\"a\x01\"", nil, false},
		{`ext=1;ext=2;for=z`, []forNode{{"z", true}}, true},
		{`by=1;by=2`, nil, false},
	}
	for _, tc := range tests {
		got, err := parseForwarded(tc.line, nil)
		if (err == nil) != tc.ok {
			t.Errorf("parseForwarded(%q) error = %v, want ok %v", tc.line, err, tc.ok)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(forNode{})); tc.ok && diff != "" {
			t.Errorf("parseForwarded(%q) (-want +got):\n%s", tc.line, diff)
		}
	}
}

// TestClientDoesNotAllocate holds the X-Forwarded-For path, the common
// one, to zero allocations.
func TestClientDoesNotAllocate(t *testing.T) {
	r := newResolver(trusted, "X-Forwarded-For")
	h := http.Header{"X-Forwarded-For": {"203.0.113.66, 198.51.100.7, 192.0.2.3"}}
	peer := netip.MustParseAddr("127.0.0.1")
	if n := testing.AllocsPerRun(100, func() { r.client(peer, false, h) }); n != 0 {
		t.Errorf("client allocates %v times per call, want 0", n)
	}
}
