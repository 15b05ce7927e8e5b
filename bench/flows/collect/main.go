// Command collect runs proxywatch's NetFlow/IPFIX collector alone, for the
// live benchmark (bench/flows/live.sh): it listens on a UDP address,
// decodes, optionally stitches, and at SIGTERM or SIGINT prints what it
// received as one JSON object. With -count it decodes a capture file
// instead and prints its record count.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2055", "UDP `address` to collect on")
	rcvbuf := flag.Int("rcvbuf", 4<<20, "socket receive buffer `bytes`")
	doStitch := flag.Bool("stitch", false, "also stitch the records into sessions")
	count := flag.String("count", "", "decode this capture `file` instead and print its records")
	maxDatagrams := flag.Int("max", 0, "with -count, decode at most this many datagrams (0: all)")
	flag.Parse()
	var err error
	if *count != "" {
		err = countFile(*count, *maxDatagrams)
	} else {
		err = collect(*listen, *rcvbuf, *doStitch)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "collect:", err)
		os.Exit(1)
	}
}

func countFile(path string, limit int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pr, err := pcapread.NewReader(f)
	if err != nil {
		return err
	}
	dec := netflow.NewDecoder(netflow.Options{})
	var recs []flow.Record
	n, total := 0, 0
	for limit == 0 || n < limit {
		d, err := pr.ReadDatagram()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		n++
		recs, _ = dec.Decode(recs[:0], d.Payload, d.Src.Addr(), d.Time)
		total += len(recs)
	}
	fmt.Println(total)
	return nil
}

func collect(listen string, rcvbuf int, doStitch bool) error {
	cfg := netflow.DefaultConfig()
	cfg.Enabled, cfg.Listen, cfg.ReceiveBuffer = true, listen, rcvbuf
	c, err := netflow.New(cfg, netflow.Deps{})
	if err != nil {
		return err
	}
	addr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return err
	}
	pc, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, pc) }()
	var st *stitch.Stitcher
	if doStitch {
		if st, err = stitch.New(stitch.DefaultConfig()); err != nil {
			return err
		}
	}
	records, sessions := 0, 0
	emit := func(flow.Session) { sessions++ }
	for b := range c.Batches() {
		records += len(b)
		if st != nil {
			for i := range b {
				st.Add(&b[i], emit)
			}
		}
		c.Recycle(b)
	}
	if st != nil {
		st.Flush(emit)
	}
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	s := c.Stats()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"records": records, "sessions": sessions, "socket_drops": c.SocketDrops(),
		"packets": s.Packets, "lost": s.Lost, "errors": s.Errors,
	})
}
