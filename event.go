package proxywatch

import (
	"net/netip"
	"time"
)

// An EventType says what a login event reports.
type EventType uint8

// The login event types. A parser maps each recognised log message to one.
const (
	EventUnknown      EventType = iota
	EventLoginFailure           // a failed authentication for an existing or unknown user
	EventInvalidUser            // an attempt for a user name the service does not know
	EventLoginSuccess           // an accepted authentication
	EventPreauth                // a connection dropped before authentication (probe, bad kex, no banner)
	numEventTypes
)

var eventTypeNames = [numEventTypes]string{"unknown", "login-failure", "invalid-user", "login-success", "preauth"}

// String returns the type's name, such as "login-failure".
func (t EventType) String() string {
	if t < numEventTypes {
		return eventTypeNames[t]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (t EventType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; unknown names decode
// as EventUnknown.
func (t *EventType) UnmarshalText(b []byte) error {
	*t = EventUnknown
	for i, n := range eventTypeNames {
		if n == string(b) {
			*t = EventType(i)
		}
	}
	return nil
}

// An Event is one observation from a log: a login attempt, its outcome and
// where it came from. Events are values; parsers fill them without
// allocating where they can.
type Event struct {
	Time    time.Time  `json:"time"`
	Type    EventType  `json:"type"`
	Service string     `json:"service"`          // "ssh", "http", or the configured service name
	Addr    netip.Addr `json:"addr"`             // the client address, unmapped
	Port    uint16     `json:"port,omitempty"`   // the client port, when logged
	User    string     `json:"user,omitempty"`   // the attempted user name, when the source carries one
	Method  string     `json:"method,omitempty"` // "password", "publickey", "keyboard-interactive", "basic", "form"
	Host    string     `json:"host,omitempty"`   // the logging host
	Source  string     `json:"source,omitempty"` // the configured log source name
	Seq     uint64     `json:"seq,omitempty"`    // the source's sequence number of this event
}
