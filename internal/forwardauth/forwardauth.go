// Package forwardauth answers the sub-requests that reverse proxies make
// before letting a request through: nginx's auth_request, Caddy's
// forward_auth and Traefik's ForwardAuth all send the request's headers to
// this endpoint and let the request pass on a 2xx, or refuse it on 403.
//
// The client is the TCP peer, or, when the peer is a configured trusted
// proxy, the address carried by the one header configured for it
// (X-Forwarded-For, X-Real-IP or Forwarded). The address is looked up in
// the live verdict table and the hits combined by verdict.Summarize with
// the forward-auth minimum confidence, as every interface does. The
// request's method, path and body are ignored.
//
// It decides; it does not authenticate users, rate-limit or log requests.
package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/proxywatch/proxywatch/internal/verdict"
)

// A Lookuper returns the hits of an address, as [verdict.Table.Lookup]
// does; *verdict.Table is one.
type Lookuper interface {
	Lookup(addr netip.Addr, dst []verdict.Hit) []verdict.Hit
}

// Deps are what the endpoint decides from.
type Deps struct {
	Logger     *slog.Logger          // nil discards
	Registerer prometheus.Registerer // nil registers nothing
	Table      Lookuper              // required
	// MinConfidence is the confidence a hit needs to deny, normally
	// verdict.Config.MinConfidence.ForwardAuth; 0 means
	// verdict.DefaultMinConfidence.
	MinConfidence uint8
}

// Server is the forward-auth endpoint. It is an http.Handler, safe for
// concurrent use. Make one with New; Serve runs it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	table   Lookuper
	minConf uint8
	res     resolver
	allow   int
	reason  string // canonical ReasonHeader, "" for none
	denyAll bool   // UnknownClient is "deny"
	metrics *metrics
}

// New checks cfg and builds the endpoint. It starts nothing and listens on
// nothing.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Table == nil {
		return nil, errors.New("forwardauth: no verdict table")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MinConfidence == 0 {
		d.MinConfidence = verdict.DefaultMinConfidence
	}
	m, err := newMetrics(d.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: d.Logger, table: d.Table, minConf: d.MinConfidence,
		res: newResolver(cfg.TrustedProxies, cfg.ClientHeader), allow: cfg.AllowStatus,
		denyAll: cfg.UnknownClient != "allow", metrics: m,
	}
	if s.allow == 0 {
		s.allow = http.StatusNoContent
	}
	if cfg.ReasonHeader != "" {
		s.reason = http.CanonicalHeaderKey(cfg.ReasonHeader)
	}
	return s, nil
}

// ServeHTTP decides on the request's client: the configured allow status
// when it is not listed, 403 when it is, and for a client whose address
// cannot be determined, what unknown_client says.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false) }

// localHandler serves connections from a Unix socket, whose peer is a
// local proxy and so trusted.
type localHandler struct{ s *Server }

func (h localHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.s.serve(w, r, true) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request, local bool) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.metrics.panics.Inc()
			s.log.Error("handler panic", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			w.WriteHeader(http.StatusInternalServerError)
		}
	}()
	var peer netip.Addr
	if !local {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			peer = ap.Addr()
		}
	}
	addr, err := s.res.client(peer, local, r.Header)
	if err != nil {
		s.metrics.clientError(err)
		if s.denyAll {
			s.metrics.denyUnknown.Inc()
		} else {
			s.metrics.allowUnknown.Inc()
		}
		if s.reason != "" {
			w.Header().Set(s.reason, reasonUnknownClient+" "+err.Error())
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("unknown client", slog.String("peer", r.RemoteAddr), slog.String("reason", err.Error()))
		}
		s.answer(w, !s.denyAll, start)
		return
	}
	sum := s.summarize(addr)
	switch {
	case sum.Listed:
		s.metrics.denyListed.Inc()
		if s.reason != "" {
			w.Header().Set(s.reason, describe(&sum))
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("deny", slog.String("client", addr.String()), slog.String("kind", sum.Top.Kind().String()), slog.String("feed", sum.Top.Feed()))
		}
		s.answer(w, false, start)
	case sum.Qualified: // allowlisted
		s.metrics.allowAllowlisted.Inc()
		if s.reason != "" {
			w.Header().Set(s.reason, reasonAllowlisted)
		}
		s.answer(w, true, start)
	default:
		s.metrics.allowUnlisted.Inc()
		if s.reason != "" {
			w.Header().Set(s.reason, reasonUnlisted)
		}
		s.answer(w, true, start)
	}
}

// summarize looks addr up and combines its hits.
func (s *Server) summarize(addr netip.Addr) verdict.Summary {
	if t, ok := s.table.(*verdict.Table); ok {
		// A direct call keeps buf on the stack; through the interface it
		// would escape, one allocation per request.
		var buf [8]verdict.Hit
		return verdict.Summarize(t.Lookup(addr, buf[:0]), s.minConf)
	}
	return verdict.Summarize(s.table.Lookup(addr, nil), s.minConf)
}

func (s *Server) answer(w http.ResponseWriter, allow bool, start time.Time) {
	h := w.Header()
	h["Cache-Control"] = noStore
	if allow {
		w.WriteHeader(s.allow)
	} else {
		w.WriteHeader(http.StatusForbidden)
	}
	s.metrics.latency.Observe(time.Since(start).Seconds())
}

var noStore = []string{"no-store"}

// describe formats the reason of a deny: the deciding hit's kind, feed,
// confidence and prefix.
func describe(sum *verdict.Summary) string {
	t := sum.Top
	var b strings.Builder
	b.WriteString(reasonListed)
	b.WriteString(" kind=")
	b.WriteString(t.Kind().String())
	b.WriteString(" feed=")
	b.WriteString(t.Feed())
	b.WriteString(" confidence=")
	b.WriteString(strconv.Itoa(int(t.Confidence())))
	b.WriteString(" prefix=")
	b.WriteString(t.Prefix().String())
	return b.String()
}

// Serve answers on ln until ctx is done, then stops accepting connections
// and lets in-flight requests finish within cfg.ShutdownGrace before
// closing what remains. A Unix-socket listener's peers count as trusted
// proxies. Serve returns nil after a clean stop and closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var h http.Handler = s
	if strings.HasPrefix(ln.Addr().Network(), "unix") {
		h = localHandler{s}
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadHeaderTimeout + 5*time.Second,
		WriteTimeout:      s.cfg.ReadHeaderTimeout + 5*time.Second,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
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
