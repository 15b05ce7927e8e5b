package api

import (
	"net/http"
	"net/http/httptest"
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
