package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/proxywatch/proxywatch"
)

// Conditions only HTTP knows. They are mapped beside the proxywatch
// sentinels in statusOf.
var (
	errUnauthorized = errors.New("unauthorized")
	errForbidden    = errors.New("forbidden")
	errTooLarge     = errors.New("too large")
)

// The error codes of the API. They are stable: clients branch on them.
const (
	CodeInvalid      = "invalid"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeUnavailable  = "unavailable"
	CodeTimeout      = "timeout"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeTooLarge     = "too_large"
	CodeInternal     = "internal"
)

// ErrorBody is the JSON body of every error response:
// {"error":{"code":"not_found","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is a stable code and a message safe to show.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf is the one place where errors become HTTP statuses and codes.
// The message is the *proxywatch.Error's safe message when err carries
// one, else a fixed text for the code; internal reports whether the
// cause is unexpected, to be logged.
func statusOf(err error) (status int, d ErrorDetail, internal bool) {
	table := []struct {
		kind   error
		status int
		code   string
		msg    string
	}{
		{errUnauthorized, http.StatusUnauthorized, CodeUnauthorized, "a valid bearer token is required"},
		{errForbidden, http.StatusForbidden, CodeForbidden, "the token does not allow this"},
		{errTooLarge, http.StatusRequestEntityTooLarge, CodeTooLarge, "request too large"},
		{context.DeadlineExceeded, http.StatusServiceUnavailable, CodeTimeout, "request timed out"},
		{proxywatch.ErrInvalid, http.StatusBadRequest, CodeInvalid, "invalid request"},
		{proxywatch.ErrNotFound, http.StatusNotFound, CodeNotFound, "not found"},
		{proxywatch.ErrConflict, http.StatusConflict, CodeConflict, "conflict"},
		{proxywatch.ErrUnavailable, http.StatusServiceUnavailable, CodeUnavailable, "temporarily unavailable"},
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errTooLarge
	}
	status, d, internal = http.StatusInternalServerError, ErrorDetail{Code: CodeInternal, Message: "internal error"}, true
	for _, t := range table {
		if errors.Is(err, t.kind) {
			status, d, internal = t.status, ErrorDetail{Code: t.code, Message: t.msg}, t.status >= 500
			break
		}
	}
	var pe *proxywatch.Error
	if errors.As(err, &pe) && pe.Message != "" && status != http.StatusInternalServerError {
		d.Message = pe.Message
	}
	return status, d, internal
}

// invalid returns an ErrInvalid error whose message is safe to show.
func invalid(msg string) error {
	return &proxywatch.Error{Kind: proxywatch.ErrInvalid, Message: msg}
}

// notFound returns an ErrNotFound error whose message is safe to show.
func notFound(msg string) error {
	return &proxywatch.Error{Kind: proxywatch.ErrNotFound, Message: msg}
}

// quote shortens and quotes client input for an error message.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == 0xfffd {
			b = append(b, '?')
			continue
		}
		b = append(b, string(r)...)
	}
	return string(append(b, '"'))
}
