package main

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// TestQuality runs the measurement on two of the seeds that were not used
// while tuning (bench/logins/quality.sh runs all ten and the peers) and
// holds the detectors to the goal: at least 90% of the campaign
// participants found, and no benign address decided.
func TestQuality(t *testing.T) {
	seeds := []uint64{101, 102}
	if testing.Short() || raceEnabled {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			row, err := measure(context.Background(), seed, "small", filepath.Join(t.TempDir(), "sim"))
			if err != nil {
				t.Fatalf("measure(seed %d) error %v", seed, err)
			}
			t.Logf("seed %d: %d/%d participants (%.3f), %d decided, brute forcer %d/%d, %d benign decided, %d alerts, %d decisions",
				seed, row.Found, row.Participants, row.Recall, row.Decided, row.BruteFound, row.BruteForcers, row.Benign, row.Alerts, row.Decisions)
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
		})
	}
}
