package app

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/api"
	"github.com/proxywatch/proxywatch/internal/authwatch"
	"github.com/proxywatch/proxywatch/internal/decision"
	"github.com/proxywatch/proxywatch/internal/flowwatch"
	"github.com/proxywatch/proxywatch/internal/store"
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

// apiAssess answers POST /v1/assess from the login detectors' state.
type apiAssess struct{ w *authwatch.Watch }

func (a apiAssess) Assess(ip netip.Addr, user, outcome string) (api.Assessment, error) {
	o, err := authwatch.ParseOutcome(outcome)
	if err != nil {
		return api.Assessment{}, err
	}
	as := a.w.Assess(ip, user, o)
	return api.Assessment{Score: as.Score, Action: string(as.Action), Reasons: as.Reasons}, nil
}

// apiDecisions serves the decisions and alerts endpoints through the live
// decision process, so that an operator's decision or deletion takes
// effect in the detectors' state at once, and in the verdict table
// through the store's change cursor.
type apiDecisions struct {
	dm    *decision.Manager
	store store.DecisionStore
}

func (d apiDecisions) Decisions(ctx context.Context, now time.Time, all bool) ([]proxywatch.Decision, error) {
	if all {
		now = time.Time{}
	}
	return d.store.Decisions(ctx, now)
}

func (d apiDecisions) AddDecision(ctx context.Context, subject proxywatch.Subject, action proxywatch.Action, ttl time.Duration, reason string, now time.Time) (proxywatch.Decision, error) {
	if ttl <= 0 {
		return proxywatch.Decision{}, fmt.Errorf("decision on %s: ttl %s: must be positive: %w", subject, ttl, proxywatch.ErrInvalid)
	}
	return d.dm.Add(ctx, proxywatch.Decision{Subject: subject, Action: action, Reason: reason, Expires: now.Add(ttl)})
}

func (d apiDecisions) DeleteDecision(ctx context.Context, id string) error {
	return d.dm.Delete(ctx, id)
}

func (d apiDecisions) Alerts(ctx context.Context, since time.Time, limit int) ([]proxywatch.Alert, error) {
	return d.store.Alerts(ctx, since, limit)
}

// apiHosts serves GET /v1/hosts from the flow detectors' report.
type apiHosts struct{ w *flowwatch.Watch }

func (h apiHosts) Hosts() []api.HostReport {
	rows := h.w.Report()
	out := make([]api.HostReport, len(rows))
	for i, r := range rows {
		out[i] = api.HostReport{Host: r.Host, Roles: r.Roles, Confidence: r.Confidence, First: r.First, Last: r.Last,
			Peers: r.Peers, Ports: r.Ports, Findings: r.Findings}
	}
	return out
}
