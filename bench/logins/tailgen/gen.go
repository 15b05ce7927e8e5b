package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// genConfig is the gen subcommand's flags.
type genConfig struct {
	out      string
	net      netip.Prefix
	sources  int
	events   int
	active   int
	chunk    int
	backlog  int64
	pid      int
	db       string
	source   string
	maxTime  time.Duration
	drain    time.Duration
	warmup   time.Duration
	samples  string
	seed     uint64
	host     string
	progress time.Duration
}

// eventsPer is how many events the i-th address sends, by i mod 10: six in
// ten stay under the brute-force threshold (sprayers), three brute-force a
// little, one hammers. The mean is 10 events per address.
var eventsPer = [10]uint8{2, 2, 2, 2, 2, 2, 12, 12, 12, 52}

func runGen(args []string) error {
	var c genConfig
	var pfx string
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	fs.StringVar(&c.out, "out", "", "the followed log file to append to")
	fs.StringVar(&pfx, "net", "100.64.0.0/10", "prefix the source addresses come from")
	fs.IntVar(&c.sources, "sources", 1_000_000, "distinct source addresses")
	fs.IntVar(&c.events, "events", 0, "stop after this many events (0: all, 10 per address on average)")
	fs.IntVar(&c.active, "active", 50_000, "addresses attacking at once; each address's events spread over about active*10 lines")
	fs.IntVar(&c.chunk, "chunk", 2000, "lines per write")
	fs.Int64Var(&c.backlog, "backlog", 8<<20, "most bytes written but not yet read by -pid (0: no limit)")
	fs.IntVar(&c.pid, "pid", 0, "the daemon following -out (its read offset paces the writer; its memory and CPU are sampled)")
	fs.StringVar(&c.db, "db", "", "the daemon's SQLite store: its committed position for -source is sampled with sqlite3")
	fs.StringVar(&c.source, "source", "auth", "the log source's name in the store")
	fs.DurationVar(&c.maxTime, "max-time", 8*time.Minute, "stop writing after this long, whatever was written")
	fs.DurationVar(&c.drain, "drain", time.Minute, "after writing, wait at most this long for the daemon to commit every line")
	fs.DurationVar(&c.warmup, "warmup", 30*time.Second, "samples before this are warm-up (not in the sustained figures)")
	fs.StringVar(&c.samples, "samples", "", "write the per-second samples to this CSV file")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed")
	fs.StringVar(&c.host, "host", "web1", "syslog host name in the lines")
	fs.DurationVar(&c.progress, "progress", 10*time.Second, "print progress to stderr this often (0: never)")
	fs.Parse(args)
	var err error
	if c.net, err = netip.ParsePrefix(pfx); err != nil || !c.net.Addr().Is4() {
		return fmt.Errorf("-net %q: an IPv4 prefix is needed", pfx)
	}
	if bits := 32 - c.net.Bits(); bits < 32 && c.sources > 1<<bits {
		return fmt.Errorf("-sources %d does not fit in %s", c.sources, c.net)
	}
	if c.out == "" || c.sources <= 0 || c.active <= 0 || c.chunk <= 0 {
		return errors.New("-out, and positive -sources, -active and -chunk, are required")
	}
	if c.out, err = filepath.Abs(c.out); err != nil {
		return err
	}
	return generate(c)
}

// schedule hands out the events: addresses in order, a fixed number of
// them active at once, each line from a random active one.
type schedule struct {
	c      genConfig
	rng    *rand.Rand
	active []slot
	next   int
}

type slot struct {
	idx  uint32
	left uint8
}

func newSchedule(c genConfig) *schedule {
	s := &schedule{c: c, rng: rand.New(rand.NewPCG(c.seed, 0x70726f78))}
	for s.next < c.sources && len(s.active) < c.active {
		s.active = append(s.active, slot{uint32(s.next), eventsPer[s.next%10]})
		s.next++
	}
	return s
}

// addr returns the address of the i-th source: a bijection scattering
// consecutive indexes over the prefix.
func (s *schedule) addr(i uint32) netip.Addr {
	bits := 32 - s.c.net.Bits()
	v := i
	if bits < 32 {
		v = (i * 0x9e3779b1) & (1<<bits - 1)
	}
	return nthAddr(s.c.net, int(v))
}

// appendLine appends the next event's line to b; false when done.
func (s *schedule) appendLine(b []byte, stamp string) ([]byte, bool) {
	if len(s.active) == 0 {
		return b, false
	}
	j := s.rng.IntN(len(s.active))
	sl := &s.active[j]
	a := s.addr(sl.idx)
	b = append(b, stamp...)
	b = append(b, ' ')
	b = append(b, s.c.host...)
	b = append(b, " sshd["...)
	b = strconv.AppendInt(b, int64(1000+s.rng.IntN(60000)), 10)
	b = append(b, "]: "...)
	port := int64(1024 + s.rng.IntN(64000))
	var msg, end string
	switch r := s.rng.IntN(100); {
	case r < 70:
		msg, end = "Failed password for root from ", " ssh2\n"
	case r < 85:
		msg, end = "Failed password for invalid user admin from ", " ssh2\n"
	case r < 95:
		msg, end = "Invalid user admin from ", "\n"
	default:
		msg, end = "Connection closed by authenticating user root ", " [preauth]\n"
	}
	b = append(b, msg...)
	b = a.AppendTo(b)
	b = append(b, " port "...)
	b = strconv.AppendInt(b, port, 10)
	b = append(b, end...)
	sl.left--
	if sl.left == 0 {
		if s.next < s.c.sources {
			*sl = slot{uint32(s.next), eventsPer[s.next%10]}
			s.next++
		} else {
			s.active[j] = s.active[len(s.active)-1]
			s.active = s.active[:len(s.active)-1]
		}
	}
	return b, true
}

func generate(c genConfig) error {
	f, err := os.OpenFile(c.out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	startSize := st.Size()
	mon := newMonitor(c, startSize)
	sch := newSchedule(c)
	start := time.Now()
	mon.start(start)

	var written, bytes int64
	buf := make([]byte, 0, c.chunk*120)
	lastProgress := start
	done := false
	throttled := time.Duration(0)
	for !done && time.Since(start) < c.maxTime {
		buf = buf[:0]
		stamp := sshdStamp(time.Now())
		for range c.chunk {
			if c.events > 0 && written >= int64(c.events) {
				done = true
				break
			}
			var ok bool
			if buf, ok = sch.appendLine(buf, stamp); !ok {
				done = true
				break
			}
			written++
		}
		if len(buf) > 0 {
			if _, err := f.Write(buf); err != nil {
				return err
			}
			bytes += int64(len(buf))
			mon.wrote(written, bytes)
		}
		if c.backlog > 0 && c.pid > 0 {
			t := time.Now()
			for time.Since(start) < c.maxTime {
				pos := mon.readPos()
				if pos < 0 || startSize+bytes-pos <= c.backlog {
					break
				}
				time.Sleep(time.Millisecond)
			}
			throttled += time.Since(t)
		}
		if c.progress > 0 && time.Since(lastProgress) >= c.progress {
			lastProgress = time.Now()
			fmt.Fprintf(os.Stderr, "gen: %.0fs written %d lines (%.0f/s) %s\n",
				time.Since(start).Seconds(), written, float64(written)/time.Since(start).Seconds(), mon.last())
		}
	}
	genWall := time.Since(start)
	complete := c.events == 0 && sch.next >= c.sources && len(sch.active) == 0 || c.events > 0 && written >= int64(c.events)
	fmt.Fprintf(os.Stderr, "gen: wrote %d lines, %d bytes in %s (complete=%v, %d distinct addresses started); waiting for the daemon\n",
		written, bytes, genWall.Round(time.Millisecond), complete, sch.next)
	caught := mon.waitCommitted(written, c.drain)
	mon.stop()
	mon.report(os.Stdout, reportInput{written: written, bytes: bytes, genWall: genWall, complete: complete,
		distinct: sch.next, throttled: throttled, caughtUp: caught})
	return nil
}
