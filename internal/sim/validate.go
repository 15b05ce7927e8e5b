package sim

import (
	"errors"
	"fmt"
	"time"
)

// Validate reports every problem in s, each prefixed with its YAML path.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...)))
	}
	share := func(path string, v float64) {
		if v < 0 || v > 1 {
			bad(path, "%v: must be between 0 and 1", v)
		}
	}
	if s.Name == "" {
		bad("name", "must be set")
	}
	if s.Start.IsZero() {
		bad("start", "must be set")
	}
	// The exporter boots a day before the start; NetFlow v9's 32-bit
	// millisecond uptime wraps after 49.7 days.
	if s.Duration < time.Hour || s.Duration > 45*24*time.Hour {
		bad("duration", "%s: must be between 1h and 45 days", s.Duration)
	}
	if s.Small.Scale <= 0 || s.Small.Scale > 1 {
		bad("small.scale", "%v: must be in (0, 1]", s.Small.Scale)
	}
	if s.Small.Duration < time.Hour || s.Small.Duration > s.Duration {
		bad("small.duration", "%s: must be between 1h and duration", s.Small.Duration)
	}
	share("network.ipv6", s.Network.IPv6)
	share("network.churn.share", s.Network.Churn.Share)
	if s.Network.Churn.Share > 0 && s.Network.Churn.MeanLease < time.Hour {
		bad("network.churn.mean_lease", "%s: must be at least 1h", s.Network.Churn.MeanLease)
	}
	share("network.cgnat.share", s.Network.CGNAT.Share)
	if s.Network.CGNAT.Share > 0 && (s.Network.CGNAT.PerAddr < 2 || s.Network.CGNAT.PerAddr > 64) {
		bad("network.cgnat.per_addr", "%d: must be between 2 and 64", s.Network.CGNAT.PerAddr)
	}
	h := s.Hosts
	for _, c := range []struct {
		path string
		n    int
	}{{"hosts.pc", h.PC}, {"hosts.iot", h.IoT}, {"hosts.router", h.Router}, {"hosts.server", h.Server}} {
		if c.n < 0 {
			bad(c.path, "%d: must not be negative", c.n)
		}
	}
	if n := h.PC + h.IoT + h.Router + h.Server; n > maxInsideHosts {
		bad("hosts", "%d hosts: at most %d fit the inside address plan", n, maxInsideHosts)
	}
	if h.Sites < 10 || h.Sites > maxSites {
		bad("hosts.sites", "%d: must be between 10 and %d", h.Sites, maxSites)
	}
	for _, r := range []struct {
		path string
		v    float64
	}{{"hosts.rates.pc", h.Rates.PC}, {"hosts.rates.iot", h.Rates.IoT}, {"hosts.rates.router", h.Rates.Router}, {"hosts.rates.server", h.Rates.Server}} {
		if r.v < 0 || r.v > 100000 {
			bad(r.path, "%v: must be between 0 and 100000", r.v)
		}
	}
	errs = append(errs, s.Botnet.validate()...)
	errs = append(errs, s.Logins.validate(s.Botnet.Kind)...)
	l := s.Lookalikes
	for _, c := range []struct {
		path string
		n    int
	}{{"lookalikes.ntp", l.NTP}, {"lookalikes.update", l.Update}, {"lookalikes.monitor", l.Monitor},
		{"lookalikes.home_server", l.HomeServer}, {"lookalikes.vpn", l.VPN}, {"lookalikes.office_nat", l.OfficeNAT}} {
		if c.n < 0 || c.n > 1000 {
			bad(c.path, "%d: must be between 0 and 1000", c.n)
		}
	}
	e := s.Export
	if e.Sampling < 1 || e.Sampling > 1000 {
		bad("export.sampling", "%d: must be between 1 and 1000", e.Sampling)
	}
	if e.ActiveTimeout < time.Second || e.ActiveTimeout > time.Hour {
		bad("export.active_timeout", "%s: must be between 1s and 1h", e.ActiveTimeout)
	}
	if e.IdleTimeout < time.Second || e.IdleTimeout > e.ActiveTimeout {
		bad("export.idle_timeout", "%s: must be between 1s and active_timeout", e.IdleTimeout)
	}
	if e.ClockSkew < -24*time.Hour || e.ClockSkew > 24*time.Hour {
		bad("export.clock_skew", "%s: must be within 24h", e.ClockSkew)
	}
	if e.TemplateEvery < 1 {
		bad("export.template_every", "%d: must be at least 1", e.TemplateEvery)
	}

	return errors.Join(errs...)
}

func (b *Botnet) validate() []error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("botnet.%s: %s", path, fmt.Sprintf(format, a...)))
	}
	switch b.Kind {
	case "none":
		return nil
	case "5socks", "nsocks":
	default:
		bad("kind", "%q: must be 5socks, nsocks or none", b.Kind)
		return errs
	}
	if b.Bots < 1 {
		bad("bots", "%d: must be at least 1", b.Bots)
	}
	for _, c := range []struct {
		path string
		v    float64
	}{{"router_share", b.RouterShare}, {"initial", b.Initial}, {"cleaned", b.Cleaned},
		{"c2.jitter", b.C2.Jitter}, {"collector.jitter", b.Collector.Jitter}, {"relay.failed", b.Relay.Failed}} {
		if c.v < 0 || c.v > 1 {
			bad(c.path, "%v: must be between 0 and 1", c.v)
		}
	}
	if b.C2.Servers < 1 || b.C2.Servers > maxC2 {
		bad("c2.servers", "%d: must be between 1 and %d", b.C2.Servers, maxC2)
	}
	if b.C2.Port == 0 {
		bad("c2.port", "must be set")
	}
	if b.C2.Beacon < 10*time.Second {
		bad("c2.beacon", "%s: must be at least 10s", b.C2.Beacon)
	}
	if b.C2.Pin[0] < time.Hour || b.C2.Pin[1] < b.C2.Pin[0] {
		bad("c2.pin", "[%s, %s]: must be at least 1h and ordered", b.C2.Pin[0], b.C2.Pin[1])
	}
	if b.Collector.Enabled {
		if b.Collector.Port == 0 {
			bad("collector.port", "must be set")
		}
		if b.Collector.Interval < 10*time.Second {
			bad("collector.interval", "%s: must be at least 10s", b.Collector.Interval)
		}
		if b.Collector.Bytes[0] < 1 || b.Collector.Bytes[1] < b.Collector.Bytes[0] || b.Collector.Bytes[1] > 1400 {
			bad("collector.bytes", "%v: must be ordered, between 1 and 1400", b.Collector.Bytes)
		}
	}
	r := b.Relay
	if r.PerDay[0] < 0 || r.PerDay[1] < r.PerDay[0] || r.PerDay[1] > 100000 {
		bad("relay.per_day", "%v: must be ordered, between 0 and 100000", r.PerDay)
	}
	if r.Delay[0] <= 0 || r.Delay[1] < r.Delay[0] || r.Delay[1] > 10*time.Second {
		bad("relay.delay", "[%s, %s]: must be positive, ordered and at most 10s", r.Delay[0], r.Delay[1])
	}
	if r.Customers < 1 {
		bad("relay.customers", "%d: must be at least 1", r.Customers)
	}
	if b.Kind == "nsocks" {
		bc := b.Backconnect
		if bc.Servers < 1 || bc.Servers > maxBackconnect {
			bad("backconnect.servers", "%d: must be between 1 and %d", bc.Servers, maxBackconnect)
		}
		if bc.Port == 0 {
			bad("backconnect.port", "must be set")
		}
		if bc.Session[0] < time.Minute || bc.Session[1] < bc.Session[0] {
			bad("backconnect.session", "[%s, %s]: must be at least 1m and ordered", bc.Session[0], bc.Session[1])
		}
		if bc.Keepalive < time.Second {
			bad("backconnect.keepalive", "%s: must be at least 1s", bc.Keepalive)
		}
	}
	return errs
}

func (l *Logins) validate(botnet string) []error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, fmt.Errorf("logins.%s: %s", path, fmt.Sprintf(format, a...)))
	}
	for _, svc := range []struct {
		name string
		s    LoginService
	}{{"ssh", l.SSH}, {"web", l.Web}} {
		if svc.s.Users < 0 {
			bad(svc.name+".users", "%d: must not be negative", svc.s.Users)
		}
		for _, c := range []struct {
			path string
			v    float64
		}{{"password", svc.s.Password}, {"typo", svc.s.Typo}, {"wrong_user", svc.s.WrongUser}, {"inside", svc.s.Inside}} {
			if c.v < 0 || c.v > 1 {
				bad(svc.name+"."+c.path, "%v: must be between 0 and 1", c.v)
			}
		}
		if svc.s.PerDay < 0 || svc.s.PerDay > 1000 || svc.s.PageViews < 0 || svc.s.PageViews > 10000 {
			bad(svc.name, "per_day and page_views must be between 0 and 1000 (10000)")
		}
	}
	if l.NewSources < 0 || l.NewSources > 1 {
		bad("new_sources", "%v: must be between 0 and 1", l.NewSources)
	}
	bf := l.BruteForce
	if bf.Enabled {
		if bf.At < 0 || bf.At >= 1 {
			bad("bruteforce.at", "%v: must be in [0, 1)", bf.At)
		}
		if bf.Duration < time.Minute {
			bad("bruteforce.duration", "%s: must be at least 1m", bf.Duration)
		}
		if bf.Gap[0] <= 0 || bf.Gap[1] < bf.Gap[0] {
			bad("bruteforce.gap", "%v: must be positive and ordered", bf.Gap)
		}
		if bf.Guesses[0] < 1 || bf.Guesses[1] < bf.Guesses[0] || bf.Guesses[1] > 6 {
			bad("bruteforce.guesses", "%v: must be ordered, between 1 and 6", bf.Guesses)
		}
	}
	for i, c := range l.Campaigns {
		p := fmt.Sprintf("campaigns[%d].", i)
		if c.Service != "web" && c.Service != "ssh" {
			bad(p+"service", "%q: must be web or ssh", c.Service)
		}
		if c.At < 0 || c.At >= 1 {
			bad(p+"at", "%v: must be in [0, 1)", c.At)
		}
		if c.Duration < time.Minute {
			bad(p+"duration", "%s: must be at least 1m", c.Duration)
		}
		if c.Participants < 1 {
			bad(p+"participants", "%d: must be at least 1", c.Participants)
		}
		if c.OutsideShare < 0 || c.OutsideShare > 1 || c.Known < 0 || c.Known > 1 || c.Success < 0 || c.Success > 1 {
			bad(p[:len(p)-1], "outside_share, known and success must be between 0 and 1")
		}
		if botnet == "none" && c.OutsideShare < 1 {
			bad(p+"outside_share", "%v: must be 1 when botnet.kind is none (no inside proxies)", c.OutsideShare)
		}
		if c.Attempts[0] < 1 || c.Attempts[1] < c.Attempts[0] || c.Attempts[1] > 100 {
			bad(p+"attempts", "%v: must be ordered, between 1 and 100", c.Attempts)
		}
		if c.Accounts < 1 {
			bad(p+"accounts", "%d: must be at least 1", c.Accounts)
		}
	}
	return errs
}
