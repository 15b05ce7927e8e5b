// Package exporttest holds what the tests of every export format share:
// the conformance suite [Run], which holds an [export.Exporter] to the
// contract, and helpers that create network namespaces to load firewall
// exports into ([NewNamespace], [NewLink]), refusing to act anywhere
// else. It is imported only from _test.go files.
package exporttest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// An Entry is one element, line or object of an export, as a format's
// decoder reads it back: the addresses it covers, and its lifetime.
type Entry struct {
	From, To netip.Addr // inclusive
	// Timeout is the element's timeout, for formats that write them; 0
	// means permanent.
	Timeout time.Duration
	// Expires is the entry's expiry, for formats that write one per
	// indicator; zero means never.
	Expires time.Time
}

// Suite describes a format to Run.
type Suite struct {
	Exporter export.Exporter
	// Decode reads a document back. It fails t when the document is
	// malformed.
	Decode func(t *testing.T, doc []byte) []Entry
	// Timeouts says the format writes element timeouts (with
	// Options.Timeout) capped at MaxTimeout.
	Timeouts   bool
	MaxTimeout time.Duration
	// Expires says the format writes each indicator's expiry.
	Expires bool
	// Disjoint says the format's entries never overlap.
	Disjoint bool
	// Check, when set, is called on every document the suite makes, to
	// validate it with the format's own tools (nft -c, ...).
	Check func(t *testing.T, doc []byte)
}

// Now is the time the suite's exports are taken at.
var Now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Ind returns an indicator of subject s with confidence conf that expires
// after life from Now (never when life is 0).
func Ind(s string, kind proxywatch.Kind, conf uint8, life time.Duration) proxywatch.Indicator {
	sub, err := proxywatch.ParseSubject(s)
	if err != nil {
		panic(fmt.Sprintf("exporttest: %v", err))
	}
	i := proxywatch.Indicator{Subject: sub, Kind: kind, Confidence: conf, Source: proxywatch.Source{Feed: "test"},
		FirstSeen: Now.Add(-48 * time.Hour)}
	if life != 0 {
		i.Expires = Now.Add(life)
	}
	return i
}

// export runs the exporter and checks what every document must satisfy.
func (s *Suite) export(t *testing.T, inds []proxywatch.Indicator, opts export.Options) ([]byte, []Entry, export.Stats) {
	t.Helper()
	var b bytes.Buffer
	st, err := s.Exporter.Export(&b, slices.Values(inds), opts)
	if err != nil {
		t.Fatalf("Export() = %v", err)
	}
	doc := b.Bytes()
	if st.Bytes != int64(len(doc)) {
		t.Errorf("Export() stats.Bytes = %d, want %d", st.Bytes, len(doc))
	}
	if s.Check != nil {
		s.Check(t, doc)
	}
	es := s.Decode(t, doc)
	if st.Entries != len(es) || st.V4+st.V6 != st.Entries {
		t.Errorf("Export() stats entries %d (v4 %d, v6 %d), decoded %d", st.Entries, st.V4, st.V6, len(es))
	}
	v4 := 0
	for i, e := range es {
		if e.From.Is4() {
			v4++
		}
		if s.Disjoint && i > 0 && overlaps(es[i-1], e) {
			t.Errorf("entries %v-%v and %v-%v overlap", es[i-1].From, es[i-1].To, e.From, e.To)
		}
	}
	if v4 != st.V4 {
		t.Errorf("Export() stats.V4 = %d, decoded %d", st.V4, v4)
	}
	if s.Disjoint {
		sorted := slices.IsSortedFunc(es, func(a, b Entry) int { return a.From.Compare(b.From) })
		if !sorted {
			t.Errorf("entries are not in address order")
		}
	}
	return doc, es, st
}

func overlaps(a, b Entry) bool {
	return a.From.Is4() == b.From.Is4() && !a.To.Less(b.From) && !b.To.Less(a.From)
}

// held describes an address in a decoded document: whether an entry
// covers it and, among those that do, the longest timeout (0 permanent)
// and the latest expiry (zero never).
type held struct {
	in      bool
	timeout time.Duration
	expires time.Time
}

func lookup(es []Entry, a netip.Addr) held {
	var h held
	for _, e := range es {
		if e.From.Is4() != a.Is4() || a.Less(e.From) || e.To.Less(a) {
			continue
		}
		if !h.in {
			h = held{in: true, timeout: e.Timeout, expires: e.Expires}
			continue
		}
		if h.timeout != 0 && (e.Timeout == 0 || e.Timeout > h.timeout) {
			h.timeout = e.Timeout
		}
		if !h.expires.IsZero() && (e.Expires.IsZero() || e.Expires.After(h.expires)) {
			h.expires = e.Expires
		}
	}
	return h
}

// want computes held for a from the indicators and options, by brute
// force.
func (s *Suite) want(inds []proxywatch.Indicator, opts export.Options, a netip.Addr) held {
	var h held
	for _, p := range opts.Allowlist {
		if p.Contains(a) {
			return h
		}
	}
	for _, i := range inds {
		if !i.Subject.Prefix.Contains(a) || i.ExpiredAt(opts.Now) || i.Confidence < opts.MinConfidence ||
			len(opts.Kinds) > 0 && !slices.Contains(opts.Kinds, i.Kind) {
			continue
		}
		var timeout time.Duration
		if s.Timeouts && opts.Timeout && !i.Expires.IsZero() {
			timeout = (i.Expires.Sub(opts.Now) + time.Second - 1).Truncate(time.Second)
			if s.MaxTimeout > 0 && timeout > s.MaxTimeout {
				timeout = s.MaxTimeout
			}
		}
		if !h.in {
			h = held{in: true, timeout: timeout, expires: i.Expires}
			continue
		}
		if h.timeout != 0 && (timeout == 0 || timeout > h.timeout) {
			h.timeout = timeout
		}
		if !h.expires.IsZero() && (i.Expires.IsZero() || i.Expires.After(h.expires)) {
			h.expires = i.Expires
		}
	}
	return h
}

// checkAddrs compares the document's view of each address with the
// brute-force answer.
func (s *Suite) checkAddrs(t *testing.T, es []Entry, inds []proxywatch.Indicator, opts export.Options, addrs []netip.Addr) {
	t.Helper()
	for _, a := range addrs {
		got, want := lookup(es, a), s.want(inds, opts, a)
		if got.in != want.in {
			t.Errorf("address %v exported = %v, want %v", a, got.in, want.in)
			continue
		}
		if !got.in {
			continue
		}
		if s.Timeouts && got.timeout != want.timeout {
			t.Errorf("address %v timeout = %v, want %v", a, got.timeout, want.timeout)
		}
		if s.Expires && !got.expires.Equal(want.expires) {
			t.Errorf("address %v expires = %v, want %v", a, got.expires, want.expires)
		}
	}
}

// addrs lists each address of the prefixes (which must be small), and
// for each prefix the address before and after it.
func addrs(ps ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ps {
		p := netip.MustParsePrefix(s)
		if prev := p.Addr().Prev(); prev.IsValid() {
			out = append(out, prev)
		}
		a := p.Addr()
		for ; p.Contains(a); a = a.Next() {
			out = append(out, a)
		}
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// Run holds s.Exporter to the export contract: the allowlist is carved
// out of every document; expired, low-confidence, unwanted-kind and
// non-address indicators are absent; the output is deterministic and
// independent of input order; an empty input gives a valid empty
// document; both families and overlapping prefixes are handled; invalid
// options and write errors are reported.
func Run(t *testing.T, s Suite) {
	t.Run("empty", func(t *testing.T) {
		_, es, st := s.export(t, nil, export.Options{Now: Now, Timeout: true})
		if len(es) != 0 || st.Entries != 0 {
			t.Errorf("Export(no indicators) = %d entries, want 0", len(es))
		}
	})
	t.Run("filters", func(t *testing.T) { s.filters(t) })
	t.Run("allowlist", func(t *testing.T) { s.allowlist(t) })
	t.Run("families and overlaps", func(t *testing.T) { s.overlaps(t) })
	t.Run("deterministic", func(t *testing.T) { s.deterministic(t) })
	t.Run("invalid options", func(t *testing.T) {
		var b bytes.Buffer
		_, err := s.Exporter.Export(&b, slices.Values([]proxywatch.Indicator{Ind("192.0.2.1", proxywatch.KindC2, 50, 0)}), export.Options{})
		if !errors.Is(err, proxywatch.ErrInvalid) || b.Len() != 0 {
			t.Errorf("Export(zero options) = %v with %d bytes, want ErrInvalid and nothing written", err, b.Len())
		}
	})
	t.Run("write error", func(t *testing.T) {
		inds := []proxywatch.Indicator{Ind("192.0.2.1", proxywatch.KindC2, 50, 0)}
		_, err := s.Exporter.Export(failWriter{}, slices.Values(inds), export.Options{Now: Now})
		if !errors.Is(err, errWrite) {
			t.Errorf("Export(failing writer) = %v, want %v", err, errWrite)
		}
	})
	t.Run("random", func(t *testing.T) { s.random(t) })
	if ct := s.Exporter.ContentType(); ct == "" {
		t.Errorf("ContentType() is empty")
	}
}

var errWrite = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func (s *Suite) filters(t *testing.T) {
	inds := []proxywatch.Indicator{
		Ind("192.0.2.1", proxywatch.KindOpenProxy, 80, time.Hour),
		Ind("192.0.2.2", proxywatch.KindOpenProxy, 80, -time.Second), // expired
		Ind("192.0.2.3", proxywatch.KindOpenProxy, 10, time.Hour),    // below confidence
		Ind("192.0.2.4", proxywatch.KindScanner, 80, time.Hour),      // unwanted kind
		Ind("example.org", proxywatch.KindOpenProxy, 80, 0),
		Ind("AS64496", proxywatch.KindOpenProxy, 80, 0),
		Ind("2001:db8::2", proxywatch.KindC2, 90, 0),
		Ind("2001:db8::3", proxywatch.KindC2, 90, -time.Hour), // expired
	}
	opts := export.Options{Now: Now, MinConfidence: 20, Timeout: true,
		Kinds: []proxywatch.Kind{proxywatch.KindOpenProxy, proxywatch.KindC2}}
	_, es, st := s.export(t, inds, opts)
	s.checkAddrs(t, es, inds, opts, addrs("192.0.2.0/29", "2001:db8::/126"))
	want := export.Stats{Indicators: 8, NotPrefix: 2, Expired: 2, BelowConfidence: 1, OtherKind: 1, Selected: 2}
	got := st
	got.Entries, got.V4, got.V6, got.Bytes = 0, 0, 0, 0
	if got != want {
		t.Errorf("Export() stats = %+v, want %+v", got, want)
	}
}

func (s *Suite) allowlist(t *testing.T) {
	inds := []proxywatch.Indicator{
		Ind("203.0.113.0/24", proxywatch.KindC2, 80, time.Hour),
		Ind("198.51.100.7", proxywatch.KindC2, 80, 0),
		Ind("2001:db8::/120", proxywatch.KindOpenProxy, 80, 2*time.Hour),
	}
	opts := export.Options{Now: Now, Timeout: true, Allowlist: []netip.Prefix{
		netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("203.0.113.7/32"),
		netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::80/121"),
	}}
	_, es, st := s.export(t, inds, opts)
	s.checkAddrs(t, es, inds, opts, addrs("203.0.113.0/24", "198.51.100.7/32", "2001:db8::/120"))
	if st.Allowlisted != 1 || st.Carved != 2 {
		t.Errorf("Export() stats allowlisted %d, carved %d, want 1 and 2", st.Allowlisted, st.Carved)
	}
}

func (s *Suite) overlaps(t *testing.T) {
	inds := []proxywatch.Indicator{
		Ind("192.0.2.0/24", proxywatch.KindOpenProxy, 60, time.Hour),
		Ind("192.0.2.0/28", proxywatch.KindOpenProxy, 60, 30*time.Minute), // inside, shorter-lived
		Ind("192.0.2.64/26", proxywatch.KindC2, 90, 0),                    // inside, permanent
		Ind("192.0.2.70", proxywatch.KindScanner, 50, 3*time.Hour),        // inside that, shorter than it
		Ind("192.0.2.200/29", proxywatch.KindC2, 90, 5*time.Hour),         // inside, longer-lived
		Ind("192.0.2.0/24", proxywatch.KindC2, 70, 2*time.Hour),           // same prefix, other kind
		Ind("2001:db8::/121", proxywatch.KindOpenProxy, 60, time.Hour),
		Ind("2001:db8::40/122", proxywatch.KindOpenProxy, 60, 90*time.Minute),
		Ind("2001:db8::80", proxywatch.KindOpenProxy, 60, 0), // adjacent, after
		Ind("255.255.255.255", proxywatch.KindOther, 60, 0),  // last address
		Ind("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", proxywatch.KindOther, 60, 4*time.Hour),
		Ind("::ffff:198.51.100.9", proxywatch.KindOther, 60, 0),       // mapped: an IPv4 address
		Ind("192.0.2.128/25", proxywatch.KindC2, 60, 40*24*time.Hour), // beyond any cap
	}
	for _, timeout := range []bool{true, false} {
		opts := export.Options{Now: Now, Timeout: timeout}
		_, es, _ := s.export(t, inds, opts)
		s.checkAddrs(t, es, inds, opts, addrs("192.0.2.0/24", "2001:db8::/120", "198.51.100.9/32",
			"255.255.255.254/31", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126"))
	}
}

func (s *Suite) deterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	inds, allow := RandomInput(r, 200)
	opts := export.Options{Now: Now, Timeout: true, Allowlist: allow}
	first, _, _ := s.export(t, inds, opts)
	for round := range 3 {
		shuffled := slices.Clone(inds)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		doc, _, _ := s.export(t, shuffled, opts)
		if !bytes.Equal(doc, first) {
			t.Fatalf("round %d: export of the same indicators in another order differs:\n%s\n---\n%s", round, first, doc)
		}
	}
}

func (s *Suite) random(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rounds := 40
	if testing.Short() {
		rounds = 5
	}
	probe := addrs(universe[0].String(), universe[1].String())
	for range rounds {
		inds, allow := RandomInput(r, 1+r.IntN(20))
		opts := export.Options{Now: Now, Timeout: r.IntN(3) > 0, Allowlist: allow, MinConfidence: uint8(r.IntN(40))}
		_, es, _ := s.export(t, inds, opts)
		s.checkAddrs(t, es, inds, opts, probe)
		if t.Failed() {
			t.Logf("input: %v\nallowlist: %v", inds, allow)
			return
		}
	}
}

// universe is where RandomInput draws prefixes from.
var universe = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/26"), netip.MustParsePrefix("2001:db8::/122")}

// RandomInput returns n indicators of random prefixes within 192.0.2.0/26
// and 2001:db8::/122, with random kinds, confidences and expiries (some
// expired, some never), and an allowlist of up to two prefixes there.
func RandomInput(r *rand.Rand, n int) ([]proxywatch.Indicator, []netip.Prefix) {
	pick := func() netip.Prefix {
		u := universe[r.IntN(2)]
		host := u.Addr().BitLen() - u.Bits()
		a := u.Addr().As16()
		a[15] |= byte(r.IntN(1 << host))
		return netip.PrefixFrom(netip.AddrFrom16(a).Unmap(), u.Bits()+r.IntN(host+1)).Masked()
	}
	kinds := proxywatch.Kinds()
	var inds []proxywatch.Indicator
	for range n {
		i := proxywatch.Indicator{Subject: proxywatch.PrefixSubject(pick()), Confidence: uint8(r.IntN(101)),
			Kind: kinds[r.IntN(len(kinds))], Source: proxywatch.Source{Feed: fmt.Sprintf("feed%d", r.IntN(3))},
			FirstSeen: Now.Add(-time.Duration(r.IntN(100)) * time.Hour)}
		switch r.IntN(4) {
		case 0: // never expires
		case 1:
			i.Expires = Now.Add(-time.Duration(r.IntN(100)) * time.Second)
		default:
			i.Expires = Now.Add(time.Duration(1+r.IntN(5)) * time.Hour)
		}
		inds = append(inds, i)
	}
	var allow []netip.Prefix
	for range r.IntN(3) {
		allow = append(allow, pick())
	}
	return inds, allow
}
