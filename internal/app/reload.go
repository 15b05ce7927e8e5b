package app

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sort"
	"strings"

	"github.com/proxywatch/proxywatch/internal/config"
)

// Reload applies a new configuration to the running daemon, as SIGHUP
// asks. cfg must already be valid (config.Load validates). The allowlist
// is swapped into the verdict table atomically and every feed is fetched
// again now. Settings that need a restart (listeners, the store, the feed
// list, detector and server settings) are compared with the running ones,
// and a difference is reported as an error naming the sections, after the
// reloadable parts were applied; the running daemon keeps its old values
// for them.
func (a *App) Reload(ctx context.Context, cfg config.File) error {
	a.table.SetAllowlist(cfg.Allowlist.Effective())
	a.dm.SetAllowlist(cfg.Allowlist.Effective())
	a.log.Info("allowlist reloaded", slog.Int("prefixes", len(cfg.Allowlist.Effective())))
	if _, err := a.feeds.Update(ctx); err != nil {
		a.log.Warn("feed refresh after reload", slog.Any("err", err))
	}
	var restart []string
	for name, pair := range map[string][2]any{
		"data_dir": {a.cfg.DataDir, cfg.DataDir}, "store": {a.cfg.Store, cfg.Store},
		"feeds": {a.cfg.Feeds, cfg.Feeds}, "verdict": {a.cfg.Verdict, cfg.Verdict},
		"enrich": {a.cfg.Enrich, cfg.Enrich}, "telemetry": {a.cfg.Telemetry, cfg.Telemetry},
		"api": {a.cfg.API, cfg.API}, "forwardauth": {a.cfg.ForwardAuth, cfg.ForwardAuth},
		"dnsbl": {a.cfg.DNSBL, cfg.DNSBL}, "authwatch": {a.cfg.AuthWatch, cfg.AuthWatch},
		"decisions": {a.cfg.Decisions, cfg.Decisions}, "flowwatch": {a.cfg.FlowWatch, cfg.FlowWatch},
		"logs": {a.cfg.Logs, cfg.Logs}, "flows": {a.cfg.Flows, cfg.Flows},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			restart = append(restart, name)
		}
	}
	a.cfg.Allowlist = cfg.Allowlist
	if len(restart) > 0 {
		return errors.New("changed sections need a restart to take effect: " + joinSorted(restart))
	}
	return nil
}

func joinSorted(s []string) string {
	sort.Strings(s)
	return strings.Join(s, ", ")
}
