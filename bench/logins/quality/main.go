// Command quality measures the login detectors on the simulator's 5socks
// scenario: for each seed it generates the login logs and the enrichment
// databases, runs the detectors with the shipped defaults (and, unless
// -enrich=false, the databases' ASNs and countries), writes findings.jsonl
// beside the logs, and scores it against truth.json: the share of campaign
// participants found, the benign addresses decided, and the
// new_origin_login and impossible_travel alerts on benign addresses. bench/logins/quality.sh runs it on the
// measurement seeds and runs fail2ban, sshguard and CrowdSec on the same
// files.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	seeds := flag.String("seeds", "101-110", "seeds: a range a-b or a comma-separated list")
	size := flag.String("size", "small", "scenario size: small or full")
	out := flag.String("out", "", "directory for the generated files (one sub-directory per seed); default a temporary one")
	asJSON := flag.Bool("json", false, "print one JSON object per seed instead of a table")
	withEnrich := flag.Bool("enrich", true, "give the detectors the simulator's ASN and country databases, as a configured enrich section does")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	list, err := parseSeeds(*seeds)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dir := *out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "loginquality"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if !*asJSON {
		fmt.Printf("%6s %6s %12s %6s %8s %7s %6s %6s %8s %9s\n", "seed", "size", "participants", "found", "recall", "decided", "brute", "benign", "alerts", "decisions")
	}
	failed := false
	for _, s := range list {
		row, err := measure(ctx, s, *size, filepath.Join(dir, "seed-"+strconv.FormatUint(s, 10)), *withEnrich)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if row.Recall < 0.9 || row.Benign > 0 {
			failed = true
		}
		if *asJSON {
			json.NewEncoder(os.Stdout).Encode(row)
			continue
		}
		fmt.Printf("%6d %6s %12d %6d %8.3f %7d %3d/%-2d %6d %8d %9d\n", row.Seed, row.Size, row.Participants, row.Found, row.Recall,
			row.Decided, row.BruteFound, row.BruteForcers, row.Benign, row.Alerts, row.Decisions)
		if row.Benign > 0 {
			fmt.Printf("       benign decided: %s\n", strings.Join(row.BenignSample, " "))
		}
		if row.OriginBenign > 0 {
			fmt.Printf("       %d origin alerts on benign addresses: %s\n", row.OriginBenign, strings.Join(row.OriginSample, "; "))
		}
	}
	if failed {
		os.Exit(3)
	}
}

// parseSeeds reads "101-110" or "1,2,5".
func parseSeeds(s string) ([]uint64, error) {
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, err1 := strconv.ParseUint(a, 10, 64)
		hi, err2 := strconv.ParseUint(b, 10, 64)
		if err1 != nil || err2 != nil || hi < lo || hi-lo > 1000 {
			return nil, fmt.Errorf("seeds %q: want a-b", s)
		}
		var out []uint64
		for v := lo; v <= hi; v++ {
			out = append(out, v)
		}
		return out, nil
	}
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %w", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}
