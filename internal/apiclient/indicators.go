package apiclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/api"
)

// AddIndicator adds one local indicator and returns it as stored, its
// defaults filled in.
func (c *Client) AddIndicator(ctx context.Context, in api.IndicatorInput) (proxywatch.Indicator, error) {
	inds, err := c.AddIndicators(ctx, in)
	if err != nil {
		return proxywatch.Indicator{}, err
	}
	if len(inds) != 1 {
		return proxywatch.Indicator{}, fmt.Errorf("POST /v1/indicators: %d indicators for 1", len(inds))
	}
	return inds[0], nil
}

// AddIndicators adds local indicators in one request (at most the API's
// max_batch) and returns them as stored.
func (c *Client) AddIndicators(ctx context.Context, ins ...api.IndicatorInput) ([]proxywatch.Indicator, error) {
	var resp api.IndicatorList
	err := c.do(ctx, http.MethodPost, "/v1/indicators", nil, api.AddRequest{Indicators: ins}, &resp)
	return resp.Indicators, err
}

// A Filter narrows the indicators of a subject. The zero Filter matches
// every feed (for a delete, the default local feed), kind, port and
// protocol.
type Filter struct {
	Feed  string
	Kind  proxywatch.Kind // KindUnknown matches any
	Port  *uint16         // nil matches any
	Proto *string         // nil matches any; "" matches indicators without one
}

func (f Filter) query() url.Values {
	q := url.Values{}
	if f.Feed != "" {
		q.Set("feed", f.Feed)
	}
	if f.Kind != proxywatch.KindUnknown {
		q.Set("kind", f.Kind.String())
	}
	if f.Port != nil {
		q.Set("port", strconv.Itoa(int(*f.Port)))
	}
	if f.Proto != nil {
		q.Set("proto", *f.Proto)
	}
	return q
}

// Subject returns the stored indicators whose subject is exactly s, from
// every feed, narrowed by f. It reports ErrNotFound when there are none.
func (c *Client) Subject(ctx context.Context, s proxywatch.Subject, f Filter) ([]proxywatch.Indicator, error) {
	var resp api.IndicatorList
	err := c.do(ctx, http.MethodGet, "/v1/indicators/"+s.String(), f.query(), nil, &resp)
	return resp.Indicators, err
}

// DeleteIndicator deletes the local indicators of s that f matches (in
// f.Feed, or the default local feed) and returns them. It reports
// ErrNotFound when there are none.
func (c *Client) DeleteIndicator(ctx context.Context, s proxywatch.Subject, f Filter) ([]proxywatch.Indicator, error) {
	var resp api.IndicatorList
	err := c.do(ctx, http.MethodDelete, "/v1/indicators/"+s.String(), f.query(), nil, &resp)
	return resp.Indicators, err
}

// Indicators lists up to limit indicators of feed ("" for the default
// local feed; limit 0 for the API's max_list), and whether more were left
// out.
func (c *Client) Indicators(ctx context.Context, feed string, limit int) ([]proxywatch.Indicator, bool, error) {
	q := url.Values{}
	if feed != "" {
		q.Set("feed", feed)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var resp api.IndicatorList
	err := c.do(ctx, http.MethodGet, "/v1/indicators", q, nil, &resp)
	return resp.Indicators, resp.Truncated, err
}

// Feeds returns the status of every feed.
func (c *Client) Feeds(ctx context.Context) ([]api.FeedStatus, error) {
	var resp api.FeedList
	err := c.do(ctx, http.MethodGet, "/v1/feeds", nil, nil, &resp)
	return resp.Feeds, err
}

// Export writes the current block list in format to w, passing params to
// the format, and returns the answer's content type. A response the server
// cut short is an error, so a partial list is never taken for a whole one.
// Only ctx bounds the time it takes.
func (c *Client) Export(ctx context.Context, format string, params map[string]string, w io.Writer) (string, error) {
	q := url.Values{"format": {format}}
	for k, v := range params {
		if k != "format" {
			q.Set(k, v)
		}
	}
	resp, err := c.send(ctx, http.MethodGet, "/v1/export", q, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", fmt.Errorf("GET /v1/export: %w", err)
	}
	return resp.Header.Get("Content-Type"), nil
}
