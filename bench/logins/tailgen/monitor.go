package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one second's look at the daemon.
type sample struct {
	t         float64 // seconds since the writer started
	written   int64   // lines written
	bytes     int64   // bytes written
	readPos   int64   // the daemon's file offset on the log, -1 unknown
	committed int64   // lines committed (the stored position's seq), -1 unknown
	rssKiB    int64
	cpu       float64 // the daemon's user+system CPU seconds
}

// monitor samples the daemon once a second: its read offset on the log
// (from /proc/PID/fdinfo), its committed position (from the store, with
// the sqlite3 program), its VmRSS and its CPU time.
type monitor struct {
	c         genConfig
	startSize int64
	t0        time.Time

	mu             sync.Mutex
	written, bytes int64
	samples        []sample
	fd             string
	baseSeq        int64
	cpu0           float64

	stopc chan struct{}
	wg    sync.WaitGroup
}

func newMonitor(c genConfig, startSize int64) *monitor {
	m := &monitor{c: c, startSize: startSize, stopc: make(chan struct{})}
	m.baseSeq = max(0, m.committedSeq())
	m.cpu0 = m.cpuSeconds()
	return m
}

func (m *monitor) start(t0 time.Time) {
	m.t0 = t0
	m.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-m.stopc:
				return
			case <-tick.C:
				m.take()
			}
		}
	})
}

func (m *monitor) stop() {
	close(m.stopc)
	m.wg.Wait()
	m.take()
}

func (m *monitor) wrote(lines, bytes int64) {
	m.mu.Lock()
	m.written, m.bytes = lines, bytes
	m.mu.Unlock()
}

func (m *monitor) take() {
	s := sample{t: time.Since(m.t0).Seconds(), readPos: m.readPos(), committed: m.committedSeq(),
		rssKiB: -1, cpu: -1}
	if s.committed >= 0 {
		s.committed -= m.baseSeq
	}
	if m.c.pid > 0 {
		s.rssKiB = readProcKiB(m.c.pid, "VmRSS:")
		if cpu := m.cpuSeconds(); cpu >= 0 {
			s.cpu = cpu - m.cpu0
		}
	}
	m.mu.Lock()
	s.written, s.bytes = m.written, m.bytes
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

// last describes the latest sample.
func (m *monitor) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.samples) == 0 {
		return ""
	}
	s := m.samples[len(m.samples)-1]
	return fmt.Sprintf("committed %d, unread %d bytes, RSS %.1f MiB", s.committed,
		m.startSize+s.bytes-s.readPos, float64(s.rssKiB)/1024)
}

// readPos returns the daemon's offset in the log file, or -1.
func (m *monitor) readPos() int64 {
	if m.c.pid <= 0 {
		return -1
	}
	m.mu.Lock()
	fd := m.fd
	m.mu.Unlock()
	if fd != "" {
		if p := m.fdPos(fd); p >= 0 {
			return p
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", m.c.pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == m.c.out {
			m.mu.Lock()
			m.fd = e.Name()
			m.mu.Unlock()
			return m.fdPos(e.Name())
		}
	}
	return -1
}

func (m *monitor) fdPos(fd string) int64 {
	if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", m.c.pid, fd)); err != nil || l != m.c.out {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", m.c.pid, fd))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "pos:"); ok {
			if v, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
				return v
			}
		}
	}
	return -1
}

// committedSeq returns the sequence number of the last line the daemon
// committed for the source, or -1.
func (m *monitor) committedSeq() int64 {
	if m.c.db == "" {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	q := fmt.Sprintf("select json_extract(pos,'$.seq') from positions where source='%s';",
		strings.ReplaceAll(m.c.source, "'", "''"))
	out, err := exec.CommandContext(ctx, "sqlite3", "-readonly", "-cmd", ".timeout 2000", m.c.db, q).Output()
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0 // no position committed yet
	}
	return v
}

// cpuSeconds returns the daemon's user+system CPU time, or -1.
func (m *monitor) cpuSeconds() float64 {
	if m.c.pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.c.pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseFloat(f[11], 64) // field 14
	st, err2 := strconv.ParseFloat(f[12], 64) // field 15
	if err1 != nil || err2 != nil {
		return -1
	}
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// waitCommitted waits until the daemon has committed lines lines, or for
// at most d, and returns the seconds since the start at which it had, or
// -1.
func (m *monitor) waitCommitted(lines int64, d time.Duration) float64 {
	deadline := time.Now().Add(d)
	for {
		if c := m.committedSeq(); c >= 0 && c-m.baseSeq >= lines {
			return time.Since(m.t0).Seconds()
		}
		if time.Now().After(deadline) {
			return -1
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type reportInput struct {
	written, bytes int64
	genWall        time.Duration
	complete       bool
	distinct       int
	throttled      time.Duration
	caughtUp       float64
}

func (m *monitor) report(w io.Writer, in reportInput) {
	m.mu.Lock()
	ss := append([]sample(nil), m.samples...)
	m.mu.Unlock()
	if len(ss) == 0 {
		fmt.Fprintln(w, "no samples")
		return
	}
	if m.c.samples != "" {
		if f, err := os.Create(m.c.samples); err == nil {
			fmt.Fprintln(f, "t_s,written,bytes,read_pos,committed,rss_kib,cpu_s")
			for _, s := range ss {
				fmt.Fprintf(f, "%.2f,%d,%d,%d,%d,%d,%.2f\n", s.t, s.written, s.bytes, s.readPos, s.committed, s.rssKiB, s.cpu)
			}
			f.Close()
		}
	}
	gen := in.genWall.Seconds()
	warm := m.c.warmup.Seconds()
	// The sustained rate: the committed position's slope between the end
	// of warm-up and the last sample taken while writing.
	var a, b *sample
	for i := range ss {
		s := &ss[i]
		if s.t >= warm && s.t <= gen && s.committed >= 0 {
			if a == nil {
				a = s
			}
			b = s
		}
	}
	rate, readRate := -1.0, -1.0
	if a != nil && b != nil && b.t > a.t {
		rate = float64(b.committed-a.committed) / (b.t - a.t)
		if a.readPos >= 0 && b.readPos >= 0 && in.written > 0 {
			perLine := float64(in.bytes) / float64(in.written)
			readRate = float64(b.readPos-a.readPos) / perLine / (b.t - a.t)
		}
	}
	last := ss[len(ss)-1]
	var all, post []float64
	for _, s := range ss {
		if s.rssKiB < 0 {
			continue
		}
		mib := float64(s.rssKiB) / 1024
		all = append(all, mib)
		if s.t >= warm && s.t <= gen {
			post = append(post, mib)
		}
	}
	mm := func(xs []float64) (lo, med, hi float64) {
		if len(xs) == 0 {
			return 0, 0, 0
		}
		lo, hi = xs[0], xs[0]
		for _, x := range xs {
			lo, hi = min(lo, x), max(hi, x)
		}
		return lo, medianF(xs), hi
	}
	lo, med, hi := mm(all)
	plo, pmed, phi := mm(post)
	growth := 0.0
	if n := len(post); n >= 6 {
		first, lastThird := medianF(post[:n/3]), medianF(post[n-n/3:])
		growth = (lastThird - first) / first * 100
	}
	usPerEvent := -1.0
	if last.cpu > 0 && last.committed > 0 {
		usPerEvent = last.cpu / float64(last.committed) * 1e6
	}
	overall := -1.0
	if in.caughtUp > 0 {
		overall = float64(in.written) / in.caughtUp
	}
	hwm := readProcKiB(m.c.pid, "VmHWM:")
	fmt.Fprintf(w, "written: %d lines (%d distinct addresses, complete=%v) in %.1f s; writer waited for the daemon %.1f s\n",
		in.written, in.distinct, in.complete, gen, in.throttled.Seconds())
	fmt.Fprintf(w, "committed: %d lines; all committed at %.1f s (-1: not within the drain time)\n", last.committed, in.caughtUp)
	fmt.Fprintf(w, "events/s sustained (committed position, %.0f-%.0f s): %.0f; read offset: %.0f lines/s; overall (written / time to commit all): %.0f\n",
		ptrT(a), ptrT(b), rate, readRate, overall)
	fmt.Fprintf(w, "daemon CPU: %.1f s, %.1f us per committed line\n", last.cpu, usPerEvent)
	fmt.Fprintf(w, "RSS MiB, all %d samples: min %.1f median %.1f max %.1f; after warm-up (%d): min %.1f median %.1f max %.1f; last third vs first third after warm-up: %+.1f%%; VmHWM %.1f MiB\n",
		len(all), lo, med, hi, len(post), plo, pmed, phi, growth, float64(hwm)/1024)
	fmt.Fprintf(w, "RESULT written=%d committed=%d complete=%v gen_s=%.1f caught_up_s=%.1f rate=%.0f read_rate=%.0f overall=%.0f cpu_s=%.1f us_per_event=%.2f rss_min=%.1f rss_med=%.1f rss_max=%.1f post_min=%.1f post_med=%.1f post_max=%.1f growth_pct=%.1f hwm=%.1f\n",
		in.written, last.committed, in.complete, gen, in.caughtUp, rate, readRate, overall, last.cpu, usPerEvent,
		lo, med, hi, plo, pmed, phi, growth, float64(hwm)/1024)
}

func ptrT(s *sample) float64 {
	if s == nil {
		return -1
	}
	return s.t
}
