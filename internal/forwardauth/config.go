package forwardauth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Config configures the forward-auth endpoint.
type Config struct {
	// Enabled turns the endpoint on.
	Enabled bool `yaml:"enabled"`
	// Listen is the TCP address the endpoint listens on, or
	// "unix:/path/to/socket" for a Unix socket, whose peers count as
	// trusted proxies. The proxies that ask it usually run on the same
	// host.
	Listen string `yaml:"listen"`
	// TrustedProxies are the peers whose ClientHeader is believed. A
	// request from any other peer is judged by the peer's own address.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
	// ClientHeader is the one header that carries the client address
	// from a trusted proxy: "X-Forwarded-For" (the right-most address that
	// is not a trusted proxy), "X-Real-IP" or "Forwarded" (RFC 7239, the
	// same rule over its for= parameters). Empty means the peer address
	// only.
	ClientHeader string `yaml:"client_header"`
	// AllowStatus is the status of an allow: 200 or 204.
	AllowStatus int `yaml:"allow_status"`
	// ReasonHeader, when set, names a response header that carries the
	// reason of each decision, e.g. "listed kind=c2 feed=abuse-c2
	// confidence=90". It reveals which feed lists an address, so it is
	// off by default; proxies should not pass it on to clients.
	ReasonHeader string `yaml:"reason_header"`
	// UnknownClient is the decision, "allow" or "deny", when a trusted
	// proxy's request carries no usable client address (the header is
	// missing, malformed, or says "unknown").
	UnknownClient string `yaml:"unknown_client"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ShutdownGrace bounds how long in-flight requests may drain when the
	// server stops.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// The client headers ClientHeader accepts, in canonical form.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderXRealIP       = "X-Real-Ip"
	HeaderForwarded     = "Forwarded"
)

// DefaultConfig returns the configuration used when the section is absent:
// off, and when enabled on loopback behind a proxy on the same host that
// sets X-Forwarded-For, answering 204 and denying clients it cannot
// identify.
func DefaultConfig() Config {
	return Config{
		Listen: "127.0.0.1:9412",
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"),
			netip.MustParsePrefix("::1/128"),
		},
		ClientHeader:      HeaderXForwardedFor,
		AllowStatus:       http.StatusNoContent,
		UnknownClient:     "deny",
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ShutdownGrace:     10 * time.Second,
	}
}

// Validate reports every problem in c, not just the first.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if network, addr := c.Network(); network == "unix" {
		if addr == "" {
			errs = append(errs, fmt.Errorf("listen %q: no socket path", c.Listen))
		}
	} else if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen %q: %w", c.Listen, err))
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d]: invalid prefix", i))
		} else if p != p.Masked() {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d] %s: host bits set (did you mean %s?)", i, p, p.Masked()))
		}
	}
	if _, ok := canonicalHeader(c.ClientHeader); !ok {
		errs = append(errs, fmt.Errorf("client_header %q: must be X-Forwarded-For, X-Real-IP, Forwarded or empty", c.ClientHeader))
	}
	if c.ClientHeader != "" && len(c.TrustedProxies) == 0 {
		errs = append(errs, fmt.Errorf("client_header %q: no trusted_proxies, so it would never be read", c.ClientHeader))
	}
	if c.AllowStatus != http.StatusOK && c.AllowStatus != http.StatusNoContent {
		errs = append(errs, fmt.Errorf("allow_status %d: must be 200 or 204", c.AllowStatus))
	}
	if c.ReasonHeader != "" && !validHeaderName(c.ReasonHeader) {
		errs = append(errs, fmt.Errorf("reason_header %q: not a header name", c.ReasonHeader))
	}
	if c.UnknownClient != "allow" && c.UnknownClient != "deny" {
		errs = append(errs, fmt.Errorf("unknown_client %q: must be allow or deny", c.UnknownClient))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"shutdown_grace", c.ShutdownGrace},
	} {
		if d.v < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("%s %s: must be at least 100ms", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// Network returns the network and address to listen on, for net.Listen:
// ("unix", path) for a "unix:" Listen, else ("tcp", Listen).
func (c Config) Network() (network, address string) {
	if p, ok := strings.CutPrefix(c.Listen, "unix:"); ok {
		return "unix", p
	}
	return "tcp", c.Listen
}

// canonicalHeader returns the canonical name of a ClientHeader value.
func canonicalHeader(h string) (string, bool) {
	if h == "" {
		return "", true
	}
	switch c := http.CanonicalHeaderKey(strings.TrimSpace(h)); c {
	case HeaderXForwardedFor, HeaderXRealIP, HeaderForwarded:
		return c, true
	}
	return "", false
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
