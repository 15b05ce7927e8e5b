package api

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
)

// Config configures the HTTP JSON API.
type Config struct {
	// Enabled turns the API on.
	Enabled bool `yaml:"enabled"`
	// Listen is the TCP address the API listens on.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS when both files are set.
	TLS TLSConfig `yaml:"tls"`
	// Tokens are the bearer tokens clients present, each configured by
	// reference to a file or an environment variable, never inline.
	Tokens []TokenRef `yaml:"tokens"`
	// ReadRequiresToken closes the read endpoints (verdicts, indicators,
	// feeds, exports, assessments, decisions, alerts, hosts) to clients
	// without a token. Write endpoints always require a token that is not
	// read-only.
	ReadRequiresToken bool `yaml:"read_requires_token"`
	// LocalFeeds are the feeds that clients may add indicators to and
	// delete them from. Feeds fetched by the scheduler are not writable:
	// their next refresh would undo the change.
	LocalFeeds []string `yaml:"local_feeds"`
	// MaxBatch bounds the addresses of one batch verdict request and the
	// indicators of one add request.
	MaxBatch int `yaml:"max_batch"`
	// MaxList bounds the indicators or decisions one list request
	// returns.
	MaxList int `yaml:"max_list"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RequestTimeout bounds each request but exports, from the end of its
	// headers to the end of its response.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ExportTimeout bounds an export request.
	ExportTimeout time.Duration `yaml:"export_timeout"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownGrace bounds how long in-flight requests may drain when the
	// server stops.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// TLSConfig names the certificate and key files of the HTTPS server.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" }

// A TokenRef names a bearer token and says where to read it: a file whose
// content (trimmed of surrounding white space) is the token, or an
// environment variable. Exactly one of File and Env is set.
type TokenRef struct {
	// Name identifies the token in logs (never the token itself).
	Name string `yaml:"name"`
	File string `yaml:"file,omitempty"`
	Env  string `yaml:"env,omitempty"`
	// ReadOnly tokens open the read endpoints but not the write ones.
	ReadOnly bool `yaml:"read_only,omitempty"`
}

// MinTokenLen is the shortest token accepted, in bytes.
const MinTokenLen = 16

// DefaultLocalFeed is the feed indicators are added to when a request
// names none.
const DefaultLocalFeed = "local"

// DefaultConfig returns the configuration used when the section is absent:
// off, and when enabled listening on loopback with open reads and no
// tokens (so no writes).
func DefaultConfig() Config {
	return Config{
		Listen:            "127.0.0.1:9411",
		LocalFeeds:        []string{DefaultLocalFeed},
		MaxBatch:          1000,
		MaxList:           10000,
		MaxBodyBytes:      1 << 20,
		RequestTimeout:    10 * time.Second,
		ExportTimeout:     2 * time.Minute,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ShutdownGrace:     10 * time.Second,
	}
}

var feedNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	if c.TLS.Enabled() && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file must be set together"))
	}
	names := map[string]bool{}
	for i, t := range c.Tokens {
		switch {
		case t.Name == "":
			errs = append(errs, fmt.Errorf("tokens[%d].name: must not be empty", i))
		case names[t.Name]:
			errs = append(errs, fmt.Errorf("tokens[%d].name %q: duplicate", i, t.Name))
		}
		names[t.Name] = true
		if (t.File == "") == (t.Env == "") {
			errs = append(errs, fmt.Errorf("tokens[%d]: exactly one of file and env must be set", i))
		}
	}
	if c.ReadRequiresToken && len(c.Tokens) == 0 {
		errs = append(errs, errors.New("read_requires_token: no tokens configured"))
	}
	for i, f := range c.LocalFeeds {
		if !feedNameRE.MatchString(f) {
			errs = append(errs, fmt.Errorf("local_feeds[%d] %q: must be lower-case letters, digits, '.', '_' and '-'", i, f))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max_batch", int64(c.MaxBatch)},
		{"max_list", int64(c.MaxList)},
		{"max_body_bytes", c.MaxBodyBytes},
	} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: must be at least 1", f.name, f.v))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"request_timeout", c.RequestTimeout},
		{"export_timeout", c.ExportTimeout},
		{"read_header_timeout", c.ReadHeaderTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"shutdown_grace", c.ShutdownGrace},
	} {
		if d.v < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s %s: must be at least 100ms", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}
