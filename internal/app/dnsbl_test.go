package app

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/dnsbl"
)

// TestServeDNSBL runs the daemon with a DNSBL zone and asks it, over UDP,
// about a listed address, an unlisted one and the RFC 5782 test point.
func TestServeDNSBL(t *testing.T) {
	cfg := testConfig(t)
	cfg.DNSBL.Enabled = true
	cfg.DNSBL.Listen = "127.0.0.1:0"
	cfg.DNSBL.Zones = []dnsbl.Zone{dnsbl.DefaultZone("bl.example.org.")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The UDP and TCP ports differ with :0; New binds both.
	a, err := New(ctx, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	a.Table().Put(proxywatch.Indicator{Subject: proxywatch.AddrSubject(netip.MustParseAddr("203.0.113.7")),
		Kind: proxywatch.KindOpenProxy, Confidence: 80, Source: proxywatch.Source{Feed: "local"}})
	server := a.Addrs()["dnsbl"].String()
	ask := func(name string) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		c := &dns.Client{Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, server)
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		return r
	}
	if r := ask("7.113.0.203.bl.example.org."); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Errorf("listed address: rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	if r := ask("1.100.51.198.bl.example.org."); r.Rcode != dns.RcodeNameError {
		t.Errorf("unlisted address: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := ask("2.0.0.127.bl.example.org."); r.Rcode != dns.RcodeSuccess {
		t.Errorf("test point 127.0.0.2: rcode %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	if r := ask("7.113.0.203.other.example."); r.Rcode != dns.RcodeRefused {
		t.Errorf("out of zone: rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
