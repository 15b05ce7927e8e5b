package authwatch

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/window"
)

// service is the state of one login service: its evidence, its learned
// baseline of new failing sources, the recent candidates, and its open
// campaign.
type service struct {
	name string
	idx  int

	bucket    int64 // seconds
	k         int   // buckets per window
	lag       int64 // buckets at the end of the history left out of the baseline
	minHist   int64 // buckets of history needed before the baseline is trusted
	confirmed *window.Buckets
	marked    *window.Buckets // buckets spent in a campaign, kept out of the baseline
	first     int64           // first bucket seen, -1 before
	ticked    int64           // last bucket closed
	threshold int
	sums      []int // scratch for the quantile

	cands candRing
	camp  *campaign

	recent  [recentEvents]proxywatch.Event
	recentN int
}

func newService(name string, idx int, cfg CampaignConfig) *service {
	b := int64(max(cfg.Bucket.Seconds(), 1))
	n := int(int64(cfg.History.Seconds())/b) + 1
	s := &service{
		name: name, idx: idx, bucket: b, k: int(int64(cfg.Window.Seconds()) / b),
		minHist:   int64(cfg.MinHistory.Seconds()) / b,
		lag:       max(int64(cfg.Lookback.Seconds()), int64(cfg.Window.Seconds())) / b,
		confirmed: window.NewBuckets(b, n), marked: window.NewBuckets(b, n),
		first: -1, ticked: -1, threshold: math.MaxInt32,
	}
	s.cands.init(cfg.MaxCandidates)
	return s
}

// candRing keeps the latest confirmed new failing sources.
type candRing struct {
	buf []pending
	n   int // pushed so far
	cap int
}

func (r *candRing) init(capacity int) { r.cap = max(capacity, 1) }

func (r *candRing) push(p pending) {
	if len(r.buf) < r.cap {
		r.buf = append(r.buf, p)
	} else {
		r.buf[r.n%r.cap] = p
	}
	r.n++
}

// since returns the candidates at or after t, oldest first.
func (r *candRing) since(t uint32) []pending {
	var out []pending
	k := min(r.n, len(r.buf))
	for i := k; i >= 1; i-- {
		p := r.buf[(r.n-i)%len(r.buf)]
		if p.t >= t {
			out = append(out, p)
		}
	}
	return out
}

// A campaign is one detected surge on a service and its participants.
type campaign struct {
	id       string
	serial   uint32
	svc      *service
	detected uint32
	start    uint32 // first participant's attempt
	last     uint32 // last participant's attempt
	lastJoin uint32 // when the last participant joined (event time)

	members  *window.LRU[[16]byte, member]
	prefixes map[netip.Prefix]int // participants folded out of members
	asns     map[uint32]int       // participants folded out of prefixes
	folded   int                  // participants folded out of both

	spread    *spreadCounter
	users     *window.HLL
	userList  []string
	sample    []string
	total     int
	invalid   int
	failures  int64
	successes int64

	alertID    string       // the ID the next alert will carry; decisions cite it
	fresh      []netip.Addr // participants since the last alert, bounded
	freshStart uint32
	freshEnd   uint32
	freshMore  int // participants since the last alert beyond the bound
	alerts     int
}

// member is what a campaign keeps per participant.
type member struct {
	t       uint32
	invalid bool
}

// tick closes the buckets of svc up to now: it learns the baseline, sends
// the open campaign's update alert, and closes a campaign that has gone
// quiet.
func (w *Watch) tick(s *service, now uint32) {
	nb := floorDiv(int64(now), s.bucket)
	if s.first < 0 {
		s.first, s.ticked = nb, nb-1
	}
	last := nb - 1 // the newest closed bucket
	if last <= s.ticked {
		return
	}
	if last-s.ticked > int64(s.confirmed.Len()) {
		s.ticked = last - int64(s.confirmed.Len())
	}
	for b := s.ticked + 1; b <= last; b++ {
		s.confirmed.Advance(b * s.bucket)
		s.marked.Advance(b * s.bucket)
		if c := s.camp; c != nil {
			s.marked.Add(b*s.bucket, 1)
			end := uint32((b + 1) * s.bucket)
			w.flushCampaign(c, end)
			quiet := end >= c.lastJoin+dur(w.cfg.Campaign.Linger) && int(s.confirmed.Sum(b, s.k)) < s.threshold
			if quiet || end >= c.detected+dur(w.cfg.Campaign.MaxDuration) {
				w.closeCampaign(s, end)
			}
		}
		s.threshold = s.learn(b, w.cfg.Campaign)
	}
	s.ticked = last
}

// learn returns the surge threshold after bucket b closed: MinSources, or
// Factor × the Quantile of the window counts in the history (leaving out
// windows that touch a campaign, and the last Lookback, so that a surge
// not yet detected cannot raise its own bar) + Margin, whichever is
// higher. Until MinHistory has been seen (beyond the Lookback left out)
// it returns a threshold no count reaches: at the start every source is
// new.
func (s *service) learn(b int64, cfg CampaignConfig) int {
	b -= s.lag
	if b-s.first+1 < max(s.minHist, int64(s.k)) {
		return math.MaxInt32
	}
	s.sums = s.sums[:0]
	k := int64(s.k)
	lo := max(s.first+k-1, b-int64(s.confirmed.Len())+k) // the first full window still in the ring
	var sum, marks uint64
	for x := lo - k + 1; x <= lo; x++ {
		sum += uint64(s.confirmed.Get(x))
		marks += uint64(s.marked.Get(x))
	}
	for end := lo; end <= b; end++ {
		if end > lo {
			sum += uint64(s.confirmed.Get(end))
			sum -= uint64(s.confirmed.Get(end - k))
			marks += uint64(s.marked.Get(end))
			marks -= uint64(s.marked.Get(end - k))
		}
		if marks == 0 {
			s.sums = append(s.sums, int(sum))
		}
	}
	if len(s.sums) == 0 {
		return cfg.MinSources
	}
	slices.Sort(s.sums)
	q := s.sums[min(len(s.sums)-1, int(math.Ceil(cfg.Quantile*float64(len(s.sums))))-1)]
	return max(cfg.MinSources, int(math.Ceil(cfg.Factor*float64(q)))+cfg.Margin)
}

// confirm counts a failure that no success followed within Forgive as a
// new failing source, and opens or grows a campaign.
func (w *Watch) confirm(p pending, now uint32) {
	if st, ok := w.ips.Peek(p.addr); ok {
		st.waiting &^= 1 << p.svc
		if st.succ >= p.t {
			return // an honest typo: the success forgave it
		}
		st.counted |= 1 << p.svc
	}
	w.stats.NewFailing++
	s := w.svcs[p.svc]
	s.confirmed.Add(int64(p.t), 1)
	s.cands.push(p)
	if s.camp != nil {
		w.join(s.camp, p, now)
		return
	}
	if int(s.confirmed.Sum(floorDiv(int64(now), s.bucket), s.k)) >= s.threshold {
		w.openCampaign(s, now)
	}
}

// openCampaign starts a campaign on s at now, with the new failing
// sources of the lookback as its first participants.
func (w *Watch) openCampaign(s *service, now uint32) {
	cfg := w.cfg.Campaign
	w.serial++
	c := &campaign{
		id: "c-" + s.name + "-" + strconv.FormatUint(uint64(now), 36), serial: w.serial, svc: s, detected: now,
		prefixes: map[netip.Prefix]int{}, asns: map[uint32]int{},
		spread: newSpreadCounter(), users: window.NewHLL(10),
	}
	c.members = window.NewLRU[[16]byte, member](cfg.MaxMembers, func(k [16]byte, _ *member) { w.fold(c, window.KeyAddr(k)) })
	c.alertID = w.ids.alert("campaign", at(now))
	s.camp = c
	w.stats.Campaigns++
	for _, p := range s.cands.since(sub(now, dur(cfg.Lookback))) {
		w.join(c, p, now)
	}
	w.flushCampaign(c, now)
}

// join makes the source of p a participant of c and proposes its
// decision: a ban when it tried an unknown user or a targeted account, a
// challenge otherwise.
func (w *Watch) join(c *campaign, p pending, now uint32) {
	if _, ok := c.members.Peek(p.addr); ok {
		return
	}
	st, _ := w.ips.Peek(p.addr)
	if st != nil && st.flags&flagVolume != 0 {
		return // a brute forcer, decided as one already
	}
	m, _ := c.members.Put(p.addr)
	m.t, m.invalid = p.t, p.invalid
	addr := window.KeyAddr(p.addr)
	if st != nil {
		st.camp = c.serial
	}
	c.total++
	w.stats.Participants++
	if c.start == 0 || p.t < c.start {
		c.start = p.t
	}
	c.last, c.lastJoin = max(c.last, p.t), now
	c.failures++
	c.spread.add(w, addr)
	if p.user != "" {
		c.users.Add(window.HashString(p.user))
		if len(c.userList) < 16 && !slices.Contains(c.userList, p.user) {
			c.userList = append(c.userList, p.user)
		}
	}
	if len(c.sample) < w.cfg.Sample {
		c.sample = append(c.sample, pendingEvidence(&p, c.svc.name))
	}
	if len(c.fresh) == 0 && c.freshMore == 0 {
		c.freshStart = p.t
	}
	c.freshStart, c.freshEnd = min(c.freshStart, p.t), max(c.freshEnd, p.t)
	if len(c.fresh) < w.cfg.Subjects {
		c.fresh = append(c.fresh, addr)
	} else {
		c.freshMore++
	}
	action, reason := proxywatch.ActionChallenge, "new-failing-source"
	switch {
	case p.invalid:
		c.invalid++
		action, reason = proxywatch.ActionBan, "new-failing-source,invalid-user"
	case w.targeted(int(p.svc), p.user, w.cfg.Campaign.TargetedBy, now):
		action, reason = proxywatch.ActionBan, "new-failing-source,targeted-account"
	}
	w.decide(st, addr, action, "campaign", reason, c.alertID, proxywatch.KindResidentialProxy, now)
}

// fold keeps count of a participant evicted from a full member table: by
// prefix, then by ASN, then only in the total. The participant was decided
// on when it joined; only its identification here degrades.
func (w *Watch) fold(c *campaign, a netip.Addr) {
	w.stats.MembersFolded++
	p := prefixOf(a)
	if _, ok := c.prefixes[p]; ok || len(c.prefixes) < w.cfg.Campaign.MaxPrefixes {
		c.prefixes[p]++
		return
	}
	if w.deps.Enrich != nil {
		if asn := w.deps.Enrich(a).ASN; asn != 0 {
			if _, ok := c.asns[asn]; ok || len(c.asns) < w.cfg.Campaign.MaxASNs {
				c.asns[asn]++
				return
			}
		}
	}
	c.folded++
}

// flushCampaign sends the alert naming the participants that joined since
// the last one.
func (w *Watch) flushCampaign(c *campaign, now uint32) {
	if len(c.fresh) == 0 && c.freshMore == 0 {
		return
	}
	a := w.campaignAlert(c, now)
	a.ID = c.alertID
	a.Subjects = make([]proxywatch.Subject, len(c.fresh))
	for i, ad := range c.fresh {
		a.Subjects[i] = proxywatch.AddrSubject(ad)
	}
	a.Start, a.End = at(c.freshStart), at(c.freshEnd)
	a.Counts["new_participants"] = int64(len(c.fresh) + c.freshMore)
	if c.alerts == 0 {
		a.Reasons = append(a.Reasons, "surge-detected")
	}
	c.alerts++
	w.emitAlert(&a)
	c.fresh, c.freshMore = c.fresh[:0], 0
	c.alertID = w.ids.alert("campaign", at(now))
}

// closeCampaign sends the remaining participants and a closing summary,
// and ends the campaign.
func (w *Watch) closeCampaign(s *service, now uint32) {
	c := s.camp
	if c == nil {
		return
	}
	w.flushCampaign(c, now)
	a := w.campaignAlert(c, now)
	a.ID = c.alertID
	a.Subjects = []proxywatch.Subject{}
	a.Severity = proxywatch.SeverityMedium
	a.Reasons = append(a.Reasons, "campaign-ended")
	a.Labels["state"] = "ended"
	w.emitAlert(&a)
	s.camp = nil
}

// campaignAlert builds the common part of a campaign's alerts.
func (w *Watch) campaignAlert(c *campaign, now uint32) proxywatch.Alert {
	spread := c.spread.spread()
	a := proxywatch.Alert{
		Detector: "campaign", Severity: proxywatch.SeverityHigh,
		Time: at(now), Start: at(c.start), End: at(c.last), Service: c.svc.name,
		Users:   slices.Clone(c.userList),
		Reasons: []string{fmt.Sprintf("new-failing-sources>=%d/%s", c.svc.threshold, shortDur(w.cfg.Campaign.Window))},
		Counts: map[string]int64{
			"participants": int64(c.total), "failures": c.failures, "successes": c.successes,
			"invalid_user_participants": int64(c.invalid), "users": int64(c.users.Count()),
			"threshold": int64(c.svc.threshold),
		},
		Spread: spread,
		Sample: slices.Clone(c.sample),
		Labels: map[string]string{"campaign": c.id, "state": "open"},
		Summary: fmt.Sprintf("%s: %d never-seen sources failing in a surge (threshold %d per %s)",
			c.svc.name, c.total, c.svc.threshold, shortDur(w.cfg.Campaign.Window)),
	}
	if n := len(c.prefixes) + len(c.asns); n > 0 {
		a.Counts["folded_prefixes"] = int64(len(c.prefixes))
		a.Counts["folded_asns"] = int64(len(c.asns))
		a.Counts["folded_other"] = int64(c.folded)
		a.Reasons = append(a.Reasons, "members-folded")
	}
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
