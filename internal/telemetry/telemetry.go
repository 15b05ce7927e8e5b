// Package telemetry sets up what every component reports through: the
// slog logger, a private Prometheus registry, and the HTTP endpoints
// /metrics, /healthz and /readyz.
//
// Components receive a *slog.Logger and a prometheus.Registerer from
// internal/app; none of them imports this package. Readiness is the
// conjunction of named checks that components register (first feed load
// done, store migrated, ...).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures logging and the telemetry endpoint.
type Config struct {
	// Listen is the address of /metrics, /healthz and /readyz; empty
	// disables the endpoint. Loopback by default.
	Listen    string `yaml:"listen"`
	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error
	LogFormat string `yaml:"log_format"` // text or json
}

// DefaultConfig returns the configuration used when the section is absent.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:9410", LogLevel: "info", LogFormat: "text"}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log_level %q: %w", c.LogLevel, err))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format %q: must be text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// NewLogger returns the process logger writing to w as c says.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	lvl, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Telemetry owns the private registry and the readiness checks. It is safe
// for concurrent use.
type Telemetry struct {
	cfg      Config
	log      *slog.Logger
	Registry *prometheus.Registry

	mu     sync.Mutex
	checks map[string]func() error
}

// New returns a Telemetry with the Go and process collectors registered.
func New(cfg Config, log *slog.Logger) *Telemetry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Telemetry{cfg: cfg, log: log, Registry: reg, checks: map[string]func() error{}}
}

// AddReadiness registers check under name; /readyz passes only when every
// check returns nil. Registering a name twice replaces the check.
func (t *Telemetry) AddReadiness(name string, check func() error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checks[name] = check
}

// Ready returns nil when every readiness check passes, else the failures.
func (t *Telemetry) Ready() error {
	t.mu.Lock()
	names := make([]string, 0, len(t.checks))
	for n := range t.checks {
		names = append(names, n)
	}
	checks := t.checks
	t.mu.Unlock()
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		if err := checks[n](); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// Handler returns the mux serving /metrics, /healthz and /readyz.
func (t *Telemetry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(t.log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := t.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, strings.ReplaceAll(err.Error(), "\n", "; ")+"\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}

// Serve serves the telemetry endpoints on ln until ctx is done, then shuts
// down gracefully within grace.
func (t *Telemetry) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{Handler: t.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
