package sqlitestore

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the database file's name inside a data directory, for
// commands that take `--data DIR`: filepath.Join(dir, FileName).
const FileName = "proxywatch.db"

// Config configures the embedded store.
type Config struct {
	// Path is the database file. Its directory is created if missing.
	// The write-ahead log sits beside it as Path+"-wal" and Path+"-shm".
	Path string `yaml:"path"`
	// BusyTimeout is how long a write waits for another process's write
	// transaction (an import) before it fails with ErrUnavailable.
	BusyTimeout time.Duration `yaml:"busy_timeout"`
	// ChangeRetention is how long the change log keeps a change; older
	// ones are pruned at each ReplaceFeed. 0 keeps them all.
	ChangeRetention time.Duration `yaml:"change_retention"`
}

// DefaultConfig returns the configuration used when the section is absent:
// the database in ./proxywatch-data, a 5 s busy timeout, and a day of
// changes, far longer than a live follower can lag.
func DefaultConfig() Config {
	return Config{
		Path:            filepath.Join("proxywatch-data", FileName),
		BusyTimeout:     5 * time.Second,
		ChangeRetention: 24 * time.Hour,
	}
}

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Path == "":
		errs = append(errs, errors.New("path: empty"))
	case strings.ContainsAny(c.Path, "?\x00"):
		errs = append(errs, fmt.Errorf("path %q: must not contain '?' or NUL", c.Path))
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		errs = append(errs, fmt.Errorf("path %q: must be a file path (other processes open it too)", c.Path))
	}
	if c.BusyTimeout < 0 || c.BusyTimeout > time.Hour {
		errs = append(errs, fmt.Errorf("busy_timeout %s: must be between 0 and 1h", c.BusyTimeout))
	}
	if c.ChangeRetention != 0 && c.ChangeRetention < time.Minute {
		errs = append(errs, fmt.Errorf("change_retention %s: must be 0 (keep all) or at least 1m", c.ChangeRetention))
	}
	return errors.Join(errs...)
}
