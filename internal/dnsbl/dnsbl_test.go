package dnsbl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func TestAnswer(t *testing.T) {
	s := fixtureServer(t)
	bl := func(a string) string { return reverse(a, "bl.test.") }
	px := func(a string) string { return reverse(a, "proxies.bl.test.") }
	tests := []struct {
		name  string
		qname string
		qtype uint16
		want  summary
	}{
		{"listed /24 A", bl("192.0.2.1"), dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.8"}}},
		{"listed /24 TXT", bl("192.0.2.1"), dns.TypeTXT, summary{Rcode: "NOERROR", TXT: []string{"192.0.2.1 listed: open-proxy (f1)"}}},
		{"most specific wins", bl("192.0.2.5"), dns.TypeANY, summary{Rcode: "NOERROR", A: []string{"127.0.0.20"}, TXT: []string{"192.0.2.5 listed: c2 (f2)"}}},
		{"below minimum ignored", bl("192.0.2.6"), dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.8"}}},
		{"kind priority on a tie", bl("192.0.2.7"), dns.TypeTXT, summary{Rcode: "NOERROR", TXT: []string{"192.0.2.7 listed: open-proxy (b)"}}},
		{"unlisted", bl("192.0.3.1"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"listed, other type", bl("192.0.2.1"), dns.TypeMX, summary{Rcode: "NOERROR"}},
		{"unlisted, other type", bl("192.0.3.1"), dns.TypeAAAA, summary{Rcode: "NXDOMAIN"}},
		{"allowlisted", bl("198.51.100.200"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"beside the allowlist", bl("198.51.100.1"), dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.20"}}},
		{"expired", bl("203.0.113.9"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"IPv6 /32", bl("2001:db8::5"), dns.TypeANY, summary{Rcode: "NOERROR", A: []string{"127.0.0.19"}, TXT: []string{"2001:db8::5 listed: anonymizer (v6)"}}},
		{"IPv6 /128, feed name mapped", bl("2001:db8:1::1"), dns.TypeTXT, summary{Rcode: "NOERROR", TXT: []string{"2001:db8:1::1 listed: scanner (v6_feed_)"}}},
		{"IPv6 unlisted", bl("2001:db9::1"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"IPv4-mapped asks IPv4", bl("::ffff:192.0.2.1"), dns.TypeTXT, summary{Rcode: "NOERROR", TXT: []string{"192.0.2.1 listed: open-proxy (f1)"}}},
		{"test point listed", bl("127.0.0.2"), dns.TypeANY, summary{Rcode: "NOERROR", A: []string{"127.0.0.2"}, TXT: []string{"listed: RFC 5782 test point"}}},
		{"test point unlisted", bl("127.0.0.1"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"IPv6 test point listed", bl("::ffff:127.0.0.2"), dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.2"}}},
		{"IPv6 test point unlisted", bl("::ffff:127.0.0.1"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"test point in a kind zone", px("127.0.0.2"), dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.2"}}},
		{"kind zone skips other kinds", px("192.0.2.5"), dns.TypeTXT, summary{Rcode: "NOERROR", TXT: []string{"open-proxy 192.0.2.0/24 127.0.0.8 90 http://bl.test/?192.0.2.5"}}},
		{"kind zone unlisted", px("198.51.100.1"), dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"leading zeros", "001.2.0.192.bl.test.", dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.8"}}},
		{"upper case", "1.2.0.192.BL.Test.", dns.TypeA, summary{Rcode: "NOERROR", A: []string{"127.0.0.8"}}},
		{"octet over 255", "256.2.0.192.bl.test.", dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"three labels", "2.0.192.bl.test.", dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"five labels", "1.1.2.0.192.bl.test.", dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"not a number", "a.2.0.192.bl.test.", dns.TypeA, summary{Rcode: "NXDOMAIN"}},
		{"outside the zones", "1.2.0.192.example.org.", dns.TypeA, summary{Rcode: "REFUSED"}},
		{"parent of a zone", "test.", dns.TypeA, summary{Rcode: "REFUSED"}},
		{"apex A", "bl.test.", dns.TypeA, summary{Rcode: "NOERROR"}},
		{"zone transfer", "bl.test.", dns.TypeAXFR, summary{Rcode: "NOTIMP"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(ask(t, s, tc.qname, tc.qtype))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Answer(%s %s) (-want +got):\n%s", tc.qname, dns.TypeToString[tc.qtype], diff)
			}
		})
	}
}

func TestApex(t *testing.T) {
	s := fixtureServer(t)
	m := ask(t, s, "bl.test.", dns.TypeSOA)
	if len(m.Answer) != 1 || !m.Authoritative {
		t.Fatalf("Answer(bl.test. SOA) = %v, want one authoritative SOA", m)
	}
	soa := m.Answer[0].(*dns.SOA)
	if soa.Ns != "ns1.bl.test." || soa.Mbox != "hostmaster.bl.test." || soa.Minttl != 60 || soa.Hdr.Ttl != 300 {
		t.Errorf("SOA = %v, want ns1.bl.test. hostmaster.bl.test. minimum 60 ttl 300", soa)
	}
	m = ask(t, s, "BL.test.", dns.TypeNS)
	var ns []string
	for _, rr := range m.Answer {
		ns = append(ns, rr.(*dns.NS).Ns)
		if rr.Header().Name != "BL.test." {
			t.Errorf("NS owner %q, want the question's own case", rr.Header().Name)
		}
	}
	if diff := cmp.Diff([]string{"ns1.bl.test.", "ns2.bl.test."}, ns); diff != "" {
		t.Errorf("NS (-want +got):\n%s", diff)
	}
	m = ask(t, s, "proxies.bl.test.", dns.TypeSOA)
	if soa := m.Answer[0].(*dns.SOA); soa.Hdr.Name != "proxies.bl.test." || soa.Ns != "localhost." {
		t.Errorf("SOA of a subzone = %v, want its own, primary localhost.", soa)
	}
}

func TestNegativeAnswersCarrySOA(t *testing.T) {
	s := fixtureServer(t)
	for _, tc := range []struct {
		name, qname string
		qtype       uint16
	}{
		{"NXDOMAIN", reverse("192.0.3.1", "bl.test."), dns.TypeA},
		{"no data", reverse("192.0.2.1", "bl.test."), dns.TypeAAAA},
		{"not an address", "www.proxies.bl.test.", dns.TypeA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ask(t, s, tc.qname, tc.qtype)
			if len(m.Ns) != 1 {
				t.Fatalf("Answer(%s) authority = %v, want one SOA", tc.qname, m.Ns)
			}
			soa, ok := m.Ns[0].(*dns.SOA)
			if !ok || soa.Hdr.Ttl != 60 || soa.Minttl != 60 || !m.Authoritative {
				t.Errorf("Answer(%s) authority = %v, want SOA with TTL 60, authoritative", tc.qname, m.Ns[0])
			}
		})
	}
}

func TestEDNS(t *testing.T) {
	s := fixtureServer(t)
	out := s.Answer(nil, packQuery(t, reverse("192.0.2.1", "bl.test."), dns.TypeTXT, true))
	m := new(dns.Msg)
	if err := m.Unpack(out); err != nil {
		t.Fatal(err)
	}
	opt := m.IsEdns0()
	if opt == nil || opt.UDPSize() != 1232 || !opt.Do() || opt.Version() != 0 {
		t.Errorf("Answer(EDNS0 query) OPT = %v, want size 1232, DO set, version 0", opt)
	}
	q := new(dns.Msg).SetQuestion("1.2.0.192.bl.test.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	b, _ := q.Pack()
	if err := m.Unpack(s.Answer(nil, b)); err != nil {
		t.Fatal(err)
	}
	if m.Rcode != dns.RcodeBadVers {
		t.Errorf("Answer(EDNS version 1) rcode = %s, want BADVERS", dns.RcodeToString[m.Rcode])
	}
}

func TestMalformed(t *testing.T) {
	s := fixtureServer(t)
	good := packQuery(t, reverse("192.0.2.1", "bl.test."), dns.TypeA, false)
	resp := append([]byte(nil), good...)
	resp[2] |= 0x80
	tests := []struct {
		name  string
		query []byte
		drop  bool
		rcode int
	}{
		{"empty", nil, true, 0},
		{"short header", good[:5], true, 0},
		{"a response", resp, true, 0},
		{"truncated question", good[:20], false, dns.RcodeFormatError},
		{"no question", append(append([]byte(nil), good[:4]...), 0, 0, 0, 0, 0, 0, 0, 0), false, dns.RcodeFormatError},
		{"compression loop", append(append([]byte(nil), good[:12]...), 0xc0, 12, 0, 1, 0, 1), false, dns.RcodeFormatError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := s.Answer(nil, tc.query)
			if tc.drop {
				if len(out) != 0 {
					t.Errorf("Answer(%x) = %x, want dropped", tc.query, out)
				}
				return
			}
			if len(out) < headerLen || int(out[3]&0xf) != tc.rcode || out[0] != tc.query[0] || out[1] != tc.query[1] {
				t.Errorf("Answer(%x) = %x, want rcode %d with the query's ID", tc.query, out, tc.rcode)
			}
		})
	}
}
