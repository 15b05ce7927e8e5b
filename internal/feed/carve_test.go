package feed

import (
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
)

// excludingReader yields its indicators, then reports exclusions as an
// rbldnsd dataset with "!" entries does.
type excludingReader struct {
	inds []proxywatch.Indicator
	excl []netip.Prefix
}

func (r *excludingReader) Read() (proxywatch.Indicator, error) {
	if len(r.inds) == 0 {
		return proxywatch.Indicator{}, io.EOF
	}
	ind := r.inds[0]
	r.inds = r.inds[1:]
	return ind, nil
}

func (r *excludingReader) Exclusions() []netip.Prefix { return r.excl }

func TestCollectCarvesExclusions(t *testing.T) {
	sub := func(s string) proxywatch.Indicator {
		return proxywatch.Indicator{Subject: proxywatch.PrefixSubject(netip.MustParsePrefix(s))}
	}
	r := &excludingReader{
		inds: []proxywatch.Indicator{sub("198.51.100.0/24"), sub("192.0.2.7/32"), sub("203.0.113.5/32")},
		excl: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/25"), netip.MustParsePrefix("192.0.2.7/32")},
	}
	cfg := DefaultConfig()
	inds, rep, err := Collect(r, cfg.Resolve(Feed{Name: "zone", Format: "rbldnsd"}), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ind := range inds {
		got = append(got, ind.Subject.String())
	}
	want := []string{"198.51.100.128/25", "203.0.113.5/32"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Collect with exclusions = %v, want %v", got, want)
	}
	if rep.Carved != 2 || rep.Accepted != 2 {
		t.Errorf("report carved %d accepted %d, want 2 and 2", rep.Carved, rep.Accepted)
	}
}
