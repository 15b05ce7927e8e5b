package config

import (
	"errors"
	"fmt"

	"github.com/proxywatch/proxywatch/internal/flow/netflow"
	"github.com/proxywatch/proxywatch/internal/flow/stitch"
)

// Flows configures the live flow pipeline of serve: the NetFlow v5, v9
// and IPFIX collector and the stitcher that joins its records into
// sessions for the flow detectors (section flowwatch).
type Flows struct {
	Collector netflow.Config `yaml:"collector"`
	Stitch    stitch.Config  `yaml:"stitch"`
	// Zeek lists Zeek conn.log files (TSV with its header, or JSON)
	// followed by name through Zeek's rename rotation; their sessions go
	// to the flow detectors as they are written.
	Zeek []FileSource `yaml:"zeek"`
}

// DefaultFlows returns the collector's and the stitcher's defaults; the
// collector is off and, like every listener by default, on loopback.
func DefaultFlows() Flows {
	c := netflow.DefaultConfig()
	c.Listen = "127.0.0.1:2055"
	return Flows{Collector: c, Stitch: stitch.DefaultConfig()}
}

// Validate reports every problem in c.
func (c Flows) Validate() error {
	var errs []error
	errs = append(errs, prefixed("collector", c.Collector.Validate())...)
	errs = append(errs, prefixed("stitch", c.Stitch.Validate())...)
	names := sourceNames{}
	for i, z := range c.Zeek {
		errs = names.check(errs, "zeek", i, z.Name)
		errs = append(errs, prefixed(fmt.Sprintf("zeek[%d]", i), z.Tail().Validate())...)
	}
	return errors.Join(errs...)
}
