// Package export turns indicators into the files that enforcement points
// load: firewall scripts (nftables, ipset), plain lists, CSV and STIX.
//
// It owns the contract every format implements, [Exporter], the [Options]
// they all take, and the preparation they share: choosing the prefix
// indicators that are live at Options.Now, reach Options.MinConfidence
// and are of a wanted kind; carving the allowlist out of them; and, for
// the formats that load into a set, collapsing overlapping prefixes into
// disjoint address ranges ([Collapse]). One subpackage per format
// implements Exporter; this package knows none of them, and the
// composition root picks one from a map by name.
//
// Exports are pure functions of their input and options: the same
// indicators (in any order) and the same Options give the same bytes.
// Nothing here touches a firewall; applying an export is the operator's
// (or a test namespace's) business.
package export

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"regexp"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// An Exporter writes one export format.
//
// Export reads every indicator of inds once, selects and prepares them as
// opts says (see [Options]) and writes the whole document to w. It
// returns what it did in Stats. It reports an error wrapping
// proxywatch.ErrInvalid for invalid options, before writing anything, and
// the first write error of w otherwise; after a write error the document
// is incomplete. An empty selection gives a valid, empty document.
// Exporters hold no state and are safe for concurrent use.
type Exporter interface {
	Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts Options) (Stats, error)
	// ContentType returns the document's media type, for HTTP responses.
	ContentType() string
}

// DefaultName is the table or set name used when Options.Name is empty.
const DefaultName = "proxywatch"

// Options says which indicators an export holds and how it is written.
// The zero Options is invalid: Now must be set.
type Options struct {
	// Allowlist lists ranges that never appear in an export: an indicator
	// inside one is left out, and one that overlaps one is cut down to
	// the parts outside it.
	Allowlist []netip.Prefix
	// MinConfidence leaves out indicators whose confidence is below it.
	MinConfidence uint8
	// Now is the time the export is taken at: indicators expired at Now
	// are left out, and remaining lifetimes (firewall timeouts) are
	// counted from it.
	Now time.Time
	// Kinds, when not empty, keeps only indicators of these kinds.
	Kinds []proxywatch.Kind
	// Name names the nftables table or the ipset sets; DefaultName when
	// empty. It is a letter followed by up to 23 letters, digits and
	// underscores, so that derived names fit ipset's 31-byte limit.
	Name string
	// Timeout makes firewall formats give each element its remaining
	// lifetime, so that the kernel drops it when it expires even if no
	// new export is loaded. Without it, elements are permanent until the
	// next load (expired indicators are still left out). Formats without
	// timeouts (plain, CSV, STIX) ignore it.
	Timeout bool
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,23}$`)

// Validate reports every problem in o, each wrapping proxywatch.ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, proxywatch.ErrInvalid)...))
	}
	if o.Now.IsZero() {
		add("options: now is not set")
	}
	if o.MinConfidence > proxywatch.MaxConfidence {
		add("options: min confidence %d above %d", o.MinConfidence, proxywatch.MaxConfidence)
	}
	if o.Name != "" && !nameRE.MatchString(o.Name) {
		add("options: name %q: want a letter and up to 23 letters, digits or underscores", o.Name)
	}
	for _, k := range o.Kinds {
		if !slices.Contains(proxywatch.Kinds(), k) {
			add("options: kind %v: not a kind an indicator can have", k)
		}
	}
	for _, p := range o.Allowlist {
		if !p.IsValid() {
			add("options: allowlist: invalid prefix")
		}
	}
	return errors.Join(errs...)
}

// SetName returns o.Name, or DefaultName when it is empty.
func (o Options) SetName() string {
	if o.Name == "" {
		return DefaultName
	}
	return o.Name
}

// Stats counts what one export did with its input.
type Stats struct {
	// Indicators is how many indicators the input held.
	Indicators int `json:"indicators"`
	// NotPrefix, Expired, BelowConfidence and OtherKind count the
	// indicators left out for being about a domain or an ASN, expired at
	// Options.Now, below Options.MinConfidence, or of an unwanted kind,
	// checked in that order.
	NotPrefix       int `json:"not_prefix,omitempty"`
	Expired         int `json:"expired,omitempty"`
	BelowConfidence int `json:"below_confidence,omitempty"`
	OtherKind       int `json:"other_kind,omitempty"`
	// Selected is how many indicators passed those filters.
	Selected int `json:"selected"`
	// Allowlisted counts selected indicators wholly inside the
	// allowlist, and Carved those it cut in part.
	Allowlisted int `json:"allowlisted,omitempty"`
	Carved      int `json:"carved,omitempty"`
	// Entries is how many elements, lines or objects the document holds,
	// and V4 and V6 how many of them are about IPv4 and IPv6 addresses.
	Entries int `json:"entries"`
	V4      int `json:"v4"`
	V6      int `json:"v6"`
	// Bytes is the size of the document written.
	Bytes int64 `json:"bytes"`
}

// selected reports whether opts selects ind, counting why not in st. It
// returns ind's prefix, masked and unmapped, when it does.
func selected(ind *proxywatch.Indicator, opts *Options, st *Stats) (netip.Prefix, bool) {
	st.Indicators++
	p, ok := normalize(ind.Subject.Prefix)
	switch {
	case !ok:
		st.NotPrefix++
		return p, false
	case ind.ExpiredAt(opts.Now):
		st.Expired++
		return p, false
	case ind.Confidence < opts.MinConfidence:
		st.BelowConfidence++
		return p, false
	case len(opts.Kinds) > 0 && !slices.Contains(opts.Kinds, ind.Kind):
		st.OtherKind++
		return p, false
	}
	st.Selected++
	return p, true
}

// normalize returns p masked, with an IPv4-mapped IPv6 prefix of /96 or
// longer turned into the IPv4 prefix it maps, and reports whether p is a
// valid prefix.
func normalize(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return p, false
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked(), true
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), true
}
