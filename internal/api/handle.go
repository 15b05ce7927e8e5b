package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A handlerFunc serves one request and returns an error instead of
// writing it; handle maps the error once, in statusOf.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h for pattern behind the shared steps: panic recovery,
// metrics labelled by pattern, the access check, the body limit and the
// timeout.
func (s *Server) handle(pattern string, need access, timeout time.Duration, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			abort := p == http.ErrAbortHandler
			if p != nil && !abort {
				s.metrics.panics.Inc()
				s.log.Error("handler panic", slog.String("route", pattern), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if sw.wrote {
					abort = true
				} else {
					writeJSON(sw, http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{Code: CodeInternal, Message: "internal error"}})
				}
			}
			s.metrics.observe(pattern, sw.code(), time.Since(start))
			if abort {
				panic(http.ErrAbortHandler) // cut short a response already under way
			}
		}()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		// Past the deadline, a slow client's writes fail rather than hold
		// the connection.
		_ = http.NewResponseController(w).SetWriteDeadline(start.Add(timeout + time.Second))
		r = r.WithContext(ctx)
		name, err := s.authorize(r, need)
		if err == nil {
			r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBodyBytes)
			if name != "" {
				r = r.WithContext(context.WithValue(ctx, tokenKey{}, name))
			}
			err = h(sw, r)
		}
		if err != nil {
			if sw.wrote {
				// The response is under way: cut it short so that the
				// client cannot take it for complete.
				lvl := slog.LevelWarn
				if clientGone(r, err) {
					lvl = slog.LevelDebug
				}
				s.log.Log(r.Context(), lvl, "response aborted", slog.String("route", pattern), slog.Any("err", err))
				panic(http.ErrAbortHandler)
			}
			s.writeError(sw, r, pattern, err)
		}
	})
}

// clientGone reports whether err means the client went away rather than
// that the server failed.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(r.Context().Err(), context.Canceled) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

type tokenKey struct{}

// tokenName returns the name of the token that authorized r, or "".
func tokenName(r *http.Request) string {
	n, _ := r.Context().Value(tokenKey{}).(string)
	return n
}

// writeError writes err as the JSON error body, logging causes that are
// not the client's doing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, route string, err error) {
	if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
		// A deadline inside the handler (a store timeout), not the request's.
		err = fmt.Errorf("%w: %w", proxywatch.ErrUnavailable, err)
	}
	status, d, internal := statusOf(err)
	if internal {
		s.log.Error("request", slog.String("route", route), slog.Int("status", status), slog.Any("err", err))
	} else {
		s.log.Debug("request", slog.String("route", route), slog.Int("status", status), slog.Any("err", err))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="proxywatch"`)
	}
	writeJSON(w, status, ErrorBody{Error: d})
}

// unmatched answers requests no route matched: 405 for a known path with
// another method, 404 otherwise, both as JSON.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, d := http.StatusNotFound, ErrorDetail{Code: CodeNotFound, Message: "no such endpoint"}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "/" && p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		status, d = http.StatusMethodNotAllowed, ErrorDetail{Code: "method_not_allowed", Message: "method not allowed"}
		w.Header().Set("Allow", strings.Join(allow, ", "))
	}
	writeJSON(w, status, ErrorBody{Error: d})
	s.metrics.observe(routeUnmatched, status, time.Since(start))
}

// writeJSON writes v with status. Encoding into a buffer first lets an
// encoding error become a 500 rather than a truncated body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// decodeJSON reads r's body as one JSON value into v, refusing unknown
// fields and trailing data.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return invalid("request body is empty")
		case errors.Is(err, context.DeadlineExceeded):
			return err
		}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return invalid(fmt.Sprintf("request body: JSON syntax error at byte %d", se.Offset))
		case errors.As(err, &te):
			return invalid(fmt.Sprintf("request body: field %s: wrong type", quote(te.Field)))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid("request body: unknown field " + quote(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)))
		}
		return invalid("request body: malformed JSON")
	}
	if dec.More() {
		return invalid("request body: more than one JSON value")
	}
	return nil
}

// statusWriter records whether and with what status the response began.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush forwards to the underlying writer, for streamed exports.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}
