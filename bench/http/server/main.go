// Command server is the proxywatch side of bench/http/run.sh: it fills a
// verdict table with synthetic indicators and serves, each on its own
// loopback port, the HTTP API, the forward-auth endpoint, and a baseline
// net/http server that answers 204 to everything with the same server
// settings, so that the ratio to the baseline shows what proxywatch adds.
//
//	server -entries 1000000
//
// Once serving, it prints one line:
// "ready base=ADDR api=ADDR fa=ADDR listed=IP unlisted=IP entries=N load_seconds=S".
// It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/api"
	"github.com/proxywatch/proxywatch/internal/forwardauth"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

func main() {
	entries := flag.Int("entries", 1_000_000, "listed /32 addresses; a hundredth as many /24 ranges are added")
	flag.Parse()
	if err := run(*entries); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(entries int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	table, listed, unlisted, err := fill(entries)
	if err != nil {
		return err
	}
	load := time.Since(start)

	discard := slog.New(slog.DiscardHandler)
	acfg := api.DefaultConfig()
	acfg.Enabled = true
	apiSrv, err := api.New(acfg, api.Deps{Logger: discard, Table: table})
	if err != nil {
		return err
	}
	fcfg := forwardauth.DefaultConfig()
	fcfg.Enabled = true
	faSrv, err := forwardauth.New(fcfg, forwardauth.Deps{Logger: discard, Table: table})
	if err != nil {
		return err
	}

	lns := make([]net.Listener, 3)
	for i := range lns {
		if lns[i], err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	base := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}),
		ReadHeaderTimeout: acfg.ReadHeaderTimeout,
		IdleTimeout:       acfg.IdleTimeout,
	}
	errc := make(chan error, 3)
	go func() { errc <- base.Serve(lns[0]) }()
	go func() { errc <- apiSrv.Serve(ctx, lns[1]) }()
	go func() { errc <- faSrv.Serve(ctx, lns[2]) }()
	fmt.Printf("ready base=%s api=%s fa=%s listed=%s unlisted=%s entries=%d load_seconds=%.2f\n",
		lns[0].Addr(), lns[1].Addr(), lns[2].Addr(), listed, unlisted, entries+entries/100, load.Seconds())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		base.Close()
		return nil
	}
}

// fill builds a table of random public IPv4 /32 open proxies and /24 C2
// ranges, and returns a listed /32 and an address no indicator covers.
func fill(entries int) (*verdict.Table, netip.Addr, netip.Addr, error) {
	table, err := verdict.New(verdict.DefaultConfig())
	if err != nil {
		return nil, netip.Addr{}, netip.Addr{}, err
	}
	table.SetAllowlist(allowlist.Defaults())
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() netip.Addr {
		for {
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			if !a.IsPrivate() && !a.IsLoopback() {
				return a
			}
		}
	}
	inds := make([]proxywatch.Indicator, 0, entries+entries/100)
	for range entries {
		inds = append(inds, proxywatch.Indicator{
			Subject: proxywatch.AddrSubject(random()), Kind: proxywatch.KindOpenProxy, Confidence: 90,
			Source: proxywatch.Source{Feed: "bench", Line: len(inds) + 1}, Port: 1080, Proto: "socks5",
		})
	}
	for range entries / 100 {
		p, _ := random().Prefix(24)
		inds = append(inds, proxywatch.Indicator{
			Subject: proxywatch.PrefixSubject(p), Kind: proxywatch.KindC2, Confidence: 80,
			Source: proxywatch.Source{Feed: "bench", Line: len(inds) + 1},
		})
	}
	table.ReplaceFeed("bench", inds)
	listed := inds[len(inds)/2].Subject.Prefix.Addr()
	var unlisted netip.Addr
	for {
		unlisted = random()
		if len(table.Lookup(unlisted, nil)) == 0 {
			break
		}
	}
	return table, listed, unlisted, nil
}
