package dnsbl

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// queryCorpus returns queries over every shape the fast path takes and
// some it leaves to miekg: listed, unlisted, test points, IPv6, kind
// zones, other types, EDNS0 with and without options, out of zone.
func queryCorpus(t testing.TB) [][]byte {
	t.Helper()
	var names []string
	for _, a := range []string{"192.0.2.1", "192.0.2.5", "192.0.2.7", "192.0.3.1", "198.51.100.1", "198.51.100.200",
		"127.0.0.2", "127.0.0.1", "2001:db8::5", "2001:db8:1::1", "::ffff:127.0.0.2", "203.0.113.9"} {
		names = append(names, reverse(a, "bl.test."), reverse(a, "proxies.bl.test."))
	}
	names = append(names, "bl.test.", "proxies.bl.test.", "x.bl.test.", "1.2.0.192.example.org.", "001.2.0.192.BL.TEST.",
		"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.a.b.c.d.e.f.bl.test.")
	var out [][]byte
	for _, n := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeANY, dns.TypeMX, dns.TypeSOA, dns.TypeNS, dns.TypeAXFR} {
			for variant := range 4 {
				m := new(dns.Msg).SetQuestion(n, qt)
				m.Id = uint16(len(out))
				m.RecursionDesired = variant%2 == 0
				m.CheckingDisabled = variant == 3
				if variant >= 2 {
					m.SetEdns0(uint16(512+variant*600), variant == 3)
				}
				if variant == 3 {
					m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0123456789abcdef"})
				}
				b, err := m.Pack()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
		}
	}
	return out
}

// compareFast answers q by both paths and reports a difference. It
// returns whether the fast path answered.
func compareFast(t testing.TB, r *responder, q []byte) bool {
	t.Helper()
	fast, _, ok := r.fast(nil, q)
	if !ok {
		return false
	}
	fast = append([]byte(nil), fast...)
	if err := new(dns.Msg).Unpack(q); err != nil {
		return true // the fast path is more lenient with what it skips (EDNS0 option contents)
	}
	slow := r.slow(nil, q)
	fm, sm := new(dns.Msg), new(dns.Msg)
	if err := fm.Unpack(fast); err != nil {
		t.Fatalf("fast(%x) = %x: unpack: %v", q, fast, err)
	}
	if err := sm.Unpack(slow); err != nil {
		t.Fatalf("slow(%x) = %x: unpack: %v", q, slow, err)
	}
	if diff := cmp.Diff(sm.String(), fm.String()); diff != "" {
		t.Errorf("query %x: miekg path (-) and fast path (+) differ:\n%s", q, diff)
	}
	return true
}

func TestFastMatchesMiekg(t *testing.T) {
	s := fixtureServer(t)
	r := s.newResponder()
	fast := 0
	for _, q := range queryCorpus(t) {
		if compareFast(t, r, q) {
			fast++
		}
	}
	// Mutated copies exercise the checks that send a query to miekg.
	rng := rand.New(rand.NewPCG(1, 2))
	corpus := queryCorpus(t)
	for range 20000 {
		q := append([]byte(nil), corpus[rng.IntN(len(corpus))]...)
		for range 1 + rng.IntN(3) {
			q[rng.IntN(len(q))] = byte(rng.IntN(256))
		}
		if compareFast(t, r, q) {
			fast++
		}
	}
	if fast < 500 {
		t.Errorf("the fast path answered %d queries, want it to take the ordinary ones", fast)
	}
}

func TestFastDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, which then allocate")
	}
	s := fixtureServer(t)
	for _, a := range []string{"192.0.2.5", "192.0.3.1", "2001:db8::5"} {
		q := packQuery(t, reverse(a, "bl.test."), dns.TypeTXT, true)
		dst := make([]byte, 0, 1500)
		if n := testing.AllocsPerRun(100, func() { s.Answer(dst, q) }); n != 0 {
			t.Errorf("Answer(%s TXT) allocates %v times, want 0", a, n)
		}
	}
}

func FuzzAnswer(f *testing.F) {
	for _, q := range queryCorpus(f) {
		f.Add(q)
	}
	s := fixtureServer(f)
	r := s.newResponder()
	f.Fuzz(func(t *testing.T, q []byte) {
		out := s.Answer(nil, q)
		if len(out) > 0 {
			if len(out) < headerLen || out[0] != q[0] || out[1] != q[1] || out[2]&0x80 == 0 {
				t.Fatalf("Answer(%x) = %x: not a response to the query", q, out)
			}
			if len(out) > 512 && len(q) > headerLen && q[11] == 0 {
				t.Fatalf("Answer(%x) is %d bytes without EDNS0, want at most 512", q, len(out))
			}
		}
		compareFast(t, r, q)
	})
}
