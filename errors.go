package proxywatch

import "errors"

// Sentinel errors for conditions that callers branch on with errors.Is.
// Transports map them at their edge (HTTP status, DNS rcode, exit code).
var (
	ErrNotFound    = errors.New("not found")
	ErrInvalid     = errors.New("invalid")
	ErrConflict    = errors.New("conflict")
	ErrUnavailable = errors.New("unavailable")
)

// An Error carries a message that is safe to show to API clients beside
// the internal cause, which may name files, feeds or hosts and is only
// logged. Kind is one of the sentinel errors, so errors.Is(err, ErrInvalid)
// holds for an Error of that kind.
type Error struct {
	Kind    error  // ErrNotFound, ErrInvalid, ErrConflict or ErrUnavailable
	Message string // safe for clients
	Err     error  // internal cause; may be nil
}

// Error returns the safe message followed by the cause, if any.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the kind and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
