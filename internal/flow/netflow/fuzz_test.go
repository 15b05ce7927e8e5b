package netflow_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// packPayloads encodes datagrams as one fuzz input: each preceded by its
// 16-bit length.
func packPayloads(ps [][]byte) []byte {
	var b []byte
	for _, p := range ps {
		b = binary.BigEndian.AppendUint16(b, uint16(min(len(p), 0xffff)))
		b = append(b, p[:min(len(p), 0xffff)]...)
	}
	return b
}

func unpackPayloads(b []byte) [][]byte {
	var ps [][]byte
	for len(b) >= 2 && len(ps) < 64 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		ps = append(ps, b[:n])
		b = b[n:]
	}
	return ps
}

// FuzzDecode feeds sequences of export datagrams to the decoder. It must
// never panic, every record must carry both addresses, and when neither
// the decoder nor goflow2's reports a problem, both must produce the same
// records (a differential check; goflow2 is run only on input the
// decoder accepts, since it loops forever on a template of zero length).
// A set that runs past the end of its message is the one accepted
// difference (see laxCut): goflow2 decodes what is there of it, the
// decoder refuses it and counts it as truncated.
func FuzzDecode(f *testing.F) {
	for _, s := range builtSeeds() {
		f.Add(packPayloads(s))
	}
	for _, tc := range captureCases { // when the shared data set is present
		if ps, ok := tryPayloads(tc.files); ok {
			f.Add(packPayloads(ps))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ps := unpackPayloads(in)
		ours, clean, recs := oursDecode(ps)
		for _, r := range recs {
			if !r.Src.IsValid() || !r.Dst.IsValid() {
				t.Fatalf("record without addresses: %+v", r)
			}
		}
		if !clean {
			return
		}
		ref, ok := goflowDecode(ps)
		if !ok {
			return
		}
		if d := diffRecords(ref, ours); d != "" {
			t.Errorf("records (-goflow2 +ours):\n%s", d)
		}
	})
}

func moduleRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		p := filepath.Dir(dir)
		if p == dir {
			return dir
		}
		dir = p
	}
}

// tryPayloads reads a capture case's datagrams without a testing.T.
func tryPayloads(files []string) ([][]byte, bool) {
	root := os.Getenv("PROXYWATCH_TEST_DATA")
	if root == "" {
		root = filepath.Join(moduleRoot(), "..", "shared", "data")
	}
	var out [][]byte
	for _, rel := range files {
		p := filepath.Join(root, "netflow", rel)
		ds, err := readPcapPayloads(p)
		if err != nil {
			return nil, false
		}
		out = append(out, ds...)
	}
	return out, true
}
