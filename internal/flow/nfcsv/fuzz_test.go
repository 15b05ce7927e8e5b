package nfcsv_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxywatch/proxywatch/internal/flow/nfcsv"
)

// FuzzNfcsv reads arbitrary input: no panic, and every record has both
// addresses.
func FuzzNfcsv(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "flows.csv")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("ts,te,sa,da,sp,dp,pr,flg,ipkt,ibyt,opkt,obyt\n2026-03-02 10:00:00,2026-03-02 10:00:00,192.0.2.1,::1,1,3.4,6,UAPRSF,1,2,3,4\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, _ := readAll(t, bytes.NewReader(in), nfcsv.Options{})
		for _, r := range recs {
			if !r.Src.IsValid() || !r.Dst.IsValid() {
				t.Fatalf("record without addresses: %+v", r)
			}
		}
	})
}
