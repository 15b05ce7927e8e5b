package sim

import (
	"context"
	"net/netip"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/sim/zeeklog"
)

// Time in the engine is int64 microseconds since the Unix epoch.
const (
	usSecond = int64(1e6)
	usMinute = 60 * usSecond
	usHour   = 60 * usMinute
	usDay    = 24 * usHour
	never    = int64(-1)
)

// An actor is one generator of events: a device's behaviour, a bot's
// beacon, a campaign. act runs the step due at e.now, emitting sessions
// and log lines whose times are never before e.now, and returns the time
// of its next step, or never when it is done.
type actor interface {
	act(e *engine) int64
}

type slot struct {
	a actor
}

// A label says what a session is, for the flow labels and the truth.
type label uint8

const (
	lBenign label = iota
	lBeacon
	lCollector
	lRelayIn
	lRelayOut
	lTunnel
	lLogin // benign login traffic
	lAttack
	lLookalike
)

// conn is one simulated session as the network's edge sees it.
type conn struct {
	zeeklog.Conn
	label    label
	srcRole  proxywatch.Role
	dstRole  proxywatch.Role
	chunk    bool  // a pre-cut flow-export chunk (tunnels): export as is, not split
	flags    uint8 // TCP flags of a chunk
	exportAt int64
}

// end returns the time of the session's last packet.
func (c *conn) end() int64 { return c.TS + c.Duration }

// Emission targets.
const (
	toZeek = 1 << iota
	toMeter
	toLabels
	toAll = toZeek | toMeter | toLabels
)

// engine runs the actors in time order and feeds their output, reordered
// into the order each output needs, to the sinks.
type engine struct {
	now, start, end int64
	activeUS        int64 // the exporter's timeouts, for actors that cut their own chunks
	idleUS          int64
	sched           tq[slot]
	zq              tq[conn] // by end time: Zeek logs a connection when it ends
	m               *meter
	lq              tq[logItem]
	out             *sinks
	w               *world
	uidSeed         uint64
	nconn           int64 // records emitted (UIDs handed out)
	nsess           int64 // sessions, as Zeek logs them
	err             error
}

func (e *engine) add(a actor, t int64) {
	if t < 0 || t >= e.end {
		return
	}
	e.sched.push(t, &slot{a})
}

// emit sends c to the outputs selected by mask.
func (e *engine) emit(c *conn, mask int) {
	e.nconn++
	x := e.uidSeed + uint64(e.nconn)
	c.UID = zeeklog.UID{Hi: splitmix64(&x), Lo: splitmix64(&x)}
	c.LocalOrig = isInside(c.Orig)
	c.LocalResp = isInside(c.Resp)
	if mask&toLabels != 0 && e.out.labels != nil {
		e.setErr(e.out.labels.write(c))
	}
	if mask&toZeek != 0 {
		e.nsess++
	}
	if mask&toZeek != 0 && e.out.zeek() {
		e.zq.push(c.end(), c)
	}
	if mask&toMeter != 0 && e.m != nil {
		e.m.add(c)
	}
}

func (e *engine) setErr(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

func isInside(a netip.Addr) bool { return inside4.Contains(a) || inside6.Contains(a) }

// flush writes every queued item due by t.
func (e *engine) flush(t int64) {
	for e.zq.len() > 0 && e.zq.minKey() <= t {
		c := e.zq.pop()
		e.setErr(e.out.writeZeek(&c.Conn))
	}
	if e.m != nil {
		e.setErr(e.m.flush(t))
	}
	for e.lq.len() > 0 && e.lq.minKey() <= t {
		it := e.lq.pop()
		e.setErr(e.out.writeLog(it))
	}
}

// run steps the actors until the end of the scenario, then drains the
// queues.
func (e *engine) run(ctx context.Context) error {
	steps := 0
	for e.sched.len() > 0 && e.err == nil {
		t := e.sched.minKey()
		if t >= e.end {
			break
		}
		e.now = t
		e.flush(t)
		s := *e.sched.pop()
		if next := s.a.act(e); next >= 0 && next < e.end {
			if next < t {
				next = t
			}
			e.sched.push(next, &s)
		}
		if steps++; steps&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if e.err != nil {
		return e.err
	}
	e.now = e.end
	e.flush(1<<62 - 1)
	if e.m != nil {
		e.setErr(e.m.close())
	}
	return e.err
}
