package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/api"
)

// apiFeeds reports feed status to the API from the store, the
// configuration, the follower's stale set and the live table.
type apiFeeds struct{ a *App }

func (f apiFeeds) FeedStatus(ctx context.Context) ([]api.FeedStatus, error) {
	states, err := f.a.store.FeedStates(ctx)
	if err != nil {
		return nil, err
	}
	maxAge := map[string]time.Duration{}
	for _, fd := range f.a.cfg.Feeds.Feeds {
		maxAge[fd.Name] = f.a.cfg.Feeds.Resolve(fd).MaxAge
	}
	stale := f.a.follow.staleSet()
	entries := f.a.table.Stats().Feeds
	out := make([]api.FeedStatus, 0, len(states))
	for _, st := range states {
		_, configured := maxAge[st.Name]
		out = append(out, api.FeedStatus{FeedState: st, Configured: configured, MaxAge: maxAge[st.Name],
			Stale: stale[st.Name], TableEntries: entries[st.Name]})
	}
	return out, nil
}

// apiExport serves GET /v1/export from the store, as `proxywatch export`
// does. Params: kind (comma-separated), name, timeout (true/false).
func (a *App) apiExport(ctx context.Context, req api.ExportRequest) (api.Export, error) {
	if _, ok := exporters()[req.Format]; !ok {
		return api.Export{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid,
			Message: fmt.Sprintf("unknown export format %q (known: %s)", req.Format, strings.Join(ExportFormats(), ", "))}
	}
	o := ExportOptions{Format: req.Format}
	for k, v := range req.Params {
		switch k {
		case "kind":
			for _, name := range strings.Split(v, ",") {
				kind, err := proxywatch.ParseKind(name)
				if err != nil {
					return api.Export{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: fmt.Sprintf("kind %q: unknown", name)}
				}
				o.Kinds = append(o.Kinds, kind)
			}
		case "name":
			o.Name = v
		case "timeout":
			o.Timeout = v == "true" || v == "1"
		default:
			return api.Export{}, &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: fmt.Sprintf("export parameter %q: unknown (kind, name, timeout)", k)}
		}
	}
	ex := exporters()[req.Format]
	return api.Export{
		ContentType: ex.ContentType(),
		Filename:    "proxywatch." + req.Format,
		Write: func(ctx context.Context, w io.Writer) error {
			_, err := exportStore(ctx, a.store, a.cfg, a.follow.staleSet(), w, o, time.Now())
			return err
		},
	}, nil
}
