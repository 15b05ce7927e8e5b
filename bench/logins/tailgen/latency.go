package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// latencyConfig is the latency subcommand's flags.
type latencyConfig struct {
	log      string
	label    string
	trials   int
	first    int
	base     netip.Prefix
	dns      string
	zone     string
	fa       string
	banfile  string
	poll     time.Duration
	timeout  time.Duration
	gapMin   time.Duration
	gapMax   time.Duration
	perTrial string
	host     string
}

// A probe asks one interface whether addr is blocked yet.
type probe interface {
	name() string
	blocked(ctx context.Context, addr netip.Addr) (bool, error)
}

func runLatency(args []string) error {
	var c latencyConfig
	var base string
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	fs.StringVar(&c.log, "log", "", "the followed log file to append to")
	fs.StringVar(&c.label, "label", "run", "label printed on the result lines")
	fs.IntVar(&c.trials, "trials", 20, "trials, each with a fresh address")
	fs.IntVar(&c.first, "first", 1, "index of the first address inside -net")
	fs.StringVar(&base, "net", "198.18.0.0/15", "prefix the fresh addresses come from")
	fs.StringVar(&c.dns, "dns", "", "DNSBL server address (host:port), UDP")
	fs.StringVar(&c.zone, "zone", "bl.test.", "DNSBL zone")
	fs.StringVar(&c.fa, "fa", "", "forward-auth URL; the address goes in X-Forwarded-For")
	fs.StringVar(&c.banfile, "banfile", "", "a file a ban action appends \"+ADDR\" lines to (fail2ban's dummy action)")
	fs.DurationVar(&c.poll, "poll", 5*time.Millisecond, "polling interval of each probe")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up on a trial after this long")
	fs.DurationVar(&c.gapMin, "gap-min", 200*time.Millisecond, "least pause between trials")
	fs.DurationVar(&c.gapMax, "gap-max", 700*time.Millisecond, "most pause between trials (uniform, so trials fall at every phase of the reader's poll)")
	fs.StringVar(&c.perTrial, "csv", "", "write each trial's latencies to this CSV file")
	fs.StringVar(&c.host, "host", "web1", "syslog host name in the lines")
	fs.Parse(args)
	var err error
	if c.base, err = netip.ParsePrefix(base); err != nil {
		return fmt.Errorf("-net: %w", err)
	}
	if c.log == "" {
		return errors.New("-log is required")
	}
	var probes []probe
	if c.dns != "" {
		probes = append(probes, newDNSProbe(c.dns, c.zone))
	}
	if c.fa != "" {
		probes = append(probes, newFAProbe(c.fa))
	}
	if c.banfile != "" {
		probes = append(probes, &fileProbe{path: c.banfile})
	}
	if len(probes) == 0 {
		return errors.New("give at least one of -dns, -fa, -banfile")
	}
	return latency(c, probes)
}

func latency(c latencyConfig, probes []probe) error {
	f, err := os.OpenFile(c.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var csv *os.File
	if c.perTrial != "" {
		if csv, err = os.Create(c.perTrial); err != nil {
			return err
		}
		defer csv.Close()
		fmt.Fprintf(csv, "label,trial,addr,probe,ms\n")
	}
	got := make([][]time.Duration, len(probes))
	failed := make([]int, len(probes))
	ctx := context.Background()
	for trial := range c.trials {
		addr := nthAddr(c.base, c.first+trial)
		for _, p := range probes { // a fresh address must not be blocked yet
			if b, err := p.blocked(ctx, addr); err != nil {
				return fmt.Errorf("trial %d: %s before the append: %w", trial, p.name(), err)
			} else if b {
				return fmt.Errorf("trial %d: %s already blocks %s before its lines were written", trial, p.name(), addr)
			}
		}
		lines := bruteLines(c.host, addr, trial)
		t0 := time.Now()
		if _, err := f.WriteString(lines); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for i, p := range probes {
			wg.Go(func() {
				d, err := waitBlocked(ctx, p, addr, t0, c.poll, c.timeout)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s trial %d %s %s: %v\n", c.label, trial, addr, p.name(), err)
					failed[i]++
					return
				}
				got[i] = append(got[i], d)
				if csv != nil {
					fmt.Fprintf(csv, "%s,%d,%s,%s,%.2f\n", c.label, trial, addr, p.name(), float64(d)/1e6)
				}
			})
		}
		wg.Wait()
		gap := c.gapMin
		if c.gapMax > c.gapMin {
			gap += rand.N(c.gapMax - c.gapMin)
		}
		time.Sleep(gap)
	}
	for i, p := range probes {
		fmt.Printf("RESULT label=%s probe=%s %s failed=%d\n", c.label, p.name(), summarize(got[i]), failed[i])
	}
	return nil
}

// waitBlocked polls p every poll until it blocks addr and returns the time
// since t0 at which it first answered so.
func waitBlocked(ctx context.Context, p probe, addr netip.Addr, t0 time.Time, poll, timeout time.Duration) (time.Duration, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var lastErr error
	for {
		b, err := p.blocked(ctx, addr)
		if err == nil && b {
			return time.Since(t0), nil
		}
		if err != nil {
			lastErr = err
		}
		if time.Since(t0) > timeout {
			return 0, fmt.Errorf("not blocked after %s (last error: %v)", timeout, lastErr)
		}
		<-tick.C
	}
}

// nthAddr returns the n-th address of p (n counted from the network address).
func nthAddr(p netip.Prefix, n int) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// bruteLines returns six sshd "Failed password" lines for addr, stamped now.
func bruteLines(host string, addr netip.Addr, trial int) string {
	var sb strings.Builder
	stamp := sshdStamp(time.Now())
	pid := 4000 + trial%5000
	for i := range 6 {
		fmt.Fprintf(&sb, "%s %s sshd[%d]: Failed password for root from %s port %d ssh2\n",
			stamp, host, pid+i, addr, 40000+trial%20000+i)
	}
	return sb.String()
}

// fileProbe finds "+ADDR" lines in a file, as fail2ban's dummy action
// writes them on a ban.
type fileProbe struct{ path string }

func (p *fileProbe) name() string { return "banfile" }

func (p *fileProbe) blocked(_ context.Context, addr netip.Addr) (bool, error) {
	b, err := os.ReadFile(p.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	want := "+" + addr.String() + "\n"
	return strings.Contains(string(b), want), nil
}
