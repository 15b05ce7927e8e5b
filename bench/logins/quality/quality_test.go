package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/proxywatch/proxywatch"
)

// TestQuality runs the measurement on two of the seeds that were not used
// while tuning (bench/logins/quality.sh runs all ten and the peers), with
// and without the simulator's enrichment databases, and holds the
// detectors to the goal: at least 90% of the campaign participants found,
// and no benign address decided.
func TestQuality(t *testing.T) {
	seeds := []uint64{101, 102}
	if testing.Short() || raceEnabled {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		for _, withEnrich := range []bool{false, true} {
			name := strconv.FormatUint(seed, 10)
			if withEnrich {
				name += "-enrich"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				row, err := measure(context.Background(), seed, "small", filepath.Join(t.TempDir(), "sim"), withEnrich)
				if err != nil {
					t.Fatalf("measure(seed %d) error %v", seed, err)
				}
				t.Logf("seed %d: %d/%d participants (%.3f), %d decided, brute forcer %d/%d, %d benign decided, %d alerts %v, %d decisions",
					seed, row.Found, row.Participants, row.Recall, row.Decided, row.BruteFound, row.BruteForcers, row.Benign, row.Alerts, row.ByDetector, row.Decisions)
				if row.OriginBenign > 0 {
					t.Logf("seed %d: %d origin alerts on benign addresses (alerts only): %v", seed, row.OriginBenign, row.OriginSample)
				}
				if row.Participants == 0 {
					t.Fatalf("seed %d: the truth has no campaign participants", seed)
				}
				if row.Recall < 0.9 {
					t.Errorf("seed %d: found %d of %d campaign participants (%.3f), want at least 90%%", seed, row.Found, row.Participants, row.Recall)
				}
				if row.Benign != 0 {
					t.Errorf("seed %d: %d benign addresses decided (%v), want none", seed, row.Benign, row.BenignSample)
				}
				if row.BruteFound != row.BruteForcers {
					t.Errorf("seed %d: found %d of %d brute forcers", seed, row.BruteFound, row.BruteForcers)
				}
				if withEnrich && row.Alerts > 0 && !enrichedSpread(t, row.Dir) {
					t.Errorf("seed %d: no alert carries an ASN or country spread with enrichment on", seed)
				}
			})
		}
	}
}

// enrichedSpread reports whether some alert in dir's findings counts ASNs
// or countries, which only enrichment provides.
func enrichedSpread(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		var r proxywatch.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("findings.jsonl: %v", err)
		}
		if r.Alert != nil && r.Alert.Spread != nil && (r.Alert.Spread.ASNs > 0 || r.Alert.Spread.Countries > 0) {
			return true
		}
	}
	return false
}
