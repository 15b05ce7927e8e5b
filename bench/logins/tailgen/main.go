// Command tailgen drives the live login-watch benchmarks of bench/logins
// against a running daemon (proxywatch serve or fail2ban-server). It talks
// to loopback only.
//
//	tailgen latency -log FILE -dns 127.0.0.1:PORT -zone bl.test. -fa http://127.0.0.1:PORT/ [-trials 20]
//	tailgen latency -log FILE -banfile FILE                 # fail2ban's dummy action target
//	tailgen gen -out FILE -pid PID -db DATA/proxywatch.db [-sources 1000000]
//
// latency appends one brute forcer's six failures to the followed log in a
// single write, a fresh address each trial, and polls until the DNSBL
// answers it as listed and forward-auth denies it (or until the ban file
// names it), then prints the medians. gen appends sshd events as fast as
// the daemon reads them and samples the daemon's progress and memory once
// a second. See bench/logins/README.md.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "latency":
		err = runLatency(os.Args[2:])
	case "gen":
		err = runGen(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tailgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tailgen latency|gen [flags] (tailgen latency -h)")
	os.Exit(2)
}

// sshdStamp formats t as an RFC 3164 syslog time stamp in UTC, as rsyslog
// writes it.
func sshdStamp(t time.Time) string { return t.UTC().Format(time.Stamp) }

// dist summarises durations: median, 90th percentile (nearest rank) and
// maximum, in milliseconds.
type dist struct {
	n             int
	p50, p90, max float64
}

func summarize(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var p50 float64
	if len(s)%2 == 1 {
		p50 = ms(s[len(s)/2])
	} else {
		p50 = (ms(s[len(s)/2-1]) + ms(s[len(s)/2])) / 2
	}
	return dist{n: len(s), p50: p50, p90: ms(rank(0.9)), max: ms(s[len(s)-1])}
}

func (d dist) String() string {
	return fmt.Sprintf("n=%d p50_ms=%.1f p90_ms=%.1f max_ms=%.1f", d.n, d.p50, d.p90, d.max)
}

// medianF returns the median of xs, 0 for none.
func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// readProcKiB returns the value of key (e.g. "VmRSS:") in /proc/pid/status
// in KiB, or -1.
func readProcKiB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			var v int64
			if _, err := fmt.Sscan(strings.TrimSpace(rest), &v); err == nil {
				return v
			}
		}
	}
	return -1
}
