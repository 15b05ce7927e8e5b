package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/eval"
	"github.com/proxywatch/proxywatch/internal/logparse"
	"github.com/proxywatch/proxywatch/internal/sim"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// A Row is the outcome of one seed.
type Row struct {
	Seed         uint64   `json:"seed"`
	Size         string   `json:"size"`
	Participants int      `json:"participants"`  // campaign participants in the truth
	Found        int      `json:"found"`         // of them, named by an alert or decision
	Decided      int      `json:"decided"`       // of them, covered by a decision
	Recall       float64  `json:"recall"`        // Found / Participants
	BruteForcers int      `json:"brute_forcers"` // in the truth
	BruteFound   int      `json:"brute_found"`
	Benign       int      `json:"benign_decided"` // addresses with no bad role anywhere in the truth, covered by a decision
	BenignSample []string `json:"benign_sample,omitempty"`
	Decisions    int      `json:"decisions"`
	Alerts       int      `json:"alerts"`
	Campaigns    int      `json:"campaigns"`
	Enriched     bool     `json:"enriched"` // the detectors had the simulator's ASN and country databases
	// ByDetector counts the alerts of each detector.
	ByDetector map[string]int `json:"by_detector,omitempty"`
	// OriginBenign counts the new_origin_login and impossible_travel
	// alerts on addresses with no bad role in the truth; OriginSample
	// describes some of them.
	OriginBenign int      `json:"origin_benign"`
	OriginSample []string `json:"origin_sample,omitempty"`
	Elapsed      float64  `json:"elapsed_seconds"`
	Dir          string   `json:"dir"`
}

// generate runs the 5socks scenario for seed into dir, with the login
// outputs and the enrichment databases only.
func generate(ctx context.Context, seed uint64, size, dir string) error {
	sc, err := sim.LoadScenario("5socks")
	if err != nil {
		return err
	}
	_, err = sim.Run(ctx, sc, sim.Options{OutDir: dir, Size: size, Seed: seed,
		Outputs: []string{sim.OutSSHD, sim.OutWebJSON, sim.OutNginx, sim.OutMMDBASN, sim.OutMMDBCountry, sim.OutMMDBConn, sim.OutTruth}})
	return err
}

// openEnrich opens the simulator's databases in dir under the keys a
// configuration file would give them.
func openEnrich(dir string) (*enrich.Enricher, error) {
	return enrich.Open(enrich.Config{
		ASN:            filepath.Join(dir, sim.OutputFiles[sim.OutMMDBASN]),
		Geo:            filepath.Join(dir, sim.OutputFiles[sim.OutMMDBCountry]),
		ConnectionType: filepath.Join(dir, sim.OutputFiles[sim.OutMMDBConn]),
	})
}

// events returns the events of one log file as parsed by logparse.
func events(path string, cfg logparse.Config, source string, errs *int) iter.Seq[proxywatch.Event] {
	return func(yield func(proxywatch.Event) bool) {
		f, err := os.Open(path)
		if err != nil {
			*errs++
			return
		}
		defer f.Close()
		p, err := logparse.New(cfg, source)
		if err != nil {
			*errs++
			return
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var seq uint64
		for sc.Scan() {
			seq++
			var ev proxywatch.Event
			n, err := p.Parse(sc.Bytes(), seq, &ev)
			if err != nil {
				*errs++
				continue
			}
			for i := 0; i < n; i++ {
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// detect runs the detectors over the simulator's sshd log and web login
// events in dir with the shipped defaults, with enrichment from en when
// it is not nil, and writes findings.jsonl.
func detect(ctx context.Context, dir string, year int, en *enrich.Enricher) ([]proxywatch.Record, authwatch.Stats, error) {
	sshCfg := logparse.DefaultConfig()
	sshCfg.SSHD.TimeZone, sshCfg.SSHD.Year = "UTC", year
	webCfg := logparse.DefaultConfig()
	webCfg.Format = logparse.FormatJSON
	var perr int
	recs, stats, err := run(ctx, en,
		events(filepath.Join(dir, "auth.log"), sshCfg, "auth.log", &perr),
		events(filepath.Join(dir, "web-login.jsonl"), webCfg, "web-login.jsonl", &perr))
	if err != nil {
		return nil, stats, err
	}
	f, err := os.Create(filepath.Join(dir, "findings.jsonl"))
	if err != nil {
		return nil, stats, err
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return nil, stats, err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return nil, stats, err
	}
	return recs, stats, f.Close()
}

// score compares the records with the truth of dir.
func score(dir string, recs []proxywatch.Record) (Row, error) {
	var row Row
	tf, err := os.Open(filepath.Join(dir, "truth.json"))
	if err != nil {
		return row, err
	}
	defer tf.Close()
	var key truth.File
	if err := json.NewDecoder(tf).Decode(&key); err != nil {
		return row, fmt.Errorf("read truth: %w", err)
	}
	if _, err := tf.Seek(0, 0); err != nil {
		return row, err
	}
	ff, err := os.Open(filepath.Join(dir, "findings.jsonl"))
	if err != nil {
		return row, err
	}
	defer ff.Close()
	rep, err := eval.Score(tf, ff, eval.DefaultOptions())
	if err != nil {
		return row, err
	}
	for _, rs := range rep.Roles {
		switch rs.Role {
		case proxywatch.RoleCampaign:
			row.Participants, row.Found = rs.Truth, rs.TP
		case proxywatch.RoleBruteForcer:
			row.BruteForcers, row.BruteFound = rs.Truth, rs.TP
		}
	}
	if row.Participants > 0 {
		row.Recall = float64(row.Found) / float64(row.Participants)
	}
	bad := map[netip.Addr]bool{}
	participants := map[netip.Addr]bool{}
	for _, h := range key.Hosts {
		if h.Role == proxywatch.RoleBenignLookalike {
			continue
		}
		for _, s := range h.Spans {
			bad[s.Addr.Unmap()] = true
			if h.Role == proxywatch.RoleCampaign {
				participants[s.Addr.Unmap()] = true
			}
		}
	}
	seen := map[netip.Addr]bool{}
	row.ByDetector = map[string]int{}
	for _, r := range recs {
		switch {
		case r.Alert != nil:
			row.Alerts++
			row.ByDetector[r.Alert.Detector]++
			if d := r.Alert.Detector; d == "new_origin_login" || d == "impossible_travel" {
				for _, sub := range r.Alert.Subjects {
					if sub.Prefix.IsSingleIP() && !bad[sub.Prefix.Addr().Unmap()] {
						row.OriginBenign++
						if len(row.OriginSample) < 10 {
							row.OriginSample = append(row.OriginSample, fmt.Sprintf("%s %v %s %v", d, r.Alert.Users, sub.Prefix.Addr(), r.Alert.Reasons))
						}
					}
				}
			}
		case r.Decision != nil:
			row.Decisions++
			p := r.Decision.Subject.Prefix
			for a := range participants {
				if p.Contains(a) {
					seen[a] = true
				}
			}
		}
	}
	row.Decided = len(seen)
	// Every source address in the inputs that plays no bad role is benign.
	for _, a := range sources(dir) {
		if bad[a] {
			continue
		}
		for _, r := range recs {
			if r.Decision != nil && r.Decision.Subject.Prefix.Contains(a) {
				row.Benign++
				if len(row.BenignSample) < 10 {
					row.BenignSample = append(row.BenignSample, a.String())
				}
				break
			}
		}
	}
	return row, nil
}

// sources returns every client address in the login logs of dir.
func sources(dir string) []netip.Addr {
	set := map[netip.Addr]bool{}
	sshCfg := logparse.DefaultConfig()
	sshCfg.SSHD.TimeZone = "UTC"
	webCfg := logparse.DefaultConfig()
	webCfg.Format = logparse.FormatJSON
	var perr int
	for ev := range events(filepath.Join(dir, "auth.log"), sshCfg, "", &perr) {
		set[ev.Addr.Unmap()] = true
	}
	for ev := range events(filepath.Join(dir, "web-login.jsonl"), webCfg, "", &perr) {
		set[ev.Addr.Unmap()] = true
	}
	out := make([]netip.Addr, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// measure generates, detects and scores one seed, with the simulator's
// enrichment databases when withEnrich is set.
func measure(ctx context.Context, seed uint64, size, dir string, withEnrich bool) (Row, error) {
	t0 := time.Now()
	if err := generate(ctx, seed, size, dir); err != nil {
		return Row{}, fmt.Errorf("seed %d: generate: %w", seed, err)
	}
	tf, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		return Row{}, err
	}
	var key truth.File
	if err := json.Unmarshal(tf, &key); err != nil {
		return Row{}, err
	}
	var en *enrich.Enricher
	if withEnrich {
		if en, err = openEnrich(dir); err != nil {
			return Row{}, fmt.Errorf("seed %d: %w", seed, err)
		}
		defer en.Close()
	}
	recs, stats, err := detect(ctx, dir, key.Start.Year(), en)
	if err != nil {
		return Row{}, fmt.Errorf("seed %d: detect: %w", seed, err)
	}
	row, err := score(dir, recs)
	if err != nil {
		return Row{}, fmt.Errorf("seed %d: score: %w", seed, err)
	}
	row.Seed, row.Size, row.Dir, row.Enriched = seed, size, dir, withEnrich
	row.Campaigns = int(stats.Campaigns)
	row.Elapsed = time.Since(t0).Seconds()
	return row, nil
}
