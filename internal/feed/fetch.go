package feed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Fetch error reasons, used as metric labels.
const (
	errStatus     = "status"     // an HTTP status other than 200 and 304
	errTimeout    = "timeout"    // the fetch took longer than the feed's timeout
	errNetwork    = "network"    // the request could not be made
	errTooLarge   = "too-large"  // the document exceeds max_bytes after decompression
	errDecompress = "decompress" // a gzip stream that does not decode
	errRead       = "read"       // a local file that cannot be read
	errParse      = "parse"      // the reader gave up on the document
	errSink       = "sink"       // the sink refused the update
)

// A fetchError is a failed refresh with its reason.
type fetchError struct {
	reason string
	err    error
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// reasonOf returns the metric reason of err.
func reasonOf(err error) string {
	if fe, ok := errors.AsType[*fetchError](err); ok {
		return fe.reason
	}
	return errNetwork
}

// validators identify the copy we hold, for conditional requests.
type validators struct {
	etag, lastModified string
	modTime            time.Time // local files
	size               int64     // local files
}

// fetched is the outcome of one successful fetch.
type fetched struct {
	notModified bool
	body        []byte
	validators
}

// fetchURL GETs f.URL, conditionally when v is set.
func (s *Scheduler) fetchURL(ctx context.Context, f *Feed, v validators) (fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	where := safeURL(f.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return fetched{}, &fetchError{errNetwork, fmt.Errorf("get %s: %w", where, err)}
	}
	req.Header.Set("User-Agent", s.userAgent)
	// Asking for gzip ourselves turns off the transport's transparent
	// decompression, so the size cap sees the decompressed size either way.
	req.Header.Set("Accept-Encoding", "gzip")
	if v.etag != "" {
		req.Header.Set("If-None-Match", v.etag)
	}
	if v.lastModified != "" {
		req.Header.Set("If-Modified-Since", v.lastModified)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its message repeats the full URL, which may carry a key
		}
		return fetched{}, timeoutOr(ctx, errNetwork, fmt.Errorf("get %s: %w", where, err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return fetched{notModified: true}, nil
	default:
		return fetched{}, &fetchError{errStatus, fmt.Errorf("get %s: status %s", where, resp.Status)}
	}
	body, err := readBody(resp.Body, resp.Header.Get("Content-Encoding"), f.MaxBytes)
	if err != nil {
		return fetched{}, timeoutOr(ctx, "", fmt.Errorf("get %s: %w", where, err))
	}
	return fetched{body: body, validators: validators{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}}, nil
}

// timeoutOr wraps err as a timeout when ctx ran out, else with reason (or
// keeps err's own reason when reason is "").
func timeoutOr(ctx context.Context, reason string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &fetchError{errTimeout, err}
	}
	if reason == "" {
		if fe, ok := errors.AsType[*fetchError](err); ok {
			reason = fe.reason
		} else {
			reason = errNetwork
		}
	}
	return &fetchError{reason, err}
}

// fetchPath reads f.Path unless its modification time and size still
// match v (and recheck is false).
func fetchPath(f *Feed, v validators, recheck bool) (fetched, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return fetched{}, &fetchError{errRead, err}
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return fetched{}, &fetchError{errRead, err}
	}
	if !fi.Mode().IsRegular() {
		return fetched{}, &fetchError{errRead, fmt.Errorf("%s: not a regular file", f.Path)}
	}
	nv := validators{modTime: fi.ModTime().UTC(), size: fi.Size()}
	if !recheck && nv.modTime.Equal(v.modTime) && nv.size == v.size {
		return fetched{notModified: true}, nil
	}
	body, err := readBody(fh, "", f.MaxBytes)
	if err != nil {
		if _, ok := errors.AsType[*fetchError](err); !ok {
			err = &fetchError{errRead, err}
		}
		return fetched{}, fmt.Errorf("read %s: %w", f.Path, err)
	}
	return fetched{body: body, validators: nv}, nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// readBody reads a document of at most limit bytes after decompression:
// a gzip Content-Encoding is undone, then a gzip body (a .gz file) is
// recognised by its magic bytes and undone too, once.
func readBody(r io.Reader, contentEncoding string, limit int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, &fetchError{errDecompress, fmt.Errorf("content-encoding gzip: %w", err)}
		}
		defer zr.Close()
		r = zr
	default:
		return nil, &fetchError{errDecompress, fmt.Errorf("content-encoding %q: unsupported", contentEncoding)}
	}
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &fetchError{errDecompress, fmt.Errorf("gzip body: %w", err)}
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &fetchError{errDecompress, err}
		}
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, &fetchError{errTooLarge, fmt.Errorf("document larger than max_bytes (%d bytes)", limit)}
	}
	return body, nil
}

// safeURL returns u without user information and query, which may carry
// credentials, for logs and errors.
func safeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid url>"
	}
	p.User = nil
	if p.RawQuery != "" {
		p.RawQuery = "..."
	}
	p.Fragment = ""
	return p.String()
}
