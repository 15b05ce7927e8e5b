package stitch

import (
	"time"

	"github.com/proxywatch/proxywatch/internal/flow"
)

// RunOptions configures Run.
type RunOptions struct {
	// BatchSize is the most sessions sent in one batch; default 1024.
	BatchSize int
	// Recycle, when set, gets each record batch back once it is stitched
	// (netflow.Collector.Recycle).
	Recycle func([]flow.Record)
	// Tick, when set, drives a live pipeline: on each tick event time
	// advances to the tick's wall-clock time (so sessions end even when
	// records stop coming) and the pending partial batch is sent.
	Tick <-chan time.Time
	// Free, when set, gives back session batches the receiver is done
	// with; Run fills them again instead of allocating new ones.
	Free <-chan []flow.Session
}

// Run is the stitching stage of a pipeline: it stitches the record batches
// it receives on in and sends the sessions on out, in batches the receiver
// owns. When in is closed it flushes the open sessions, sends the last
// batch, closes out and returns. Sends block while out is full.
func (s *Stitcher) Run(in <-chan []flow.Record, out chan<- []flow.Session, opts RunOptions) {
	defer close(out)
	size := opts.BatchSize
	if size <= 0 {
		size = 1024
	}
	fresh := func() []flow.Session {
		select {
		case b := <-opts.Free:
			if cap(b) >= size {
				return b[:0]
			}
		default:
		}
		return make([]flow.Session, 0, size)
	}
	batch := fresh()
	send := func() {
		if len(batch) > 0 {
			out <- batch
			batch = fresh()
		}
	}
	emit := func(x flow.Session) {
		batch = append(batch, x)
		if len(batch) >= size {
			send()
		}
	}
	for {
		select {
		case recs, ok := <-in:
			if !ok {
				s.Flush(emit)
				send()
				return
			}
			for i := range recs {
				s.Add(&recs[i], emit)
			}
			if opts.Recycle != nil {
				opts.Recycle(recs)
			}
		case now := <-opts.Tick:
			s.Advance(now, emit)
			send()
		}
	}
}
