package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/proxywatch/proxywatch/internal/store"
)

// A FeedReporter reports the status of every feed. The composition root
// implements it from the store's feed states, the feed configuration and
// the verdict table.
type FeedReporter interface {
	// FeedStatus returns every feed's status, ordered by name. Errors
	// follow the store.Store conventions.
	FeedStatus(ctx context.Context) ([]FeedStatus, error)
}

// FeedStatus is what GET /v1/feeds reports of one feed: the stored state
// (counts, holds, last error, fetch times) and what the daemon makes of
// it. A FeedReporter fills everything but AgeSeconds and MaxAgeSeconds,
// which the API derives from LastGood and MaxAge when it answers.
type FeedStatus struct {
	store.FeedState
	// Configured reports whether the feed is in the configuration file;
	// false for imported files and local feeds.
	Configured bool `json:"configured"`
	// MaxAge is the feed's configured max_age; zero means none.
	MaxAge time.Duration `json:"-"`
	// Stale reports whether the feed's last good copy is older than
	// MaxAge, so that its indicators are left out of the table.
	Stale bool `json:"stale"`
	// TableEntries is how many of the feed's indicators the live table
	// holds.
	TableEntries int `json:"table_entries"`

	AgeSeconds    float64 `json:"age_seconds,omitempty"`     // since LastGood
	MaxAgeSeconds float64 `json:"max_age_seconds,omitempty"` // MaxAge in seconds
}

// FeedList is the answer of GET /v1/feeds.
type FeedList struct {
	Feeds []FeedStatus `json:"feeds"`
}

func (s *Server) getFeeds(w http.ResponseWriter, r *http.Request) error {
	if s.d.Feeds == nil {
		return notFound("feed status is not available")
	}
	fs, err := s.d.Feeds.FeedStatus(r.Context())
	if err != nil {
		return fmt.Errorf("feed status: %w", err)
	}
	now := s.d.Now()
	for i := range fs {
		if !fs[i].LastGood.IsZero() {
			fs[i].AgeSeconds = max(0, now.Sub(fs[i].LastGood).Seconds())
		}
		fs[i].MaxAgeSeconds = fs[i].MaxAge.Seconds()
	}
	if fs == nil {
		fs = []FeedStatus{}
	}
	return writeJSON(w, http.StatusOK, FeedList{Feeds: fs})
}

// An ExportRequest asks for the current block list in a format. Params
// holds the query's other parameters, one value each, for the format to
// interpret; it reports unknown ones as proxywatch.ErrInvalid.
type ExportRequest struct {
	Format string
	Params map[string]string
}

// An Export is a block list ready to be written.
type Export struct {
	// ContentType is the media type of the format, e.g.
	// "text/plain; charset=utf-8".
	ContentType string
	// Filename, if set, is offered to the client as the attachment's name.
	Filename string
	// Write writes the block list to w. An error after the first byte cuts
	// the response short, so that a client never takes a partial list for
	// a whole one.
	Write func(ctx context.Context, w io.Writer) error
}

// An Exporter prepares an export. It returns an error wrapping
// proxywatch.ErrInvalid (a *proxywatch.Error with a safe message, ideally)
// for an unknown format or parameter, before anything is written.
type Exporter func(ctx context.Context, req ExportRequest) (Export, error)

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	if s.d.Export == nil {
		return notFound("exports are not available")
	}
	req, err := exportRequest(r.URL.Query())
	if err != nil {
		return err
	}
	ex, err := s.d.Export(r.Context(), req)
	if err != nil {
		return fmt.Errorf("export %q: %w", req.Format, err)
	}
	if ex.Write == nil {
		return fmt.Errorf("export %q: no writer", req.Format)
	}
	lw := &lazyWriter{w: w, start: func() {
		h := w.Header()
		h.Set("Content-Type", ex.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if ex.Filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", ex.Filename))
		}
	}}
	if err := ex.Write(r.Context(), lw); err != nil {
		return fmt.Errorf("write export %q: %w", req.Format, err)
	}
	if !lw.started {
		lw.start()
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// lazyWriter sets the response headers on the first write, so that an
// export failing before it writes anything is answered as a JSON error.
type lazyWriter struct {
	w       http.ResponseWriter
	start   func()
	started bool
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if !l.started {
		l.start()
		l.started = true
	}
	return l.w.Write(b)
}

// exportRequest reads format and the other parameters from q.
func exportRequest(q url.Values) (ExportRequest, error) {
	req := ExportRequest{Format: q.Get("format"), Params: map[string]string{}}
	if req.Format == "" {
		return req, invalid("format: required, e.g. ?format=plain")
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return req, invalid(fmt.Sprintf("parameter %s: given more than once", quote(k)))
		}
		if k != "format" {
			req.Params[k] = vs[0]
		}
	}
	return req, nil
}
