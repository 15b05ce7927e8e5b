package config

import (
	"errors"
	"path/filepath"

	"github.com/proxywatch/proxywatch/internal/allowlist"
	"github.com/proxywatch/proxywatch/internal/api"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/dnsbl"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/forwardauth"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
	"github.com/proxywatch/proxywatch/internal/telemetry"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// File is the schema of the configuration file. Each section is a
// component's own Config; see docs/config.md for every key.
type File struct {
	// DataDir holds the store, the feeds' last good copies and other
	// state. Relative paths are relative to the working directory.
	DataDir     string             `yaml:"data_dir"`
	Store       sqlitestore.Config `yaml:"store"`
	Feeds       feed.Config        `yaml:"feeds"`
	Verdict     verdict.Config     `yaml:"verdict"`
	Allowlist   allowlist.Config   `yaml:"allowlist"`
	Enrich      enrich.Config      `yaml:"enrich"`
	Telemetry   telemetry.Config   `yaml:"telemetry"`
	API         api.Config         `yaml:"api"`
	ForwardAuth forwardauth.Config `yaml:"forwardauth"`
	DNSBL       dnsbl.Config       `yaml:"dnsbl"`
	AuthWatch   authwatch.Config   `yaml:"authwatch"`
	Decisions   decision.Config    `yaml:"decisions"`
	FlowWatch   flowwatch.Config   `yaml:"flowwatch"`
	Logs        Logs               `yaml:"logs"`
	Flows       Flows              `yaml:"flows"`

	derivedFrom string // the DataDir the store path was derived from
}

// Default returns the configuration used with no file: data in
// ./proxywatch-data, listening on loopback only, no remote feeds.
func Default() File {
	return File{
		DataDir:     "./proxywatch-data",
		Store:       storeDefaults(),
		Feeds:       feed.DefaultConfig(),
		Verdict:     verdict.DefaultConfig(),
		Allowlist:   allowlist.DefaultConfig(),
		Enrich:      enrich.DefaultConfig(),
		Telemetry:   telemetry.DefaultConfig(),
		API:         api.DefaultConfig(),
		ForwardAuth: forwardauth.DefaultConfig(),
		DNSBL:       dnsbl.DefaultConfig(),
		AuthWatch:   authwatch.DefaultConfig(),
		Decisions:   decision.DefaultConfig(),
		FlowWatch:   flowwatch.DefaultConfig(),
		Logs:        DefaultLogs(),
		Flows:       DefaultFlows(),
	}
}

// storeDefaults returns the store defaults with the path left empty, so
// that it follows data_dir unless set (see Resolve).
func storeDefaults() sqlitestore.Config {
	c := sqlitestore.DefaultConfig()
	c.Path = ""
	return c
}

// Resolve fills settings derived from others: the store path, when not
// set, is data_dir/proxywatch.db. Load and Parse call it before
// validating; a command that changes DataDir (--data) calls it again.
func (f *File) Resolve() {
	if f.Store.Path == "" || f.Store.Path == filepath.Join(f.prevDataDir(), sqlitestore.FileName) {
		f.Store.Path = filepath.Join(f.DataDir, sqlitestore.FileName)
	}
	f.derivedFrom = f.DataDir
}

func (f *File) prevDataDir() string { return f.derivedFrom }

// Validate validates every section and reports every problem, each
// prefixed with its YAML path.
func (f File) Validate() error {
	var errs []error
	if f.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	errs = append(errs, prefixed("store", f.Store.Validate())...)
	errs = append(errs, prefixed("feeds", f.Feeds.Validate(formats.Names()))...)
	errs = append(errs, prefixed("verdict", f.Verdict.Validate())...)
	errs = append(errs, prefixed("allowlist", f.Allowlist.Validate())...)
	errs = append(errs, prefixed("enrich", f.Enrich.Validate())...)
	errs = append(errs, prefixed("telemetry", f.Telemetry.Validate())...)
	errs = append(errs, prefixed("api", f.API.Validate())...)
	errs = append(errs, prefixed("forwardauth", f.ForwardAuth.Validate())...)
	errs = append(errs, prefixed("dnsbl", f.DNSBL.Validate())...)
	errs = append(errs, prefixed("authwatch", f.AuthWatch.Validate())...)
	errs = append(errs, prefixed("decisions", f.Decisions.Validate())...)
	errs = append(errs, prefixed("flowwatch", f.FlowWatch.Validate())...)
	errs = append(errs, prefixed("logs", f.Logs.Validate())...)
	errs = append(errs, prefixed("flows", f.Flows.Validate())...)
	if (f.Flows.Collector.Enabled || len(f.Flows.Zeek) > 0) && !f.FlowWatch.Enabled {
		errs = append(errs, errors.New("flows: the collector and Zeek sources feed the flow detectors: set flowwatch.enabled (and flowwatch.inside) too"))
	}
	return errors.Join(errs...)
}
