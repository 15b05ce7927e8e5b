// Package api is proxywatch's HTTP JSON API, versioned under /v1: verdicts
// for one address or a batch, the local indicators an operator adds and
// deletes, feed status, exports, login risk assessments, decisions and
// alerts, the inside hosts flow watch believes compromised, and the
// OpenAPI document that describes it all (GET /v1/openapi.json, kept
// identical to docs/openapi.json).
//
// Verdicts come from the live verdict table and are combined by
// verdict.Summarize, as every interface's are. Writes go to the store only;
// the daemon's follower carries them into the table within a second. Feed
// status, exports, assessments, decisions and alerts, and the host report
// come through interfaces the composition root implements
// ([FeedReporter], [Exporter], [Assessor], [DecisionKeeper],
// [HostReporter]), so this package knows neither the feed scheduler, the
// export formats nor the detectors.
//
// It is not a dashboard and keeps no state of its own.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// A Lookuper returns the hits of an address, as [verdict.Table.Lookup]
// does; *verdict.Table is one.
type Lookuper interface {
	Lookup(addr netip.Addr, dst []verdict.Hit) []verdict.Hit
}

// An IndicatorStore is the part of store.Store the API uses; every
// store.Store is one. Errors follow the store.Store conventions.
type IndicatorStore interface {
	Add(ctx context.Context, ind proxywatch.Indicator) error
	Delete(ctx context.Context, k proxywatch.Key) error
	Indicators(ctx context.Context, feed string) iter.Seq2[proxywatch.Indicator, error]
	Subject(ctx context.Context, s proxywatch.Subject) ([]proxywatch.Indicator, error)
}

// An Enricher annotates an address; *enrich.Enricher is one, nil
// included.
type Enricher interface {
	Lookup(addr netip.Addr) enrich.Info
}

// Deps are what the API serves from. Table is required; a nil Store,
// Feeds, Export, Assess, Decisions or Hosts makes the endpoints that need
// it answer 404 not_found.
type Deps struct {
	Logger     *slog.Logger          // nil discards
	Registerer prometheus.Registerer // nil registers nothing
	Table      Lookuper
	// MinConfidence is the confidence a hit needs for a verdict to say
	// listed, normally verdict.Config.MinConfidence.Check; a request may
	// ask for another with ?min_confidence=.
	MinConfidence uint8
	Store         IndicatorStore
	Enrich        Enricher // nil: verdicts carry no enrichment
	Feeds         FeedReporter
	Export        Exporter
	// Assess scores login attempts for POST /v1/assess, normally the
	// login watch.
	Assess Assessor
	// Decisions lists, adds and deletes decisions and lists alerts, for
	// /v1/decisions and /v1/alerts.
	Decisions DecisionKeeper
	// Hosts reports the inside hosts flow watch believes compromised, for
	// GET /v1/hosts.
	Hosts HostReporter
	// LookupEnv reads token environment variables; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Now is the clock for indicator and decision TTLs, active
	// decisions, the default alert window and feed ages; nil means
	// time.Now.
	Now func() time.Time
}

// Server is the API server. Its handler is safe for concurrent use. Make
// one with New; Serve runs it.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	tokens  []token
	tls     *tls.Config
	metrics *metrics
	mux     *http.ServeMux
	local   map[string]bool
	routes  []string // registered patterns, for the OpenAPI test
}

// New checks cfg, reads the tokens and the TLS key pair, and builds the
// handler. It starts nothing and listens on nothing.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Table == nil {
		return nil, errors.New("api: no verdict table")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.LookupEnv == nil {
		d.LookupEnv = os.LookupEnv
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MinConfidence == 0 {
		d.MinConfidence = verdict.DefaultMinConfidence
	}
	s := &Server{cfg: cfg, d: d, log: d.Logger, mux: http.NewServeMux(), local: map[string]bool{}}
	for _, f := range cfg.LocalFeeds {
		s.local[f] = true
	}
	var err error
	if s.tokens, err = loadTokens(cfg.Tokens, d.LookupEnv); err != nil {
		return nil, err
	}
	if cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if s.metrics, err = newMetrics(d.Registerer); err != nil {
		return nil, err
	}
	s.routesInit()
	return s, nil
}

func (s *Server) routesInit() {
	rt, et := s.cfg.RequestTimeout, s.cfg.ExportTimeout
	s.handle("GET /v1/ip/{addr}", accessRead, rt, s.getVerdict)
	s.handle("POST /v1/ip", accessRead, rt, s.postBatch)
	s.handle("GET /v1/indicators", accessRead, rt, s.listIndicators)
	s.handle("POST /v1/indicators", accessWrite, rt, s.addIndicators)
	s.handle("GET /v1/indicators/{subject...}", accessRead, rt, s.getSubject)
	s.handle("DELETE /v1/indicators/{subject...}", accessWrite, rt, s.deleteIndicators)
	s.handle("GET /v1/feeds", accessRead, rt, s.getFeeds)
	s.handle("GET /v1/export", accessRead, et, s.getExport)
	s.handle("POST /v1/assess", accessRead, rt, s.postAssess)
	s.handle("GET /v1/decisions", accessRead, rt, s.listDecisions)
	s.handle("POST /v1/decisions", accessWrite, rt, s.addDecision)
	s.handle("DELETE /v1/decisions/{id}", accessWrite, rt, s.deleteDecision)
	s.handle("GET /v1/alerts", accessRead, rt, s.listAlerts)
	s.handle("GET /v1/hosts", accessRead, rt, s.listHosts)
	s.handle("GET /v1/openapi.json", accessOpen, rt, s.getOpenAPI)
	// Everything else, including a known path with another method, is
	// answered in JSON too.
	s.mux.HandleFunc("/", s.unmatched)
}

// Handler returns the API's handler, for tests and for mounting under
// another server.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve serves the API on ln (over TLS when configured) until ctx is
// done, then stops accepting connections and lets in-flight requests
// finish within cfg.ShutdownGrace before closing what remains. It returns
// nil after a clean stop and the serving error otherwise. Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		// Handlers set their own, shorter deadlines; these bound what they
		// do not cover and reset the connection's deadlines per request.
		ReadTimeout:    max(s.cfg.RequestTimeout, s.cfg.ExportTimeout) + s.cfg.ReadHeaderTimeout,
		WriteTimeout:   max(s.cfg.RequestTimeout, s.cfg.ExportTimeout) + s.cfg.ReadHeaderTimeout,
		IdleTimeout:    s.cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return serve(ctx, srv, ln, s.cfg.ShutdownGrace)
}

// serve runs srv on ln until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = fmt.Errorf("shutdown: %w", errors.Join(err, srv.Close()))
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
