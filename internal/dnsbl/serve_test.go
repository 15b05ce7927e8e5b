package dnsbl

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// serve runs s on fresh loopback sockets until the test ends and returns
// the UDP and TCP addresses.
func serve(t *testing.T, s *Server) (udp, tcp string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v, want nil after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return pc.LocalAddr().String(), ln.Addr().String()
}

func exchange(t *testing.T, net, addr, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 2 * time.Second}
	m := new(dns.Msg).SetQuestion(name, qtype)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

func TestServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	s, err := New(cfg, Deps{Table: newTable(t, fixture(), fixtureAllow), MinConfidence: 50, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp := serve(t, s)
	for _, tc := range []struct{ net, addr string }{{"udp", udp}, {"tcp", tcp}} {
		t.Run(tc.net, func(t *testing.T) {
			r, err := exchange(t, tc.net, tc.addr, reverse("192.0.2.5", "bl.test."), dns.TypeANY)
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(r)
			if got.Rcode != "NOERROR" || len(got.A) != 1 || got.A[0] != "127.0.0.20" || len(got.TXT) != 1 {
				t.Errorf("%s: 5.2.0.192.bl.test ANY = %+v, want 127.0.0.20 and a TXT", tc.net, got)
			}
			r, err = exchange(t, tc.net, tc.addr, "example.org.", dns.TypeA)
			if err != nil || r.Rcode != dns.RcodeRefused {
				t.Errorf("%s: example.org A = %v, %v; want REFUSED", tc.net, r, err)
			}
		})
	}
	if got := testutil.ToFloat64(s.met.queries[transportUDP][rcodeIndex(dns.RcodeRefused)][qtypeIndex(dns.TypeA)]); got != 1 {
		t.Errorf("queries_total{udp,REFUSED,A} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.met.queries[transportTCP][0][qtypeIndex(dns.TypeANY)]); got != 1 {
		t.Errorf("queries_total{tcp,NOERROR,ANY} = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "proxywatch_dnsbl_request_duration_seconds"); err != nil || n != 1 {
		t.Errorf("latency histogram series = %d, %v; want 1", n, err)
	}
}

func TestServeAccessList(t *testing.T) {
	cfg := testConfig()
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	s := newServer(t, cfg, newTable(t, fixture(), fixtureAllow))
	udp, tcp := serve(t, s)
	c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	if r, _, err := c.Exchange(new(dns.Msg).SetQuestion("bl.test.", dns.TypeSOA), udp); err == nil {
		t.Errorf("UDP query from a client outside the access list = %v, want it dropped", r)
	}
	r, err := exchange(t, "tcp", tcp, "bl.test.", dns.TypeSOA)
	if err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("TCP query from a client outside the access list = %v, %v; want REFUSED", r, err)
	}
	if got := testutil.ToFloat64(s.met.refusedACL); got != 2 {
		t.Errorf("refused_total{acl} = %v, want 2", got)
	}
}

func TestServeRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = RateLimit{Rate: 5, Slip: 2, Prefixes: 64}
	s := newServer(t, cfg, newTable(t, fixture(), fixtureAllow))
	udp, _ := serve(t, s)
	conn, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := packQuery(t, reverse("192.0.2.1", "bl.test."), dns.TypeTXT, false)
	const sent = 40
	for range sent {
		if _, err := conn.Write(q); err != nil {
			t.Fatal(err)
		}
	}
	full, truncated := 0, 0
	buf := make([]byte, 1500)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		if buf[2]&0x02 != 0 {
			truncated++
		} else if n > len(q) {
			full++
		}
	}
	// A burst of one second's worth (5, plus the first), then every second
	// response over the limit slips through truncated.
	if full < 5 || full > 8 || truncated < 10 || truncated > (sent-full)/2+1 {
		t.Errorf("%d queries at once, rate 5, slip 2: %d full and %d truncated answers, want about 6 and 17", sent, full, truncated)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(RateLimit{Rate: 10, Slip: 3, Prefixes: 64})
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.200") // same /24
	other := netip.MustParseAddr("198.51.100.1")
	now := int64(1e18)
	pass := 0
	for range 11 {
		if l.check(a, now) == rrlPass {
			pass++
		}
	}
	if pass != 11 {
		t.Fatalf("11 responses at once, rate 10: %d passed, want 11 (the burst)", pass)
	}
	want := []int{rrlDrop, rrlDrop, rrlSlip, rrlDrop, rrlDrop, rrlSlip}
	for i, w := range want {
		if got := l.check(b, now); got != w {
			t.Errorf("check #%d over the limit = %d, want %d", i+1, got, w)
		}
	}
	if got := l.check(other, now); got != rrlPass {
		t.Errorf("check(another /24) = %d, want pass", got)
	}
	if got := l.check(a, now+int64(200*time.Millisecond)); got != rrlPass {
		t.Errorf("check after 200ms at rate 10 = %d, want pass", got)
	}
	// A flood of prefixes stays within the table.
	for i := range 100000 {
		l.check(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 1}), now)
	}
	if len(l.slots) != 64 {
		t.Errorf("slots = %d after a flood, want 64", len(l.slots))
	}
	v6a := netip.MustParseAddr("2001:db8:0:1::1")
	v6b := netip.MustParseAddr("2001:db8:0:ff::2") // same /56
	if prefixKey(v6a) != prefixKey(v6b) || prefixKey(v6a) == prefixKey(netip.MustParseAddr("2001:db8:0:100::1")) {
		t.Error("prefixKey does not group IPv6 clients by /56")
	}
}
