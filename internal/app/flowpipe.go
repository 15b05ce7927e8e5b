package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/store"
)

// flowPipeline is flow watch in serve: the NetFlow/IPFIX collector on its
// bound UDP socket, the stitcher, and the flow detectors, connected by
// channels. Shutdown runs down the chain: the collector drains its socket
// and closes its output, the stitcher flushes its open sessions and closes
// its own, and the detectors flush last, so nothing received is dropped
// on the way out. Promoted indicators (outside C2s, collectors,
// backconnect servers) are written to the store under feed
// flowwatch.Feed, and reach every interface through the follower;
// inside hosts are only reported (API /v1/hosts).
type flowPipeline struct {
	log   *slog.Logger
	col   *netflow.Collector // nil without flows.collector.enabled
	zeek  []*zeekSource
	st    *stitch.Stitcher
	watch *flowwatch.Watch
	pc    net.PacketConn
	store store.Store
	inds  chan proxywatch.Indicator

	zeekClose sync.Once

	dropped atomic.Uint64 // indicators not written because the queue was full
	written atomic.Uint64
}

// newFlowPipeline builds the pipeline and binds the collector's socket
// when flows.collector is enabled, and opens the Zeek logs of flows.zeek.
func (a *App) newFlowPipeline(ctx context.Context) error {
	cfg := a.cfg.Flows
	if !cfg.Collector.Enabled && len(cfg.Zeek) == 0 {
		return nil
	}
	fp := &flowPipeline{log: a.log.With("component", "flows"), store: a.store, inds: make(chan proxywatch.Indicator, 4096)}
	var err error
	if cfg.Collector.Enabled {
		if fp.col, err = netflow.New(cfg.Collector, netflow.Deps{Logger: fp.log, Registerer: a.tel.Registry}); err != nil {
			return err
		}
		if fp.st, err = stitch.New(cfg.Stitch); err != nil {
			return fmt.Errorf("flows: stitch: %w", err)
		}
	}
	fp.watch, err = flowwatch.New(a.cfg.FlowWatch, flowwatch.Deps{
		Logger: a.log.With("component", "flowwatch"),
		Listed: listedFunc(a.table, a.cfg.Verdict.MinConfidence.Check),
		OnFinding: func(f proxywatch.Finding) {
			fp.log.Info("flow finding", "role", f.Role, "subject", f.Subject.String(), "inside", f.Inside,
				"confidence", f.Confidence, "detector", f.Detector, "summary", f.Summary)
		},
		OnIndicator: func(ind proxywatch.Indicator) {
			select {
			case fp.inds <- ind:
			default:
				fp.dropped.Add(1)
			}
		},
	})
	if err != nil {
		return err
	}
	if err := fp.openZeek(ctx, cfg.Zeek); err != nil {
		return err
	}
	a.closers = append(a.closers, func() error { fp.closeZeek(); return nil })
	if fp.col != nil {
		if fp.pc, err = net.ListenPacket("udp", cfg.Collector.Listen); err != nil {
			return fmt.Errorf("flows: listen: %w", err)
		}
		a.closers = append(a.closers, fp.pc.Close)
	}
	a.flows = fp
	a.procs = append(a.procs, proc{"flows", fp.Run})
	return nil
}

// Run runs the pipeline until ctx ends and everything received has gone
// through the detectors.
func (fp *flowPipeline) Run(ctx context.Context) error {
	sessions := make(chan []flow.Session, 16)
	spent := make(chan []flow.Session, cap(sessions)+2) // batches back to the stitcher
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	detected := make(chan error, 1)
	go func() {
		// The detectors stop when their input closes, not on ctx: what
		// is still in the pipe is judged first.
		detected <- fp.watch.RunBatches(context.WithoutCancel(ctx), sessions, spent)
		close(fp.inds)
	}()
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		fp.writeIndicators(context.WithoutCancel(ctx))
	}()
	zeekDone := make(chan struct{})
	go func() {
		defer close(zeekDone)
		fp.runZeek(ctx)
	}()
	var serr error
	if fp.col != nil {
		stitched := make(chan struct{})
		go func() {
			defer close(stitched)
			fp.st.Run(fp.col.Batches(), sessions, stitch.RunOptions{Recycle: fp.col.Recycle, Tick: tick.C, Free: spent})
		}()
		serr = fp.col.Serve(ctx, fp.pc)
		<-stitched
		<-zeekDone
	} else {
		<-zeekDone
		close(sessions)
	}
	derr := <-detected
	<-writer
	if serr != nil {
		return serr
	}
	return derr
}

// writeIndicators writes promoted indicators to the store until the
// detectors stop.
func (fp *flowPipeline) writeIndicators(ctx context.Context) {
	for ind := range fp.inds {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fp.store.Add(wctx, ind)
		cancel()
		if err != nil {
			fp.dropped.Add(1)
			fp.log.Warn("store flow indicator", "subject", ind.Subject.String(), "err", err)
			continue
		}
		fp.written.Add(1)
	}
}
