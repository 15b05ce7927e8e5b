package verdict

import (
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A Hit is one indicator that covers a looked-up address. It is 16 bytes: a
// pointer to an immutable record held by the table, a copy of the kind and
// confidence (so that [Summarize] need not read the record), and whether
// the looked-up address is allowlisted. A Hit stays valid after the table
// changes; it then describes the indicator as it was when looked up. The
// zero Hit is invalid.
type Hit struct {
	r     *rec
	kind  proxywatch.Kind
	conf  uint8
	allow bool
}

func hitOf(r *rec) Hit { return Hit{r: r, kind: r.kind, conf: r.conf} }

// Valid reports whether h refers to an indicator.
func (h Hit) Valid() bool { return h.r != nil }

// Prefix returns the indicator's prefix, which contains the looked-up address.
func (h Hit) Prefix() netip.Prefix { return h.r.prefix() }

// Kind returns the indicator's kind.
func (h Hit) Kind() proxywatch.Kind { return h.kind }

// Confidence returns the indicator's confidence, 0 to 100.
func (h Hit) Confidence() uint8 { return h.conf }

// Feed returns the name of the feed the indicator belongs to.
func (h Hit) Feed() string { return h.r.meta.feed }

// Expires returns when the indicator expires; the zero time means never.
func (h Hit) Expires() time.Time { return fromNano(h.r.exp) }

// Allowlisted reports whether the looked-up address is in the allowlist.
// An allowlisted address is shown with its hits but never listed.
func (h Hit) Allowlisted() bool { return h.allow }

// Indicator returns the full indicator. Its times are in UTC and are
// clamped to the years 1678 to 2262; its Tags are a fresh copy. It
// allocates, so it belongs on display paths, not on the hot path.
func (h Hit) Indicator() proxywatch.Indicator { return h.r.indicator() }
