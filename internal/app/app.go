package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/proxywatch/proxywatch/internal/api"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/config"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/dnsbl"
	"github.com/proxywatch/proxywatch/internal/enrich"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/forwardauth"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/sqlitestore"
	"github.com/proxywatch/proxywatch/internal/store"
	"github.com/proxywatch/proxywatch/internal/telemetry"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// shutdownGrace bounds how long servers drain in-flight requests.
const shutdownGrace = 10 * time.Second

// App is the daemon: every component built, resources open, listeners
// bound, ready to Run.
type App struct {
	cfg    config.File
	log    *slog.Logger
	tel    *telemetry.Telemetry
	store  store.Store
	enrich *enrich.Enricher
	table  *verdict.Table
	feeds  *feed.Scheduler
	follow *follower
	dm     *decision.Manager
	watch  *authwatch.Watch
	logs   *logWatch
	flows  *flowPipeline

	telLn   net.Listener
	apiLn   net.Listener
	faLn    net.Listener
	dnsPC   net.PacketConn
	dnsLn   net.Listener
	closers []func() error // in order of opening
	procs   []proc
}

// A proc is one process of the daemon.
type proc struct {
	name string
	run  func(ctx context.Context) error
}

// New builds the daemon from cfg: it opens the store and the enrichment
// databases and binds every listening address, so that a missing file or
// an address in use fails here, before anything runs. It starts no
// goroutine. On error everything opened so far is closed.
func New(ctx context.Context, cfg config.File, log *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.closeResources()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	a.tel = telemetry.New(cfg.Telemetry, log.With("component", "telemetry"))

	st, err := sqlitestore.Open(ctx, cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.store = st
	a.closers = append(a.closers, st.Close)

	en, err := enrich.Open(cfg.Enrich)
	if err != nil {
		return nil, fmt.Errorf("open enrichment: %w", err)
	}
	a.enrich = en
	a.closers = append(a.closers, en.Close)

	if a.table, err = verdict.New(cfg.Verdict); err != nil {
		return nil, fmt.Errorf("verdict table: %w", err)
	}
	a.table.SetAllowlist(cfg.Allowlist.Effective())

	a.follow = newFollower(a.store, a.table, cfg.Feeds, log.With("component", "follower"))
	a.feeds, err = feed.New(cfg.Feeds, feed.Deps{
		Logger:     log.With("component", "feed"),
		Registerer: a.tel.Registry,
		Formats:    formats.Readers(),
		Sink:       storeSink{a.store},
		DataDir:    cfg.DataDir,
		Version:    Version,
	})
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	if err := a.newLoginWatch(ctx); err != nil {
		return nil, err
	}
	if err := a.newFlowPipeline(ctx); err != nil {
		return nil, err
	}
	registerMetrics(a.tel.Registry, a.table, a.follow)
	a.tel.Registry.MustRegister(newWatchCollector(a))
	a.tel.AddReadiness("verdict table", a.follow.ready)

	if cfg.Telemetry.Listen != "" {
		if a.telLn, err = a.listen("telemetry", "tcp", cfg.Telemetry.Listen); err != nil {
			return nil, err
		}
	}
	if cfg.API.Enabled {
		deps := api.Deps{
			Logger: log.With("component", "api"), Registerer: a.tel.Registry,
			Table: a.table, MinConfidence: cfg.Verdict.MinConfidence.Check,
			Store: a.store, Enrich: a.enrich, Feeds: apiFeeds{a}, Export: a.apiExport,
			Assess: apiAssess{a.watch}, Decisions: apiDecisions{a.dm, a.store.(store.DecisionStore)},
		}
		if a.flows != nil {
			deps.Hosts = apiHosts{a.flows.watch}
		}
		srv, err := api.New(cfg.API, deps)
		if err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
		if a.apiLn, err = a.listen("api", "tcp", cfg.API.Listen); err != nil {
			return nil, err
		}
		a.procs = append(a.procs, proc{"api", func(ctx context.Context) error { return srv.Serve(ctx, a.apiLn) }})
	}
	if cfg.DNSBL.Enabled {
		srv, err := dnsbl.New(cfg.DNSBL, dnsbl.Deps{
			Table: a.table, MinConfidence: cfg.Verdict.MinConfidence.DNSBL,
			Logger: log.With("component", "dnsbl"), Registerer: a.tel.Registry,
		})
		if err != nil {
			return nil, fmt.Errorf("dnsbl: %w", err)
		}
		if a.dnsLn, err = a.listen("dnsbl", "tcp", cfg.DNSBL.Listen); err != nil {
			return nil, err
		}
		pc, err := net.ListenPacket("udp", cfg.DNSBL.Listen)
		if err != nil {
			return nil, fmt.Errorf("dnsbl: listen: %w", err)
		}
		a.dnsPC = pc
		a.closers = append(a.closers, func() error {
			if err := pc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		})
		a.procs = append(a.procs, proc{"dnsbl", func(ctx context.Context) error { return srv.Serve(ctx, a.dnsPC, a.dnsLn) }})
	}
	if cfg.ForwardAuth.Enabled {
		fa, err := forwardauth.New(cfg.ForwardAuth, forwardauth.Deps{
			Logger: log.With("component", "forwardauth"), Registerer: a.tel.Registry,
			Table: a.table, MinConfidence: cfg.Verdict.MinConfidence.ForwardAuth,
		})
		if err != nil {
			return nil, fmt.Errorf("forwardauth: %w", err)
		}
		network, addr := cfg.ForwardAuth.Network()
		if a.faLn, err = a.listen("forwardauth", network, addr); err != nil {
			return nil, err
		}
		a.procs = append(a.procs, proc{"forwardauth", func(ctx context.Context) error { return fa.Serve(ctx, a.faLn) }})
	}

	a.procs = append(a.procs,
		proc{"verdict", a.table.Run},
		proc{"follower", a.follow.Run},
		proc{"feeds", a.feeds.Run},
	)
	if a.telLn != nil {
		a.procs = append(a.procs, proc{"telemetry", func(ctx context.Context) error {
			return a.tel.Serve(ctx, a.telLn, shutdownGrace)
		}})
	}
	return a, nil
}

// listen binds addr for component and registers the listener for closing.
func (a *App) listen(component, network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen: %w", component, err)
	}
	a.closers = append(a.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return ln, nil
}

// Addrs returns the bound address of each enabled listener, by component:
// "telemetry", "api", "forwardauth".
func (a *App) Addrs() map[string]net.Addr {
	m := map[string]net.Addr{}
	for name, ln := range map[string]net.Listener{"telemetry": a.telLn, "api": a.apiLn, "forwardauth": a.faLn, "dnsbl-tcp": a.dnsLn} {
		if ln != nil {
			m[name] = ln.Addr()
		}
	}
	if a.dnsPC != nil {
		m["dnsbl"] = a.dnsPC.LocalAddr()
	}
	return m
}

// TelemetryAddr returns the bound telemetry address, or nil when disabled.
func (a *App) TelemetryAddr() net.Addr {
	if a.telLn == nil {
		return nil
	}
	return a.telLn.Addr()
}

// Table returns the live verdict table.
func (a *App) Table() *verdict.Table { return a.table }

// Run runs every process until ctx is done or one fails, then closes the
// resources in reverse order of opening. A process that returns while ctx
// is live is a failure ("exited unexpectedly") and stops the daemon.
func (a *App) Run(ctx context.Context) error {
	defer a.closeResources()
	if err := a.follow.load(ctx); err != nil {
		return err
	}
	if err := a.dm.Load(ctx); err != nil {
		return err
	}
	a.log.Info("verdict table loaded", slog.Int("indicators", a.table.Stats().Indicators))
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range a.procs {
		g.Go(func() error {
			err := p.run(ctx)
			switch {
			case err != nil:
				return fmt.Errorf("%s: %w", p.name, err)
			case ctx.Err() == nil:
				return fmt.Errorf("%s: exited unexpectedly", p.name)
			}
			return nil
		})
	}
	return g.Wait()
}

func (a *App) closeResources() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Error("close", slog.Any("err", err))
		}
	}
	a.closers = nil
}
