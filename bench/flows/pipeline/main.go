// Command pipeline measures decode plus detect (bench/flows/detect.sh):
// proxywatch's whole flow path, from export datagrams through the decoder,
// the stitcher and the flow detectors, against github.com/netsampler/goflow2's
// decoder alone on the same datagrams, in one run.
//
// It loads the first -max datagrams of an IPFIX or NetFlow capture into
// memory and runs -count rounds; each round times, one after the other,
// goflow2's decoder alone, proxywatch's decoder alone, decode plus stitch,
// and the full pipeline, all on the goroutines and cores the Go runtime is
// given (GOMAXPROCS=1 in the script). The pipeline runs the stages as the
// daemon wires them: decoder batches to stitch.(*Stitcher).Run to
// flowwatch.(*Watch).RunBatches over channels. It prints one line per
// round and stage, then the medians, what the detectors saw, and the
// ratio of the pipeline's flows/s to goflow2's.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	gfnetflow "github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/flow"
	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/pcapread"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/truth"
)

func main() {
	pcap := flag.String("pcap", "", "capture `file` of IPFIX or NetFlow v9 export")
	truthFile := flag.String("truth", "", "simulator truth `file` naming the inside prefixes")
	inside := flag.String("inside", "", "inside `prefixes`, comma-separated, when there is no truth file")
	maxDatagrams := flag.Int("max", 300000, "decode at most this many datagrams (0: all)")
	count := flag.Int("count", 3, "rounds")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the pipeline passes to `file`")
	flag.Parse()
	if err := run(*pcap, *truthFile, *inside, *maxDatagrams, *count, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

// datagram is one export packet held in memory.
type datagram struct {
	payload []byte
	src     netip.Addr
	t       time.Time
}

// result is one timed pass of one stage.
type result struct {
	flows   int // flow records decoded (goflow2: data records)
	elapsed time.Duration
	cpu     time.Duration // user and system time of the process, all threads
	mallocs uint64
	bytes   uint64
	watch   flowwatch.Stats
	stitch  stitch.Stats
	errs    uint64 // decode problems counted
}

func (r result) rate() float64 { return float64(r.flows) / r.elapsed.Seconds() }

// cpuRate is flows per second of CPU time: steadier than the wall-clock
// rate on a machine other work shares.
func (r result) cpuRate() float64 { return float64(r.flows) / r.cpu.Seconds() }

type stage struct {
	name string
	run  func([]datagram, []netip.Prefix) (result, error)
}

var stages = []stage{
	{"goflow2-decode", goflowDecode},
	{"decode", decodeOnly},
	{"decode+stitch", decodeStitch},
	{"decode+stitch+detect", pipeline},
}

func run(pcap, truthFile, insideList string, limit, count int, cpuProfile string) error {
	if pcap == "" {
		return errors.New("-pcap is required")
	}
	inside, err := insidePrefixes(truthFile, insideList)
	if err != nil {
		return err
	}
	ds, err := load(pcap, limit)
	if err != nil {
		return err
	}
	fmt.Printf("capture %s: %d datagrams; inside %v; GOMAXPROCS=%d\n", pcap, len(ds), inside, runtime.GOMAXPROCS(0))
	var prof *os.File
	if cpuProfile != "" {
		if prof, err = os.Create(cpuProfile); err != nil {
			return err
		}
		defer prof.Close()
	}
	results := make([][]result, len(stages))
	for round := 1; round <= count; round++ {
		for i, st := range stages {
			runtime.GC()
			last := i == len(stages)-1
			if last && prof != nil {
				if err := pprof.StartCPUProfile(prof); err != nil {
					return err
				}
			}
			r, err := measure(st, ds, inside)
			if last && prof != nil {
				pprof.StopCPUProfile()
				prof = nil // the first round's pass is enough
			}
			if err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			results[i] = append(results[i], r)
			fmt.Printf("round %d %-21s %8d flows %6.2fs %9.0f flows/s  cpu %6.2fs %9.0f flows/cpu-s %10d allocs %7.1f MiB\n",
				round, st.name, r.flows, r.elapsed.Seconds(), r.rate(), r.cpu.Seconds(), r.cpuRate(), r.mallocs, float64(r.bytes)/(1<<20))
		}
	}
	med := make([]result, len(stages))
	for i, rs := range results {
		med[i] = median(rs)
	}
	for i, st := range stages {
		cpus := make([]float64, len(results[i]))
		for j, r := range results[i] {
			cpus[j] = r.cpuRate()
		}
		slices.Sort(cpus)
		fmt.Printf("median %-21s %9.0f flows/s  %.3f us/flow  %9.0f flows/cpu-s  %d allocs per pass\n",
			st.name, med[i].rate(), med[i].elapsed.Seconds()*1e6/float64(med[i].flows), cpus[(len(cpus)-1)/2], med[i].mallocs)
	}
	p := med[len(med)-1]
	fmt.Printf("pipeline: %d records -> %d sessions (%d evicted early); detectors: %d sessions processed, %d late, %d internal, %d external, %d findings, %d indicators, %d rounds; %d decode problems\n",
		p.flows, p.stitch.Sessions, p.stitch.Evicted, p.watch.Sessions, p.watch.Late, p.watch.Internal, p.watch.External,
		p.watch.Findings, p.watch.Promoted, p.watch.Evals, p.errs)
	// The rounds' cost follows event time, not the flows: a capture of a
	// busier network over the same hours has the same rounds.
	rounds := p.watch.EvalTime.Seconds()
	fmt.Printf("scoring rounds: %.2fs of the pass's %.2fs (%.0f%%), %.1f ms each; without them %.0f flows/s\n",
		rounds, p.elapsed.Seconds(), 100*rounds/p.elapsed.Seconds(), 1e3*rounds/float64(max(p.watch.Evals, 1)),
		float64(p.flows)/(p.elapsed.Seconds()-rounds))
	// The ratio is taken within each round, where both passes ran under
	// the same load, and the median of those is reported.
	ratios, cpuRatios := make([]float64, count), make([]float64, count)
	for i := range ratios {
		p, g := results[len(stages)-1][i], results[0][i]
		ratios[i], cpuRatios[i] = p.rate()/g.rate(), p.cpuRate()/g.cpuRate()
	}
	fmt.Printf("ratio per round: wall clock %.2f, CPU time %.2f\n", ratios, cpuRatios)
	slices.Sort(ratios)
	slices.Sort(cpuRatios)
	g := med[0]
	fmt.Printf("decode+stitch+detect %.0f flows/s, goflow2 decoder alone %.0f flows/s (medians; %d flows, %d datagrams, GOMAXPROCS=%d): ratio %.2fx by wall clock, %.2fx by CPU time (medians of the rounds')\n",
		p.rate(), g.rate(), p.flows, len(ds), runtime.GOMAXPROCS(0), ratios[(count-1)/2], cpuRatios[(count-1)/2])
	return nil
}

// median returns the result with the median elapsed time.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return int(a.elapsed - b.elapsed) })
	return s[(len(s)-1)/2]
}

func measure(st stage, ds []datagram, inside []netip.Prefix) (result, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := cpuTime()
	began := time.Now()
	r, err := st.run(ds, inside)
	r.elapsed = time.Since(began)
	r.cpu = cpuTime() - cpu
	runtime.ReadMemStats(&after)
	r.mallocs = after.Mallocs - before.Mallocs
	r.bytes = after.TotalAlloc - before.TotalAlloc
	return r, err
}

// cpuTime returns the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func insidePrefixes(truthFile, list string) ([]netip.Prefix, error) {
	if truthFile == "" {
		var out []netip.Prefix
		for s := range bytes.SplitSeq([]byte(list), []byte(",")) {
			if len(bytes.TrimSpace(s)) == 0 {
				continue
			}
			p, err := netip.ParsePrefix(string(bytes.TrimSpace(s)))
			if err != nil {
				return nil, fmt.Errorf("-inside: %w", err)
			}
			out = append(out, p)
		}
		if len(out) == 0 {
			return nil, errors.New("no inside prefixes: give -truth or -inside")
		}
		return out, nil
	}
	raw, err := os.ReadFile(truthFile)
	if err != nil {
		return nil, err
	}
	f, err := truth.ReadFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", truthFile, err)
	}
	return f.Inside, nil
}

// load reads up to limit datagrams of a capture into memory.
func load(path string, limit int) ([]datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pr, err := pcapread.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var ds []datagram
	for limit == 0 || len(ds) < limit {
		d, err := pr.ReadDatagram()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		ds = append(ds, datagram{bytes.Clone(d.Payload), d.Src.Addr(), d.Time})
	}
	return ds, nil
}

// goflowDecode is the baseline: goflow2's decoder alone, templates and
// data sets to its []DataField records, no conversion.
func goflowDecode(ds []datagram, _ []netip.Prefix) (result, error) {
	ts := gfnetflow.CreateTemplateSystem()
	var r result
	for _, d := range ds {
		var v9 gfnetflow.NFv9Packet
		var ipfix gfnetflow.IPFIXPacket
		if err := gfnetflow.DecodeMessageVersion(bytes.NewBuffer(d.payload), ts, &v9, &ipfix); err != nil {
			return r, err
		}
		sets := ipfix.FlowSets
		if binary.BigEndian.Uint16(d.payload) == 9 {
			sets = v9.FlowSets
		}
		for _, s := range sets {
			if dfs, ok := s.(gfnetflow.DataFlowSet); ok {
				r.flows += len(dfs.Records)
			}
		}
	}
	return r, nil
}

// decodeOnly is proxywatch's decoder alone, reusing the record buffer.
func decodeOnly(ds []datagram, _ []netip.Prefix) (result, error) {
	dec := netflow.NewDecoder(netflow.Options{})
	var recs []flow.Record
	var r result
	for _, d := range ds {
		recs, _ = dec.Decode(recs[:0], d.payload, d.src, d.t)
		r.flows += len(recs)
	}
	r.errs = decodeProblems(dec)
	return r, nil
}

// decodeStitch decodes and stitches on one goroutine.
func decodeStitch(ds []datagram, _ []netip.Prefix) (result, error) {
	dec := netflow.NewDecoder(netflow.Options{})
	st, err := stitch.New(stitch.DefaultConfig())
	if err != nil {
		return result{}, err
	}
	var recs []flow.Record
	var r result
	sessions := 0
	emit := func(flow.Session) { sessions++ }
	for _, d := range ds {
		recs, _ = dec.Decode(recs[:0], d.payload, d.src, d.t)
		r.flows += len(recs)
		for i := range recs {
			st.Add(&recs[i], emit)
		}
	}
	st.Flush(emit)
	r.stitch, r.errs = st.Stats(), decodeProblems(dec)
	return r, nil
}

// pipeline runs decode, stitch and detect as the daemon wires them: the
// decoder hands record batches (recycled, as the collector's are) to the
// stitcher's Run, which hands session batches to the Watch's RunBatches.
func pipeline(ds []datagram, inside []netip.Prefix) (result, error) {
	ncfg := netflow.DefaultConfig()
	wcfg := flowwatch.DefaultConfig()
	wcfg.Enabled, wcfg.Inside = true, inside
	var findings, indicators int
	w, err := flowwatch.New(wcfg, flowwatch.Deps{
		OnFinding:   func(proxywatch.Finding) { findings++ },
		OnIndicator: func(proxywatch.Indicator) { indicators++ },
	})
	if err != nil {
		return result{}, err
	}
	st, err := stitch.New(stitch.DefaultConfig())
	if err != nil {
		return result{}, err
	}
	records := make(chan []flow.Record, 16)
	sessions := make(chan []flow.Session, 16)
	free := make(chan []flow.Record, 32)
	recycle := func(b []flow.Record) {
		select {
		case free <- b[:0]:
		default:
		}
	}
	batch := func() []flow.Record {
		select {
		case b := <-free:
			return b
		default:
			return make([]flow.Record, 0, ncfg.BatchSize)
		}
	}
	spent := make(chan []flow.Session, cap(sessions)+2)
	go st.Run(records, sessions, stitch.RunOptions{Recycle: recycle, Free: spent})
	watched := make(chan error, 1)
	go func() { watched <- w.RunBatches(context.Background(), sessions, spent) }()

	dec := netflow.NewDecoder(netflow.Options{})
	var r result
	b := batch()
	for _, d := range ds {
		b, _ = dec.Decode(b, d.payload, d.src, d.t)
		if len(b) >= ncfg.BatchSize {
			r.flows += len(b)
			records <- b
			b = batch()
		}
	}
	r.flows += len(b)
	records <- b
	close(records)
	if err := <-watched; err != nil {
		return r, err
	}
	r.watch, r.stitch, r.errs = w.Stats(), st.Stats(), decodeProblems(dec)
	if int64(findings) != r.watch.Findings || int64(indicators) != r.watch.Promoted {
		return r, fmt.Errorf("detectors counted %d findings and %d indicators, %d and %d delivered",
			r.watch.Findings, r.watch.Promoted, findings, indicators)
	}
	return r, nil
}

func decodeProblems(dec *netflow.Decoder) uint64 {
	var n uint64
	for _, e := range dec.Stats().Errors {
		n += e
	}
	return n
}
