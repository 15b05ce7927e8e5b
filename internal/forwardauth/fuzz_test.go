package forwardauth

import (
	"bufio"
	"net/http"
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedLines adds every line of testdata/name to f's corpus.
func seedLines(f *testing.F, name string) {
	fh, err := os.Open("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
}

// FuzzXForwardedFor checks that any X-Forwarded-For value resolves without
// panicking to a normalised address or an error; that the address it picks
// resolves to itself when sent alone; and that a plain address parses as
// net/netip parses it.
func FuzzXForwardedFor(f *testing.F) {
	seedLines(f, "x-forwarded-for.txt")
	r := newResolver(trusted, HeaderXForwardedFor)
	peer := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, v string) {
		a, err := r.client(peer, false, http.Header{HeaderXForwardedFor: {v}})
		if err == nil {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("client(%q) = %v: not normalised", v, a)
			}
			back, err := r.client(peer, false, http.Header{HeaderXForwardedFor: {a.String()}})
			if err != nil || back != a {
				t.Fatalf("client(%q) = %v, but client(%q) = %v, %v", v, a, a.String(), back, err)
			}
		}
		if want, err := netip.ParseAddr(v); err == nil && want.Zone() == "" {
			if got, ok := parseNode(v); !ok || got != want.Unmap() {
				t.Fatalf("parseNode(%q) = %v, %v, want %v", v, got, ok, want.Unmap())
			}
		}
	})
}

// FuzzForwarded checks that any Forwarded line parses without panicking,
// that what parses re-encodes to the same for= nodes, and that resolution
// never panics.
func FuzzForwarded(f *testing.F) {
	seedLines(f, "forwarded.txt")
	r := newResolver(trusted, HeaderForwarded)
	peer := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, v string) {
		nodes, err := parseForwarded(v, nil)
		if err == nil {
			enc := encodeForwarded(nodes)
			back, err := parseForwarded(enc, nil)
			if err != nil {
				t.Fatalf("parseForwarded(%q) = %v, re-encoded %q does not parse: %v", v, nodes, enc, err)
			}
			if diff := cmp.Diff(nodes, back, cmp.AllowUnexported(forNode{})); diff != "" {
				t.Fatalf("parseForwarded(%q) round trip through %q (-first +second):\n%s", v, enc, diff)
			}
		}
		if a, err := r.client(peer, false, http.Header{HeaderForwarded: {v}}); err == nil && (!a.IsValid() || a.Zone() != "" || a.Is4In6()) {
			t.Fatalf("client(%q) = %v: not normalised", v, a)
		}
	})
}
