package feed

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Config configures the feed scheduler: how many feeds refresh at once,
// the settings every feed inherits, and the feeds.
type Config struct {
	// Concurrency is how many feeds may be refreshed at the same time.
	Concurrency int `yaml:"concurrency"`
	// Defaults holds the settings a feed inherits for every field it
	// leaves zero.
	Defaults Settings `yaml:"defaults"`
	// Feeds lists the feeds; names are unique.
	Feeds []Feed `yaml:"feeds"`
}

// A Feed is one source of indicators: a URL fetched over HTTP(S) or a
// local file, read with a named format.
type Feed struct {
	// Name identifies the feed in indicators (Source.Feed), metrics, logs
	// and file names: lower-case letters, digits, '.', '_' and '-'.
	Name string `yaml:"name"`
	// URL or Path: exactly one is set.
	URL  string `yaml:"url,omitempty"`
	Path string `yaml:"path,omitempty"`
	// Format names the reader, e.g. "plain", "stix", "misp".
	Format string `yaml:"format"`
	// Params are passed to the reader as intel.Options.Params.
	Params map[string]string `yaml:"params,omitempty"`
	// Kind is given to records that name no kind; "" means "other".
	Kind string `yaml:"kind,omitempty"`
	// Tags are appended to every indicator's tags.
	Tags []string `yaml:"tags,omitempty"`

	Settings `yaml:",inline"`
}

// Settings are the per-feed settings that Config.Defaults provides. In a
// feed, a zero field inherits the default; a negative TTL or MaxAge means
// none, and a negative Guard.AcceptAfterHolds means never. In a resolved
// feed (see Config.Resolve) zero means none.
type Settings struct {
	// Confidence (1-100) is given to records that carry none.
	Confidence int `yaml:"confidence,omitempty"`
	// Refresh is how often the feed is fetched, with ±10% jitter.
	Refresh time.Duration `yaml:"refresh,omitempty"`
	// TTL is how long an indicator lives after the copy that carried it
	// was fetched (or after its LastSeen, when earlier) if it has no
	// expiry of its own.
	TTL time.Duration `yaml:"ttl,omitempty"`
	// KindTTL caps the lifetime of indicators of a kind (keys are kind
	// names such as "residential-proxy"); the shorter of TTL and the
	// kind's TTL applies. A feed's entries override the defaults' entries
	// of the same kind; a zero or negative value removes the cap.
	KindTTL map[string]time.Duration `yaml:"kind_ttl,omitempty"`
	// MaxAge is how long the feed keeps matching after the source last
	// confirmed its copy; an older copy is stale and stops matching.
	MaxAge time.Duration `yaml:"max_age,omitempty"`
	// Timeout bounds one fetch, body included.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// MaxBytes caps the document size after decompression.
	MaxBytes int64 `yaml:"max_bytes,omitempty"`
	// Guard protects the indicator set against poisoned or broken updates.
	Guard Guard `yaml:"guard,omitempty"`
}

// Guard bounds what one update of a feed may do.
type Guard struct {
	// MaxPrefixV4 and MaxPrefixV6 are the shortest prefix lengths
	// accepted: with 8 and 19, nothing wider than a /8 or a /19 enters.
	// Wider entries are refused one by one.
	MaxPrefixV4 int `yaml:"max_prefix_v4,omitempty"`
	MaxPrefixV6 int `yaml:"max_prefix_v6,omitempty"`
	// MaxChurn (0-1] holds an update whose (added+removed)/(old+new)
	// entries exceed it: 0.5 when half of the entries were replaced.
	// 1 disables the check.
	MaxChurn float64 `yaml:"max_churn,omitempty"`
	// MinEntries: churn is judged only when the old or the new copy has
	// at least this many entries, so small lists may change freely.
	MinEntries int `yaml:"min_entries,omitempty"`
	// MaxRefusedShare (0-1] holds an update in which more than this share
	// of records were refused by the reader or the guard. 1 disables it.
	MaxRefusedShare float64 `yaml:"max_refused_share,omitempty"`
	// AcceptAfterHolds accepts an update, with an error-level alert, once
	// this many consecutive updates were held; 0 in the defaults accepts
	// at once (the guard only alerts); negative never accepts.
	AcceptAfterHolds int `yaml:"accept_after_holds,omitempty"`
}

// DefaultConfig returns the configuration used when the section is absent:
// no feeds, and defaults that suit lists refreshed hourly.
func DefaultConfig() Config {
	return Config{
		Concurrency: 2,
		Defaults: Settings{
			Confidence: 50,
			Refresh:    time.Hour,
			// Residential addresses change hands within days: a listing
			// must not outlive its evidence.
			KindTTL:  map[string]time.Duration{proxywatch.KindResidentialProxy.String(): 72 * time.Hour},
			MaxAge:   7 * 24 * time.Hour,
			Timeout:  2 * time.Minute,
			MaxBytes: 64 << 20,
			Guard: Guard{
				MaxPrefixV4:      8,
				MaxPrefixV6:      19,
				MaxChurn:         0.5,
				MinEntries:       20,
				MaxRefusedShare:  0.5,
				AcceptAfterHolds: 3,
			},
		},
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate reports every problem in c, not just the first, each prefixed
// with its path inside the section ("feeds[2].url: ..."). known lists the
// format names a feed may use; when it is nil, formats are only checked
// for presence.
func (c Config) Validate(known []string) error {
	var errs []error
	add := func(path string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		add("concurrency", "%d: must be between 1 and 64", c.Concurrency)
	}
	errs = append(errs, c.Defaults.validate("defaults", true)...)
	seen := map[string]int{}
	for i, f := range c.Feeds {
		p := fmt.Sprintf("feeds[%d]", i)
		switch {
		case !nameRE.MatchString(f.Name):
			add(p+".name", "%q: must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", f.Name)
		case seen[f.Name] > 0:
			add(p+".name", "%q: also used by feeds[%d]", f.Name, seen[f.Name]-1)
		default:
			seen[f.Name] = i + 1
		}
		switch {
		case f.URL == "" && f.Path == "":
			add(p, "one of url or path is required")
		case f.URL != "" && f.Path != "":
			add(p, "url and path are mutually exclusive")
		case f.URL != "":
			if u, err := url.Parse(f.URL); err != nil {
				add(p+".url", "%v", err)
			} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(p+".url", "%q: must be an http or https URL", f.URL)
			}
		}
		switch {
		case f.Format == "":
			add(p+".format", "required")
		case known != nil && !slices.Contains(known, f.Format):
			add(p+".format", "%q: unknown (known: %v)", f.Format, known)
		}
		if f.Kind != "" {
			if _, err := proxywatch.ParseKind(f.Kind); err != nil {
				add(p+".kind", "%q: unknown kind", f.Kind)
			}
		}
		for j, tag := range f.Tags {
			if tag == "" {
				add(fmt.Sprintf("%s.tags[%d]", p, j), "empty tag")
			}
		}
		errs = append(errs, f.Settings.validate(p, false)...)
		if r := c.Resolve(f); r.MaxAge > 0 && r.MaxAge <= r.Refresh {
			add(p+".max_age", "%s: must be longer than refresh (%s)", r.MaxAge, r.Refresh)
		}
	}
	return errors.Join(errs...)
}

// validate checks s; complete is true for the defaults, which must set
// every field a feed may inherit.
func (s Settings) validate(p string, complete bool) []error {
	var errs []error
	add := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{p, field}, args...)...))
	}
	minimum := 0
	if complete {
		minimum = 1
	}
	if s.Confidence < minimum || s.Confidence > proxywatch.MaxConfidence {
		add("confidence", "%d: must be between %d and 100", s.Confidence, minimum)
	}
	if s.Refresh != 0 && s.Refresh < time.Second || complete && s.Refresh <= 0 {
		add("refresh", "%s: must be at least 1s", s.Refresh)
	}
	if complete && s.Timeout <= 0 || s.Timeout < 0 {
		add("timeout", "%s: must be positive", s.Timeout)
	}
	if complete && s.MaxBytes <= 0 || s.MaxBytes < 0 {
		add("max_bytes", "%d: must be positive", s.MaxBytes)
	}
	if complete && s.TTL < 0 {
		add("ttl", "%s: must not be negative in defaults (0 means none)", s.TTL)
	}
	if complete && s.MaxAge < 0 {
		add("max_age", "%s: must not be negative in defaults (0 means never stale)", s.MaxAge)
	}
	for k := range s.KindTTL {
		if kind, err := proxywatch.ParseKind(k); err != nil || kind == proxywatch.KindUnknown {
			add("kind_ttl", "%q: unknown kind", k)
		}
	}
	g := s.Guard
	if g.MaxPrefixV4 < minimum || g.MaxPrefixV4 > 32 {
		add("guard.max_prefix_v4", "%d: must be between %d and 32", g.MaxPrefixV4, minimum)
	}
	if g.MaxPrefixV6 < minimum || g.MaxPrefixV6 > 128 {
		add("guard.max_prefix_v6", "%d: must be between %d and 128", g.MaxPrefixV6, minimum)
	}
	if g.MaxChurn < 0 || g.MaxChurn > 1 || complete && g.MaxChurn == 0 {
		add("guard.max_churn", "%g: must be in (0, 1]", g.MaxChurn)
	}
	if g.MaxRefusedShare < 0 || g.MaxRefusedShare > 1 || complete && g.MaxRefusedShare == 0 {
		add("guard.max_refused_share", "%g: must be in (0, 1]", g.MaxRefusedShare)
	}
	if g.MinEntries < 0 {
		add("guard.min_entries", "%d: must not be negative", g.MinEntries)
	}
	return errs
}

// Resolve returns f with every zero setting taken from c.Defaults, and
// negative durations and hold counts normalised: in the result, a zero
// TTL or MaxAge means none, and a negative AcceptAfterHolds means never.
// Collect expects a resolved feed.
func (c Config) Resolve(f Feed) Feed {
	d := c.Defaults
	s := &f.Settings
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
		if *v < 0 {
			*v = 0
		}
	}
	setFloat := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&s.Confidence, d.Confidence)
	setDur(&s.Refresh, d.Refresh)
	setDur(&s.TTL, d.TTL)
	setDur(&s.MaxAge, d.MaxAge)
	setDur(&s.Timeout, d.Timeout)
	if s.MaxBytes == 0 {
		s.MaxBytes = d.MaxBytes
	}
	kt := make(map[string]time.Duration, len(d.KindTTL)+len(s.KindTTL))
	for _, m := range []map[string]time.Duration{d.KindTTL, s.KindTTL} {
		for k, v := range m {
			if kind, err := proxywatch.ParseKind(k); err == nil {
				k = kind.String()
			}
			kt[k] = v
		}
	}
	for k, v := range kt {
		if v <= 0 {
			delete(kt, k)
		}
	}
	s.KindTTL = kt
	g, dg := &s.Guard, d.Guard
	setInt(&g.MaxPrefixV4, dg.MaxPrefixV4)
	setInt(&g.MaxPrefixV6, dg.MaxPrefixV6)
	setFloat(&g.MaxChurn, dg.MaxChurn)
	setFloat(&g.MaxRefusedShare, dg.MaxRefusedShare)
	setInt(&g.MinEntries, dg.MinEntries)
	setInt(&g.AcceptAfterHolds, dg.AcceptAfterHolds)
	if f.Kind == "" {
		f.Kind = proxywatch.KindOther.String()
	}
	return f
}

// Source returns the feed's URL or path.
func (f Feed) Source() string {
	if f.URL != "" {
		return f.URL
	}
	return f.Path
}
