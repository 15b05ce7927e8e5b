package netflow_test

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// decodeFiles decodes the datagrams of the pcap files, in order, with one
// decoder (templates from an earlier file serve a later one).
func decodeFiles(t testing.TB, dec *netflow.Decoder, paths ...string) []flow.Record {
	t.Helper()
	var out []flow.Record
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapread.NewReader(f)
		if err != nil {
			f.Close()
			t.Fatalf("pcapread.NewReader(%s): %v", p, err)
		}
		for {
			d, err := r.ReadDatagram()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("ReadDatagram(%s): %v", p, err)
			}
			out, err = dec.Decode(out, d.Payload, d.Src.Addr(), d.Time)
			if _, ok := errors.AsType[*flow.ParseError](err); err != nil && !ok {
				t.Fatalf("Decode(%s): %v", p, err)
			}
		}
		f.Close()
	}
	return out
}

// fileTime stands for the receive time of datagrams read from files
// without one.
var fileTime = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// decodeDat decodes raw UDP payload files (logstash's .dat fixtures) as if
// sent by one exporter.
func decodeDat(t testing.TB, dec *netflow.Decoder, paths ...string) ([]flow.Record, error) {
	t.Helper()
	var out []flow.Record
	var first error
	exp := netip.MustParseAddr("192.0.2.1")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out, err = dec.Decode(out, b, exp, fileTime)
		if err != nil && first == nil {
			first = err
		}
	}
	return out, first
}

// key is the field subset every oracle compares: addresses, ports and
// protocol, with packets and bytes summed over records of the same key.
type key struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

type counts struct{ Packets, Bytes uint64 }

func (k key) String() string {
	return fmt.Sprintf("%v:%d > %v:%d proto %d", k.Src, k.SrcPort, k.Dst, k.DstPort, k.Proto)
}

func aggregate(recs []flow.Record) map[key]counts {
	m := make(map[key]counts)
	for _, r := range recs {
		k := key{r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto}
		c := m[k]
		c.Packets += r.Packets
		c.Bytes += r.Bytes
		m[k] = c
	}
	return m
}

// diffCounts reports the differences between two aggregates, sorted.
func diffCounts(want, got map[key]counts) []string {
	var d []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			d = append(d, fmt.Sprintf("missing %v %+v", k, w))
		} else if g != w {
			d = append(d, fmt.Sprintf("%v: got %+v, want %+v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("extra %v %+v", k, g))
		}
	}
	sort.Strings(d)
	return d
}

func data(t testing.TB, rel string) string {
	t.Helper()
	return itest.Data(t, filepath.Join("netflow", rel))
}

// diffRecords compares two record lists.
func diffRecords(want, got []diffRecord) string {
	return cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty())
}
