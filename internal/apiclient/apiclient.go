// Package apiclient is a typed Go client for proxywatch's HTTP API (see
// internal/api and docs/api.md): verdicts, local indicators, feed status
// and exports, for the command line and for scripts written in Go.
//
// Errors the API reports come back as *Error, which matches the
// proxywatch sentinels with errors.Is (ErrNotFound, ErrInvalid,
// ErrConflict, ErrUnavailable) and this package's ErrUnauthorized and
// ErrForbidden.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/api"
)

// Errors for the API's authentication failures, matched with errors.Is.
var (
	ErrUnauthorized = errors.New("unauthorized") // no token, or a wrong one
	ErrForbidden    = errors.New("forbidden")    // the token may not do this
)

// An Error is an error the API answered with.
type Error struct {
	Status  int    // the HTTP status
	Code    string // the API's stable code, e.g. "not_found"; "http_<status>" when the body was not the API's
	Message string // the API's safe message
}

// Error returns "<message> (<code>, HTTP <status>)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// Unwrap returns the sentinel error of the code, if any.
func (e *Error) Unwrap() error {
	switch e.Code {
	case api.CodeNotFound:
		return proxywatch.ErrNotFound
	case api.CodeInvalid, api.CodeTooLarge:
		return proxywatch.ErrInvalid
	case api.CodeConflict:
		return proxywatch.ErrConflict
	case api.CodeUnavailable, api.CodeTimeout:
		return proxywatch.ErrUnavailable
	case api.CodeUnauthorized:
		return ErrUnauthorized
	case api.CodeForbidden:
		return ErrForbidden
	}
	return nil
}

// Options configures a Client.
type Options struct {
	// Token is the bearer token sent with every request; empty sends none.
	Token string
	// HTTPClient makes the requests; nil means a client with a 30s
	// timeout for everything but exports, which only the context bounds.
	HTTPClient *http.Client
	// BatchSize is how many addresses Batch sends per request; 0 means
	// 1000, the API's default limit.
	BatchSize int
}

// A Client talks to one proxywatch API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	hc    *http.Client
	batch int
}

// New returns a client for the API at baseURL, such as
// "http://127.0.0.1:9411".
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api url %q: must be http(s)://host[:port]", baseURL)
	}
	c := &Client{base: u, token: opts.Token, hc: opts.HTTPClient, batch: opts.BatchSize}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.batch <= 0 {
		c.batch = 1000
	}
	return c, nil
}

// defaultTimeout bounds requests other than exports when the caller's
// context has no deadline.
const defaultTimeout = 30 * time.Second

// do sends a request and decodes a JSON answer into out (nil to discard).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	resp, err := c.send(ctx, method, path, q, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a 2xx response, or the API's error.
func (c *Client) send(ctx context.Context, method, path string, q url.Values, in any) (*http.Response, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		return nil, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return nil, &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: msg}
}

// Verdict returns the verdict for addr.
func (c *Client) Verdict(ctx context.Context, addr netip.Addr) (api.Verdict, error) {
	var v api.Verdict
	err := c.do(ctx, http.MethodGet, "/v1/ip/"+addr.String(), nil, nil, &v)
	return v, err
}

// Batch returns the verdicts for addrs, in order, sending them in requests
// of at most Options.BatchSize addresses.
func (c *Client) Batch(ctx context.Context, addrs []netip.Addr) ([]api.Verdict, error) {
	out := make([]api.Verdict, 0, len(addrs))
	for start := 0; start < len(addrs); start += c.batch {
		chunk := addrs[start:min(start+c.batch, len(addrs))]
		req := api.BatchRequest{Addrs: make([]string, len(chunk))}
		for i, a := range chunk {
			req.Addrs[i] = a.String()
		}
		var resp api.BatchResponse
		if err := c.do(ctx, http.MethodPost, "/v1/ip", nil, req, &resp); err != nil {
			return out, err
		}
		if len(resp.Verdicts) != len(chunk) {
			return out, fmt.Errorf("POST /v1/ip: %d verdicts for %d addresses", len(resp.Verdicts), len(chunk))
		}
		out = append(out, resp.Verdicts...)
	}
	return out, nil
}
