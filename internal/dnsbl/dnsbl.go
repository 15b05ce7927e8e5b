// Package dnsbl serves the verdict table as a DNS block list (DNSBL), the
// way mail servers, IRC servers and resolver-based checks already ask
// DroneBL or Spamhaus: the address 192.0.2.7 is asked as
// 7.2.0.192.<zone>, an IPv6 address by its 32 reversed nibbles (RFC
// 5782), and a listed address answers 127.0.0.x, x saying what it is
// (proxywatch.DNSBLCode), with a TXT record giving the reason and source.
//
// Each configured zone serves some kinds of indicator. Among the
// indicators that cover an address, reach the minimum confidence and are
// of a kind the zone serves, the most specific prefix answers; ties
// between indicators of one prefix go by proxywatch.CompareDNSBL. An
// allowlisted address is never listed. The RFC 5782 test points
// (127.0.0.2 listed, 127.0.0.1 not, and ::FFFF:7F00:2 / ::FFFF:7F00:1)
// answer from the zone alone. docs/dnsbl.md describes the answers.
//
// The server answers UDP and TCP. Over UDP, ordinary in-zone questions
// take a hand-written path that reads the query and writes the answer in
// place without allocating; everything else, and all of TCP, goes through
// github.com/miekg/dns. A DNSBL with TXT answers is a UDP amplifier, so the
// server has an access list and response-rate limiting per client prefix.
//
// It does not load or change the table: it only reads it.
package dnsbl

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/verdict"
)

// Table is what the server looks addresses up in. *verdict.Table
// satisfies it.
type Table interface {
	Lookup(addr netip.Addr, dst []verdict.Hit) []verdict.Hit
	LookupAt(addr netip.Addr, now time.Time, dst []verdict.Hit) []verdict.Hit
}

// Deps holds what a Server needs besides its Config.
type Deps struct {
	// Table is looked up for every address query. Required.
	Table Table
	// MinConfidence is the confidence an indicator needs to list an
	// address (verdict.Config.MinConfidence.DNSBL), 1 to 100.
	MinConfidence uint8
	// Logger receives the server's rare log lines; nil discards them.
	Logger *slog.Logger
	// Registerer receives the proxywatch_dnsbl_* metrics; nil keeps them
	// unregistered.
	Registerer prometheus.Registerer
	// Now, when set, gives the time at which indicators' expiry is tested
	// (Table.LookupAt); when nil the table's own clock is used
	// (Table.Lookup). Tests freeze the clock with it.
	Now func() time.Time
}

// A Server answers DNSBL queries. Make one with New and run it with
// Serve. Answer and Serve are safe for concurrent use.
type Server struct {
	cfg     Config
	table   Table
	minConf uint8
	now     func() time.Time
	log     *slog.Logger
	met     *metrics
	zones   []zone
	allow   []netip.Prefix
	rrl     *limiter // nil when rate limiting is off
	pool    sync.Pool
	lastLog atomic.Int64 // unix nanoseconds of the last sampled log line
}

// A zone is a configured zone, ready to answer.
type zone struct {
	name     string // lower-case, fully qualified
	wire     []byte // name in lower-case wire form
	kinds    uint64 // bit k set when kind k is served
	ttl      uint32
	negTTL   uint32
	txt      proxywatch.DNSBLTemplate
	ns       []string // fully qualified
	mbox     string
	serial   uint32
	soaRdata []byte // uncompressed SOA RDATA
}

// SOA timers, in seconds. Secondaries of a DNSBL usually rsync the data
// instead of transferring the zone; these values are what rbldnsd's
// operators commonly publish.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 604800
)

// New returns a server for cfg. It validates cfg and allocates; it starts
// nothing.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Table == nil {
		return nil, fmt.Errorf("dnsbl: no table: %w", proxywatch.ErrInvalid)
	}
	if deps.MinConfidence < 1 || deps.MinConfidence > proxywatch.MaxConfidence {
		return nil, fmt.Errorf("dnsbl: min confidence %d: %w", deps.MinConfidence, proxywatch.ErrInvalid)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, table: deps.Table, minConf: deps.MinConfidence, now: deps.Now,
		log: log, met: met, allow: normalizePrefixes(cfg.Allow),
	}
	serial := uint32(time.Now().Unix())
	for _, zc := range cfg.Zones {
		z, err := newZone(zc, serial)
		if err != nil {
			return nil, err
		}
		s.zones = append(s.zones, z)
	}
	if cfg.RateLimit.Rate > 0 {
		s.rrl = newLimiter(cfg.RateLimit)
	}
	s.pool.New = func() any { return s.newResponder() }
	return s, nil
}

func newZone(zc Zone, serial uint32) (zone, error) {
	z := zone{
		name:   strings.ToLower(zc.Name),
		ttl:    uint32(zc.TTL / time.Second),
		negTTL: uint32(zc.NegativeTTL / time.Second),
		mbox:   strings.ToLower(zc.Hostmaster),
		serial: serial,
	}
	var err error
	if z.txt, err = proxywatch.ParseDNSBLTemplate(zc.TXT); err != nil {
		return zone{}, err
	}
	if z.wire, err = packName(z.name); err != nil {
		return zone{}, fmt.Errorf("zone %q: %w", zc.Name, err)
	}
	if len(zc.Kinds) == 0 {
		z.kinds = ^uint64(0)
	}
	for _, k := range zc.Kinds {
		z.kinds |= 1 << (k & 63)
	}
	for _, ns := range zc.Nameservers {
		z.ns = append(z.ns, strings.ToLower(ns))
	}
	if len(z.ns) == 0 {
		z.ns = []string{"localhost."}
	}
	if z.mbox == "" {
		z.mbox = "hostmaster." + z.name
	}
	mname, err := packName(z.ns[0])
	if err != nil {
		return zone{}, fmt.Errorf("zone %q: nameserver: %w", zc.Name, err)
	}
	rname, err := packName(z.mbox)
	if err != nil {
		return zone{}, fmt.Errorf("zone %q: hostmaster: %w", zc.Name, err)
	}
	z.soaRdata = append(append(z.soaRdata, mname...), rname...)
	for _, v := range []uint32{z.serial, soaRefresh, soaRetry, soaExpire, z.negTTL} {
		z.soaRdata = binary.BigEndian.AppendUint32(z.soaRdata, v)
	}
	return z, nil
}

// serves reports whether the zone answers indicators of kind k.
func (z *zone) serves(k proxywatch.Kind) bool { return z.kinds&(1<<(k&63)) != 0 }

// packName returns the lower-case wire form of the fully qualified name n.
func packName(n string) ([]byte, error) {
	buf := make([]byte, maxName+1)
	off, err := dns.PackDomainName(dns.Fqdn(strings.ToLower(n)), buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return buf[:off], nil
}

func normalizePrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// allowed reports whether client may query.
func (s *Server) allowed(client netip.Addr) bool {
	if len(s.allow) == 0 {
		return true
	}
	client = client.Unmap()
	return slices.ContainsFunc(s.allow, func(p netip.Prefix) bool { return p.Contains(client) })
}

// Answer appends to dst the response to the DNS query message query, as
// the server sends it over UDP, and returns the extended slice; it
// returns dst unchanged when the query is to be dropped (a response, or a
// message too short to answer). It applies neither the access list nor
// rate limiting, which are per client. An ordinary in-zone question is
// answered without allocating when dst has room for the response (512
// bytes, or the EDNS0 size).
func (s *Server) Answer(dst, query []byte) []byte {
	r := s.pool.Get().(*responder)
	out := r.answer(dst, query)
	s.pool.Put(r)
	return out
}
