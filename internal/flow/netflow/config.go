package netflow

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config configures a Collector.
type Config struct {
	// Enabled turns the collector on in `serve`.
	Enabled bool `yaml:"enabled"`
	// Listen is the UDP address exporters send to. One port takes NetFlow
	// v5, v9 and IPFIX alike.
	Listen string `yaml:"listen"`
	// ReceiveBuffer is the socket receive buffer asked for, in bytes. The
	// kernel caps it at net.core.rmem_max unless the process may raise it
	// (CAP_NET_ADMIN); the size obtained is logged and exported as a metric.
	ReceiveBuffer int `yaml:"receive_buffer"`
	// TemplateTimeout drops templates not announced again for this long.
	TemplateTimeout time.Duration `yaml:"template_timeout"`
	// MaxDomains bounds the exporter and observation-domain pairs tracked.
	MaxDomains int `yaml:"max_domains"`
	// MaxTemplates bounds the templates kept per domain.
	MaxTemplates int `yaml:"max_templates"`
	// Sampling sets the sampling rate of exporters that do not announce
	// it, or overrides what they announce.
	Sampling []SamplingRule `yaml:"sampling"`
	// BatchSize is the most records handed over in one batch.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a decoded record waits for its batch to
	// fill before the batch is handed over anyway.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Queue is how many batches may wait for the consumer. When it is full
	// the collector stops reading and the socket buffer takes the excess;
	// what overflows it is counted as socket drops.
	Queue int `yaml:"queue"`
}

// DefaultConfig returns the configuration used when the section is absent:
// off, and when turned on listening on every address at port 2055 with a
// 16 MiB receive buffer.
func DefaultConfig() Config {
	return Config{
		Listen:          "0.0.0.0:2055",
		ReceiveBuffer:   16 << 20,
		TemplateTimeout: 2 * time.Hour,
		MaxDomains:      4096,
		MaxTemplates:    1024,
		BatchSize:       1024,
		FlushInterval:   200 * time.Millisecond,
		Queue:           64,
	}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	if c.Enabled {
		if _, err := netip.ParseAddrPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen %q: want address:port: %w", c.Listen, err))
		}
	}
	if c.ReceiveBuffer < 0 || c.ReceiveBuffer > 1<<30 {
		errs = append(errs, fmt.Errorf("receive_buffer %d: must be between 0 and 1 GiB", c.ReceiveBuffer))
	}
	if c.TemplateTimeout < time.Minute {
		errs = append(errs, fmt.Errorf("template_timeout %s: must be at least 1m", c.TemplateTimeout))
	}
	if c.MaxDomains < 1 || c.MaxDomains > 1<<20 {
		errs = append(errs, fmt.Errorf("max_domains %d: must be between 1 and 1048576", c.MaxDomains))
	}
	if c.MaxTemplates < 1 || c.MaxTemplates > 65280 {
		errs = append(errs, fmt.Errorf("max_templates %d: must be between 1 and 65280", c.MaxTemplates))
	}
	for i, r := range c.Sampling {
		if !r.Exporter.IsValid() {
			errs = append(errs, fmt.Errorf("sampling[%d].exporter: a prefix is required", i))
		}
		if r.Rate == 0 {
			errs = append(errs, fmt.Errorf("sampling[%d].rate: must be at least 1", i))
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<20 {
		errs = append(errs, fmt.Errorf("batch_size %d: must be between 1 and 1048576", c.BatchSize))
	}
	if c.FlushInterval < time.Millisecond || c.FlushInterval > time.Minute {
		errs = append(errs, fmt.Errorf("flush_interval %s: must be between 1ms and 1m", c.FlushInterval))
	}
	if c.Queue < 1 || c.Queue > 1<<16 {
		errs = append(errs, fmt.Errorf("queue %d: must be between 1 and 65536", c.Queue))
	}
	return errors.Join(errs...)
}

// options returns the decoder options of c.
func (c Config) options() Options {
	return Options{TemplateTimeout: c.TemplateTimeout, MaxDomains: c.MaxDomains, MaxTemplates: c.MaxTemplates, Sampling: c.Sampling}
}
