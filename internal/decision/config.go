package decision

import (
	"errors"
	"fmt"
	"time"

	"github.com/proxywatch/proxywatch/internal/policy"
)

// Config configures the decision process: the policy (TTLs, escalation,
// aggregation, carrier-grade NAT ranges) and the process's own bounds.
type Config struct {
	policy.Config `yaml:",inline"`
	// MaxLive caps the live decisions kept in memory; past it the oldest
	// is forgotten here (it stays in the store and the verdict table
	// until it expires).
	MaxLive int `yaml:"max_live"`
	// MaxHistory caps the subjects whose decision count is remembered for
	// escalation.
	MaxHistory int `yaml:"max_history"`
	// Sweep is how often expired decisions are removed (wall time in
	// serve, event time in batch).
	Sweep time.Duration `yaml:"sweep"`
	// Queue caps the store writes waiting for Run; past it writes are
	// made at once, slowing the detectors rather than dropping decisions.
	Queue int `yaml:"queue"`
	// AlertRetention is how long alerts are kept in the store (serve).
	AlertRetention time.Duration `yaml:"alert_retention"`
}

// DefaultConfig returns the configuration used when the section is absent.
func DefaultConfig() Config {
	return Config{
		Config:  policy.DefaultConfig(),
		MaxLive: 200000, MaxHistory: 200000,
		Sweep: time.Minute, Queue: 10000, AlertRetention: 30 * 24 * time.Hour,
	}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if c.MaxLive < 1 {
		errs = append(errs, fmt.Errorf("max_live %d: must be at least 1", c.MaxLive))
	}
	if c.MaxHistory < 1 {
		errs = append(errs, fmt.Errorf("max_history %d: must be at least 1", c.MaxHistory))
	}
	if c.Sweep < time.Second {
		errs = append(errs, fmt.Errorf("sweep %s: must be at least 1s", c.Sweep))
	}
	if c.Queue < 1 {
		errs = append(errs, fmt.Errorf("queue %d: must be at least 1", c.Queue))
	}
	if c.AlertRetention < time.Hour {
		errs = append(errs, fmt.Errorf("alert_retention %s: must be at least 1h", c.AlertRetention))
	}
	return errors.Join(errs...)
}
