package config

import (
	"errors"

	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/telemetry"
)

// File is the schema of the configuration file. Each section is a
// component's own Config; see docs/config.md for every key.
type File struct {
	// DataDir holds the store, the feeds' last good copies and other
	// state. Relative paths are relative to the working directory.
	DataDir   string           `yaml:"data_dir"`
	Telemetry telemetry.Config `yaml:"telemetry"`
	Allowlist allowlist.Config `yaml:"allowlist"`
}

// Default returns the configuration used with no file: data in
// ./proxywatch-data, listening on loopback only, no remote feeds.
func Default() File {
	return File{
		DataDir:   "./proxywatch-data",
		Telemetry: telemetry.DefaultConfig(),
		Allowlist: allowlist.DefaultConfig(),
	}
}

// Validate validates every section and reports every problem, each
// prefixed with its YAML path.
func (f File) Validate() error {
	var errs []error
	if f.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	errs = append(errs, prefixed("telemetry", f.Telemetry.Validate())...)
	errs = append(errs, prefixed("allowlist", f.Allowlist.Validate())...)
	return errors.Join(errs...)
}
