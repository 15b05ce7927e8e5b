package iocreport

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/itest"
)

func benchRead(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, _ := NewReader(bytes.NewReader(data), intel.Options{Name: "bench"})
		for {
			_, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				if _, ok := err.(*intel.ParseError); !ok {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkMylobot reads the largest Black Lotus Labs report (21 KB,
// 1,427 indicators).
func BenchmarkMylobot(b *testing.B) {
	data, err := os.ReadFile(itest.Data(b, filepath.Join(bllDir, "Mylobot_IoCs.txt")))
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, data)
}

// BenchmarkLongLines reads lines at the length limit, full of tokens.
func BenchmarkLongLines(b *testing.B) {
	line := strings.Repeat("192.0.2[.]1 x.exe a.b.c hxxp://c2[.]example/x ", (maxLine-1)/46)
	benchRead(b, []byte(strings.Repeat(line+"\n", 4)))
}
