package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/proxywatch/proxywatch/internal/app"
	"github.com/proxywatch/proxywatch/internal/config"
)

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "[--config FILE] [--data DIR]",
		"serve runs the daemon: it loads the verdict table from the store, keeps the configured feeds current,\n"+
			"applies changes made by other proxywatch processes (import) within a second, and serves /metrics,\n"+
			"/healthz and /readyz on telemetry.listen. With no configuration it runs on defaults: data in\n"+
			"./proxywatch-data, loopback only, no remote feeds. SIGINT or SIGTERM stop it cleanly.")
	cfgPath := configFlag(fs, e)
	dataDir := fs.String("data", "", "data `directory` (overrides data_dir)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return errorf(e, "serve: unexpected arguments %q", fs.Args())
	}
	cfg, err := loadConfig(*cfgPath, *dataDir, e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	log := app.NewLogger(cfg.Telemetry, e.stderr)
	app.Version = version
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		log.Error("start", slog.Any("err", err))
		return exitError
	}
	attrs := []any{slog.String("version", version), slog.String("data_dir", cfg.DataDir), slog.Int("feeds", len(cfg.Feeds.Feeds))}
	if addr := a.TelemetryAddr(); addr != nil {
		attrs = append(attrs, slog.String("telemetry", addr.String()))
	}
	log.Info("proxywatch serving", attrs...)
	go reloadOnHUP(ctx, a, *cfgPath, *dataDir, e, log)
	if err := a.Run(ctx); err != nil {
		log.Error("stopped", slog.Any("err", err))
		return exitError
	}
	log.Info("stopped")
	return exitOK
}

// reloadOnHUP reloads the configuration on each SIGHUP, keeping the old one
// when the new file is invalid.
func reloadOnHUP(ctx context.Context, a *app.App, path, dataDir string, e *env, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		cfg, err := loadConfig(path, dataDir, e)
		if err != nil {
			log.Error("reload: new configuration refused; keeping the running one", slog.Any("err", err))
			continue
		}
		if err := a.Reload(ctx, cfg); err != nil {
			log.Warn("reload", slog.Any("err", err))
			continue
		}
		log.Info("reloaded")
	}
}

// loadConfig loads the configuration and applies a --data override.
func loadConfig(path, dataDir string, e *env) (config.File, error) {
	cfg, err := config.Load(path, e.environ)
	if err != nil {
		return cfg, err
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
		cfg.Resolve()
	}
	return cfg, nil
}
