package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/flow/zeek"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/tail"
)

// zeekSource is a Zeek conn.log followed by name through Zeek's rename
// rotation; its sessions go straight to the flow detectors (they are
// already bidirectional). Its position is committed every second under
// the name "zeek:" + Name. The detectors' state is in memory and promoted
// indicators are written idempotently, so the position only spares a
// restart from reading the whole file again; lines read after the last
// commit are read again after a crash.
type zeekSource struct {
	cfg    config.FileSource
	reader *tail.Reader
	parser *zeek.Parser

	mu   sync.Mutex
	last tail.Checkpoint

	sessions, errs atomic.Uint64
}

func zeekPositionKey(name string) string { return "zeek:" + name }

// openZeek opens the Zeek sources at their stored positions.
func (fp *flowPipeline) openZeek(ctx context.Context, srcs []config.FileSource) error {
	if len(srcs) == 0 {
		return nil
	}
	ps, ok := fp.store.(store.PositionStore)
	if !ok {
		return errors.New("flows: the store keeps no positions")
	}
	stored, err := ps.Positions(ctx)
	if err != nil {
		return fmt.Errorf("flows: %w", err)
	}
	for _, sc := range srcs {
		var cp tail.Checkpoint
		if b, ok := stored[zeekPositionKey(sc.Name)]; ok {
			if err := json.Unmarshal(b, &cp); err != nil {
				return fmt.Errorf("flows: zeek source %q: stored position: %w", sc.Name, err)
			}
		}
		tc := sc.Tail()
		tc.Logger = fp.log.With("source", sc.Name)
		r, err := tail.Open(tc, cp)
		if err != nil {
			fp.closeZeek()
			return fmt.Errorf("flows: zeek source %q: %w", sc.Name, err)
		}
		fp.zeek = append(fp.zeek, &zeekSource{cfg: sc, reader: r, parser: zeek.NewParser(zeek.Options{Name: sc.Name}), last: r.Checkpoint()})
	}
	return nil
}

func (fp *flowPipeline) closeZeek() {
	fp.zeekClose.Do(func() {
		for _, z := range fp.zeek {
			z.reader.Close()
		}
	})
}

// runZeek follows every Zeek source until ctx ends, committing positions
// every second and once at the end.
func (fp *flowPipeline) runZeek(ctx context.Context) {
	if len(fp.zeek) == 0 {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	for _, z := range fp.zeek {
		wg.Go(func() {
			if err := fp.followZeek(ctx, z); err != nil && ctx.Err() == nil {
				fp.log.Error("zeek source stopped", "source", z.cfg.Name, "err", err)
			}
		})
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	committed := map[string]tail.Checkpoint{}
	commit := func(ctx context.Context) {
		pos := map[string][]byte{}
		for _, z := range fp.zeek {
			z.mu.Lock()
			cp := z.last
			z.mu.Unlock()
			if committed[z.cfg.Name] == cp {
				continue
			}
			if b, err := json.Marshal(cp); err == nil {
				pos[zeekPositionKey(z.cfg.Name)] = b
				committed[z.cfg.Name] = cp
			}
		}
		if len(pos) == 0 {
			return
		}
		if err := fp.store.(store.PositionStore).Commit(ctx, store.Batch{Positions: pos}); err != nil {
			fp.log.Warn("commit zeek positions", "err", err)
			clear(committed)
		}
	}
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			commit(ctx)
		case <-ctx.Done():
		}
	}
	wg.Wait()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	commit(cctx)
}

// followZeek reads one Zeek source into the detectors.
func (fp *flowPipeline) followZeek(ctx context.Context, z *zeekSource) error {
	for {
		ln, err := z.reader.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				<-ctx.Done()
				return nil
			}
			return err
		}
		s, ok, perr := z.parser.Parse(ln.Text)
		if perr != nil {
			z.errs.Add(1)
		}
		if ok {
			z.sessions.Add(1)
			fp.watch.ProcessFrom(z.cfg.Name, s)
		}
		z.mu.Lock()
		z.last = ln.Pos
		z.mu.Unlock()
	}
}
