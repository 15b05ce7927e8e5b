package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// BenchmarkGetVerdict measures GET /v1/ip/{addr} through the handler,
// without the network, for a listed and an unlisted address.
func BenchmarkGetVerdict(b *testing.B) {
	f := newFixture(b, nil)
	for _, addr := range []string{"198.51.100.7", "203.0.113.9"} {
		b.Run(addr, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/v1/ip/"+addr, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// nopAssessor answers every assessment at once, so that
// BenchmarkAssess measures the handler alone.
type nopAssessor struct{}

func (nopAssessor) Assess(netip.Addr, string, string) (Assessment, error) {
	return Assessment{Score: 40, Action: "challenge", Reasons: []string{"campaign"}}, nil
}

// BenchmarkAssess measures POST /v1/assess through the handler, without
// the network, with an Assessor that does nothing: decoding, checking,
// encoding and the shared steps (metrics, access, timeout).
func BenchmarkAssess(b *testing.B) {
	f := newFixture(b, func(_ *Config, d *Deps) { d.Assess = nopAssessor{} })
	body := []byte(`{"ip":"203.0.113.7","user":"alice","outcome":"failure"}`)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/v1/assess", bytes.NewReader(body))
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}
