package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch/internal/sim/authlog"
	"github.com/proxywatch/proxywatch/internal/sim/nfexport"
	"github.com/proxywatch/proxywatch/internal/sim/zeeklog"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// The sizes a scenario runs at.
const (
	SizeSmall = "small" // populations times Small.Scale, for Small.Duration: seconds to generate
	SizeFull  = "full"  // the scenario as written
)

// Options says how to run a scenario.
type Options struct {
	OutDir  string       // directory for the output files; "" writes none (live export only)
	Size    string       // SizeSmall (the default) or SizeFull
	Seed    uint64       // 0 means the scenario's seed
	Outputs []string     // output names (Out*); nil means DefaultOutputs
	Live    *LiveOptions // also send the flow export over UDP, paced
	Logger  *slog.Logger // progress messages; nil discards them
}

// LiveOptions sends export packets to a collector on the loopback
// interface as they are generated, at a paced rate.
type LiveOptions struct {
	Addr    string  // "127.0.0.1:2055", "[::1]:4739" or "localhost:9995"; loopback only
	Rate    float64 // datagrams per second; 0 means 5000
	Version int     // 9 or 10 (IPFIX); 0 means 10
}

// A Summary reports what a run produced.
type Summary struct {
	Scenario     string        `json:"scenario"`
	Size         string        `json:"size"`
	Seed         uint64        `json:"seed"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	Hosts        int           `json:"hosts"`        // inside hosts
	Bots         int           `json:"bots"`         // infected over the run
	Conns        int64         `json:"conns"`        // sessions, one Zeek record each
	FlowRecords  int64         `json:"flow_records"` // NetFlow/IPFIX records per export format, after sampling
	ExportPkts   int64         `json:"export_packets"`
	SSHLines     int64         `json:"ssh_lines"`
	WebEvents    int64         `json:"web_events"`
	AccessLines  int64         `json:"access_lines"`
	TruthHosts   int           `json:"truth_hosts"` // entries in the truth file
	LiveSent     int64         `json:"live_sent,omitempty"`
	PeakQueued   int           `json:"peak_queued"` // most items waiting in the reorder queues at once
	Files        []FileInfo    `json:"files,omitempty"`
	Elapsed      time.Duration `json:"elapsed"`
	ConnsPerSec  float64       `json:"conns_per_sec"`
	SampledOut   int64         `json:"sampled_out"` // flow records lost to packet sampling
	ExportFormat []string      `json:"export_formats,omitempty"`
}

// FileInfo names one written file and its size.
type FileInfo struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// Sized returns the scenario as run at size: SizeFull leaves it as it is;
// SizeSmall (or "") scales its populations by Small.Scale and runs it for
// Small.Duration.
func (s Scenario) Sized(size string) (Scenario, error) {
	switch size {
	case SizeFull:
		return s, nil
	case SizeSmall, "":
	default:
		return s, fmt.Errorf("size %q: must be %s or %s", size, SizeSmall, SizeFull)
	}
	f := s.Small.Scale
	n := func(v int) int {
		if v <= 0 {
			return v
		}
		return max(1, int(math.Round(float64(v)*f)))
	}
	s.Duration = s.Small.Duration
	s.Hosts.PC, s.Hosts.IoT, s.Hosts.Router, s.Hosts.Server = n(s.Hosts.PC), n(s.Hosts.IoT), n(s.Hosts.Router), n(s.Hosts.Server)
	s.Hosts.Sites = max(50, n(s.Hosts.Sites))
	s.Botnet.Bots = n(s.Botnet.Bots)
	s.Botnet.Relay.Customers = n(s.Botnet.Relay.Customers)
	l := &s.Lookalikes
	l.NTP, l.Update, l.Monitor, l.HomeServer, l.VPN, l.OfficeNAT = n(l.NTP), n(l.Update), n(l.Monitor), n(l.HomeServer), n(l.VPN), n(l.OfficeNAT)
	s.Logins.SSH.Users, s.Logins.Web.Users = n(s.Logins.SSH.Users), n(s.Logins.Web.Users)
	s.Logins.Campaigns = slices.Clone(s.Logins.Campaigns)
	for i := range s.Logins.Campaigns {
		c := &s.Logins.Campaigns[i]
		c.Participants, c.Accounts = n(c.Participants), n(c.Accounts)
		c.Duration = time.Duration(math.Min(float64(c.Duration), float64(s.Duration)/3))
	}
	if bf := &s.Logins.BruteForce; bf.Duration > s.Duration/3 {
		bf.Duration = s.Duration / 3
	}
	return s, nil
}

// Run generates the scenario's outputs into opts.OutDir and, with
// opts.Live, sends the flow export to a loopback collector. The same
// scenario, size, seed and outputs give byte-identical files. It returns
// when the scenario's time is over or ctx is done.
func Run(ctx context.Context, sc Scenario, opts Options) (Summary, error) {
	began := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	size := opts.Size
	if size == "" {
		size = SizeSmall
	}
	sized, err := sc.Sized(size)
	if err != nil {
		return Summary{}, err
	}
	if err := sized.Validate(); err != nil {
		return Summary{}, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = sized.Seed
	}
	outs := opts.Outputs
	if outs == nil {
		outs = DefaultOutputs
	}
	for _, o := range outs {
		if _, ok := OutputFiles[o]; !ok {
			return Summary{}, fmt.Errorf("output %q: unknown", o)
		}
	}
	if opts.OutDir == "" && opts.Live == nil {
		return Summary{}, errors.New("no output directory and no live export: nothing to do")
	}
	var live *liveSink
	if opts.Live != nil {
		live, err = dialLive(ctx, *opts.Live)
		if err != nil {
			return Summary{}, err
		}
		defer live.close()
	}
	w, err := newWorld(&sized, seed)
	if err != nil {
		return Summary{}, err
	}
	e := &engine{start: w.start, end: w.end, w: w, uidSeed: mix(seed, 0x5eed),
		activeUS: int64(sized.Export.ActiveTimeout / 1000), idleUS: int64(sized.Export.IdleTimeout / 1000)}
	sk := &sinks{}
	e.out = sk
	startT, endT := time.UnixMicro(w.start).UTC(), time.UnixMicro(w.end).UTC()
	files := opts.OutDir != ""
	if files {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return Summary{}, fmt.Errorf("create output directory: %w", err)
		}
	}
	var exps []*nfexport.Exporter
	var formats []string
	want := func(o string) bool { return files && slices.Contains(outs, o) }
	cleanup := func(err error) (Summary, error) {
		_ = sk.close(endT)
		return Summary{}, err
	}
	if want(OutZeek) {
		f, err := sk.create(opts.OutDir, OutZeek)
		if err != nil {
			return cleanup(err)
		}
		if sk.zTSV, err = zeeklog.NewTSV(f, startT); err != nil {
			return cleanup(err)
		}
	}
	if want(OutZeekJSON) {
		f, err := sk.create(opts.OutDir, OutZeekJSON)
		if err != nil {
			return cleanup(err)
		}
		sk.zJSON = zeeklog.NewJSON(f)
	}
	boot := w.start - usDay
	for _, v := range []struct {
		name    string
		version int
		port    uint16
	}{{OutNetflowV9, 9, 2055}, {OutIPFIX, 10, 4739}} {
		var snks []nfexport.Sink
		if want(v.name) {
			f, err := sk.create(opts.OutDir, v.name)
			if err != nil {
				return cleanup(err)
			}
			pw, err := nfexport.NewPcapWriter(f, netip.AddrPortFrom(exporterAddr, 50000), netip.AddrPortFrom(collectorAddr, v.port))
			if err != nil {
				return cleanup(err)
			}
			sk.flushes = append(sk.flushes, pw.Flush)
			snks = append(snks, pw)
		}
		if live != nil && live.version == v.version {
			snks = append(snks, live)
		}
		if len(snks) == 0 {
			continue
		}
		x, err := nfexport.New(nfexport.Config{Version: v.version, SourceID: sized.Export.SourceID,
			Sampling: sized.Export.Sampling, ClockSkew: int64(sized.Export.ClockSkew / 1000), Boot: boot,
			TemplateEvery: sized.Export.TemplateEvery}, snks...)
		if err != nil {
			return cleanup(err)
		}
		exps = append(exps, x)
		formats = append(formats, v.name)
	}
	if len(exps) > 0 {
		e.m = newMeter(sized.Export, seed, exps)
	}
	if want(OutSSHD) {
		f, err := sk.create(opts.OutDir, OutSSHD)
		if err != nil {
			return cleanup(err)
		}
		sk.ssh = authlog.NewSyslog(f, sshHostname, time.UTC)
		sk.flushes = append(sk.flushes, sk.ssh.Flush)
	}
	if want(OutWebJSON) {
		f, err := sk.create(opts.OutDir, OutWebJSON)
		if err != nil {
			return cleanup(err)
		}
		sk.web = authlog.NewJSONLines(f)
		sk.flushes = append(sk.flushes, sk.web.Flush)
	}
	if want(OutNginx) {
		f, err := sk.create(opts.OutDir, OutNginx)
		if err != nil {
			return cleanup(err)
		}
		sk.access = authlog.NewAccess(f, time.UTC)
		sk.flushes = append(sk.flushes, sk.access.Flush)
	}
	if want(OutFlowLabels) {
		f, err := sk.create(opts.OutDir, OutFlowLabels)
		if err != nil {
			return cleanup(err)
		}
		sk.labels = newLabelWriter(f)
		sk.flushes = append(sk.flushes, sk.labels.w.Flush)
	}
	log.Info("simulating", "scenario", sized.Name, "size", size, "seed", seed,
		"hosts", len(w.hosts), "start", startT, "duration", sized.Duration)
	w.populate(e)
	if err := e.run(ctx); err != nil {
		return cleanup(err)
	}
	if err := sk.close(endT); err != nil {
		return Summary{}, err
	}
	var ex *truth.Export
	if e.m != nil || slices.Contains(outs, OutNetflowV9) || slices.Contains(outs, OutIPFIX) {
		ex = &truth.Export{Exporter: exporterAddr, SourceID: sized.Export.SourceID, Sampling: sized.Export.Sampling,
			ActiveTimeout: truth.Duration(sized.Export.ActiveTimeout), IdleTimeout: truth.Duration(sized.Export.IdleTimeout),
			ClockSkew: truth.Duration(sized.Export.ClockSkew)}
	}
	tf := w.truthFile(size, ex)
	sum := Summary{Scenario: sized.Name, Size: size, Seed: seed, Start: startT, End: endT, Hosts: len(w.hosts),
		Bots: len(w.bots), Conns: e.nsess, TruthHosts: len(tf.Hosts), ExportFormat: formats,
		PeakQueued: e.zq.peak + e.lq.peak}
	if e.m != nil {
		sum.FlowRecords = e.m.records
		sum.SampledOut = e.m.sampledOut
		sum.PeakQueued += e.m.q.peak
		sum.ExportPkts = int64(exps[0].Packets())
	}
	if sk.ssh != nil {
		sum.SSHLines = sk.ssh.Lines()
	}
	if sk.web != nil {
		sum.WebEvents = sk.web.Lines()
	}
	if sk.access != nil {
		sum.AccessLines = sk.access.Lines()
	}
	if live != nil {
		sum.LiveSent = live.sent
	}
	if files {
		if err := writeFile(opts.OutDir, OutputFiles[OutTruth], tf.Write); err != nil {
			return Summary{}, err
		}
		names := append(slices.Clone(sk.names), OutputFiles[OutTruth])
		for _, o := range mmdbOutputs {
			if !slices.Contains(outs, o) {
				continue
			}
			if err := writeFile(opts.OutDir, OutputFiles[o], func(f io.Writer) error {
				return writeMMDB(f, o, w.nets, w.start/1e6)
			}); err != nil {
				return Summary{}, err
			}
			names = append(names, OutputFiles[o])
		}
		for _, name := range names {
			if st, err := os.Stat(filepath.Join(opts.OutDir, name)); err == nil {
				sum.Files = append(sum.Files, FileInfo{name, st.Size()})
			}
		}
	}
	sum.Elapsed = time.Since(began)
	if s := sum.Elapsed.Seconds(); s > 0 {
		sum.ConnsPerSec = float64(sum.Conns) / s
	}
	log.Info("simulated", "conns", sum.Conns, "flow_records", sum.FlowRecords, "elapsed", sum.Elapsed)
	return sum, nil
}

func writeFile(dir, name string, fn func(io.Writer) error) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}

// WriteText writes the summary for people: what was simulated and the
// files written.
func (s Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s (%s, seed %d): %s to %s, %d inside hosts, %d bots\n", s.Scenario, s.Size, s.Seed,
		s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), s.Hosts, s.Bots)
	fmt.Fprintf(&b, "%d sessions, %d flow records (%d lost to sampling), %d export packets, %d sshd lines, %d web logins, %d access lines, %d truth entries\n",
		s.Conns, s.FlowRecords, s.SampledOut, s.ExportPkts, s.SSHLines, s.WebEvents, s.AccessLines, s.TruthHosts)
	if s.LiveSent > 0 {
		fmt.Fprintf(&b, "%d datagrams sent live\n", s.LiveSent)
	}
	for _, f := range s.Files {
		fmt.Fprintf(&b, "  %-20s %12d bytes\n", f.Name, f.Bytes)
	}
	fmt.Fprintf(&b, "generated in %s (%.0f sessions/s)\n", s.Elapsed.Round(time.Millisecond), s.ConnsPerSec)
	_, err := io.WriteString(w, b.String())
	return err
}
