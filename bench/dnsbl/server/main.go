// Command server is the proxywatch side of bench/dnsbl/dnsbl.sh: it reads
// an rbldnsd zone through the rbldnsdset reader into a verdict table, as
// `proxywatch import` would, and serves it with the DNSBL server, as
// `proxywatch serve` would, on one UDP and one TCP socket.
//
//	server -zone zone.ip4 -name bl.test. -listen 127.0.0.1:15354
//
// Once serving, it prints one line, "ready entries=N table_bytes=B
// bytes_per_entry=X load_seconds=S", B being the Go heap the table holds
// after a collection. It stops on SIGINT or SIGTERM.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/dnsbl"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/rbldnsdset"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

func main() {
	zoneFile := flag.String("zone", "", "rbldnsd ip4set/ip4trie zone file")
	name := flag.String("name", "bl.test.", "DNSBL zone name")
	listen := flag.String("listen", "127.0.0.1:15354", "UDP and TCP address")
	txt := flag.String("txt", "Listed in bl.test test list, see http://bl.test/lookup?ip={addr}", "TXT template")
	flag.Parse()
	if err := run(*zoneFile, *name, *listen, *txt); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// load reads the zone into a verdict table, every entry an open proxy of
// confidence 90, streaming it as `proxywatch import` does. When the zone
// has exclusions, a second pass carves them out of every entry, as the
// feed package does.
func load(path string) (*verdict.Table, int, error) {
	tab, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		return nil, 0, err
	}
	var excl []netip.Prefix
	for pass := 0; pass < 2; pass++ {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		rd, err := rbldnsdset.New(bufio.NewReaderSize(f, 1<<16), intel.Options{Name: "bench"})
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		var readErr error
		n := tab.ReplaceFeedSeq("bench", func(yield func(proxywatch.Indicator) bool) {
			for {
				ind, err := rd.Read()
				var pe *intel.ParseError
				switch {
				case err == io.EOF:
					return
				case errors.As(err, &pe):
					continue
				case err != nil:
					readErr = err
					return
				}
				ind.Kind, ind.Confidence = proxywatch.KindOpenProxy, 90
				for _, p := range intel.Carve(ind.Subject.Prefix, excl) {
					ind.Subject = proxywatch.PrefixSubject(p)
					if !yield(ind) {
						return
					}
				}
			}
		})
		f.Close()
		if readErr != nil {
			return nil, 0, fmt.Errorf("read %s: %w", path, readErr)
		}
		if excl = rd.Exclusions(); len(excl) == 0 || pass == 1 {
			return tab, n, nil
		}
	}
	panic("unreachable")
}

func run(zoneFile, name, listen, txt string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	before := heapInUse()
	t0 := time.Now()
	tab, n, err := load(zoneFile)
	if err != nil {
		return err
	}
	loadTime := time.Since(t0)
	table := heapInUse() - before
	debug.FreeOSMemory() // RSS then shows what serving holds, not the load's garbage
	cfg := dnsbl.DefaultConfig()
	cfg.Enabled = true
	cfg.Listen = listen
	cfg.RateLimit.Rate = 0 // one load generator on loopback: no limit
	z := dnsbl.DefaultZone(name)
	z.TXT = txt
	cfg.Zones = []dnsbl.Zone{z}
	s, err := dnsbl.New(cfg, dnsbl.Deps{Table: tab, MinConfidence: 50, Logger: slog.Default()})
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go tab.Run(ctx)
	fmt.Printf("ready entries=%d table_bytes=%d bytes_per_entry=%.1f load_seconds=%.2f\n",
		n, table, float64(table)/float64(max(n, 1)), loadTime.Seconds())
	return s.Serve(ctx, pc, ln)
}
