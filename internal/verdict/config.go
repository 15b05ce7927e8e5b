package verdict

import (
	"errors"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Config configures the verdict table and how its hits are combined.
type Config struct {
	// MinConfidence is, per interface, the confidence a hit needs for the
	// address to be listed.
	MinConfidence MinConfidence `yaml:"min_confidence"`
	// CompactAfter is the number of single changes (Put, Delete) kept
	// aside before Run folds them into the main table.
	CompactAfter int `yaml:"compact_after"`
	// CompactInterval is the longest time single changes stay aside
	// before Run folds them into the main table.
	CompactInterval time.Duration `yaml:"compact_interval"`
}

// MinConfidence holds the minimum confidence, 1 to 100, at which each
// interface answers an address as listed. A hit below it is still shown
// as evidence by `check`.
type MinConfidence struct {
	Check       uint8 `yaml:"check"`
	DNSBL       uint8 `yaml:"dnsbl"`
	ForwardAuth uint8 `yaml:"forward_auth"`
	Export      uint8 `yaml:"export"`
}

// DefaultMinConfidence is the default minimum confidence of every
// interface. Feeds default to it or above; noisy sources (ipsum entries seen
// by a single list, say) are given a confidence below it, so that they
// are shown but not acted upon.
const DefaultMinConfidence = 50

// DefaultConfig returns the configuration used when the section is absent.
func DefaultConfig() Config {
	m := uint8(DefaultMinConfidence)
	return Config{
		MinConfidence: MinConfidence{Check: m, DNSBL: m, ForwardAuth: m, Export: m},
		// Folding rebuilds the main table (about a second per million
		// indicators); 10,000 pending changes add little to a lookup.
		CompactAfter:    10000,
		CompactInterval: 10 * time.Minute,
	}
}

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    uint8
	}{
		{"min_confidence.check", c.MinConfidence.Check},
		{"min_confidence.dnsbl", c.MinConfidence.DNSBL},
		{"min_confidence.forward_auth", c.MinConfidence.ForwardAuth},
		{"min_confidence.export", c.MinConfidence.Export},
	} {
		if f.v < 1 || f.v > proxywatch.MaxConfidence {
			errs = append(errs, fmt.Errorf("%s %d: must be between 1 and %d", f.name, f.v, proxywatch.MaxConfidence))
		}
	}
	if c.CompactAfter < 1 {
		errs = append(errs, fmt.Errorf("compact_after %d: must be at least 1", c.CompactAfter))
	}
	if c.CompactInterval < time.Second {
		errs = append(errs, fmt.Errorf("compact_interval %s: must be at least 1s", c.CompactInterval))
	}
	return errors.Join(errs...)
}
