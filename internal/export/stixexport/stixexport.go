// Package stixexport writes indicators as a STIX 2.1 bundle of indicator
// objects, for threat-intelligence platforms.
//
// Each object stands for one prefix and kind: the indicators of
// [export.Select] (allowlist carved, sorted) that share both are merged,
// taking the highest confidence, the earliest first-seen time, the latest
// expiry (none if one never expires) and the union of feeds and tags. The
// object has
//
//   - id "indicator--" and a UUIDv5 of the prefix and kind ([ID]), so that
//     every export names the same listing with the same id;
//   - pattern "[ipv4-addr:value = '192.0.2.0/24']" (ipv6-addr for IPv6; a
//     single address written bare), pattern_type "stix";
//   - valid_from: the first-seen time, or Options.Now when it is unknown
//     or not before the expiry; valid_until: the expiry rounded up to the
//     millisecond, absent if none;
//   - created: the earlier of valid_from and Options.Now; modified:
//     Options.Now;
//   - confidence (absent when 0), indicator_types from the kind
//     ("anonymization" for anonymizer, "compromised" for malware-host,
//     "malicious-activity" otherwise), labels: the kind's name, then the
//     tags; name: "KIND PREFIX"; x_proxywatch_feeds: the feeds.
//
// The bundle's id is a UUIDv5 of its objects' ids and Options.Now, so the
// same export gives the same bytes. Objects are written one per line.
// Options.Timeout is ignored. Read back by the stix reader, an export
// gives the same subjects, kinds, confidences, first-seen times and
// expiries (times to the millisecond).
package stixexport

import (
	"crypto/sha1"
	"encoding/json"
	"io"
	"iter"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
)

// Exporter writes STIX bundles. The zero Exporter is ready to use.
type Exporter struct{}

var _ export.Exporter = Exporter{}

// ContentType returns the media type of a STIX 2.1 bundle.
func (Exporter) ContentType() string { return "application/stix+json;version=2.1" }

// object is a STIX 2.1 indicator as written.
type object struct {
	Type           string   `json:"type"`
	SpecVersion    string   `json:"spec_version"`
	ID             string   `json:"id"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
	Name           string   `json:"name"`
	IndicatorTypes []string `json:"indicator_types"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	PatternVersion string   `json:"pattern_version"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until,omitempty"`
	Confidence     uint8    `json:"confidence,omitempty"`
	Labels         []string `json:"labels"`
	Feeds          []string `json:"x_proxywatch_feeds,omitempty"`
}

// stamp is the STIX timestamp layout: UTC, millisecond precision.
const stamp = "2006-01-02T15:04:05.000Z"

// Export writes the bundle for inds; see the package documentation and
// [export.Exporter].
func (Exporter) Export(w io.Writer, inds iter.Seq[proxywatch.Indicator], opts export.Options) (export.Stats, error) {
	sel, st, err := export.Select(inds, opts)
	if err != nil {
		return st, err
	}
	merged := merge(sel)
	now := opts.Now.UTC()
	objs := make([]object, len(merged))
	h := sha1.New()
	for i := range merged {
		objs[i] = newObject(&merged[i], now)
		h.Write([]byte(objs[i].ID))
		if merged[i].ind.Subject.Prefix.Addr().Is4() {
			st.V4++
		} else {
			st.V6++
		}
	}
	h.Write([]byte(now.Format(time.RFC3339Nano)))
	st.Entries = len(objs)
	bw := export.NewWriter(w)
	bw.WriteString(`{"type":"bundle","id":"bundle--` + uuid5(namespace, string(h.Sum(nil))) + `","objects":[`)
	for i := range objs {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		b, err := json.Marshal(&objs[i])
		if err != nil {
			return st, err
		}
		bw.Write(b)
	}
	bw.WriteString("\n]}\n")
	st.Bytes, err = bw.Finish()
	return st, err
}

// listing is the merge of the selected indicators of one prefix and kind.
type listing struct {
	ind   proxywatch.Indicator // Subject, Kind, Confidence, FirstSeen, Expires merged
	feeds []string
	tags  []string
}

// merge merges sel, sorted by export.Compare, by prefix and kind.
func merge(sel []proxywatch.Indicator) []listing {
	var out []listing
	for i := range sel {
		ind := &sel[i]
		if n := len(out); n > 0 && out[n-1].ind.Subject == ind.Subject && out[n-1].ind.Kind == ind.Kind {
			l := &out[n-1]
			l.ind.Confidence = max(l.ind.Confidence, ind.Confidence)
			if !ind.FirstSeen.IsZero() && (l.ind.FirstSeen.IsZero() || ind.FirstSeen.Before(l.ind.FirstSeen)) {
				l.ind.FirstSeen = ind.FirstSeen
			}
			if !l.ind.Expires.IsZero() && (ind.Expires.IsZero() || ind.Expires.After(l.ind.Expires)) {
				l.ind.Expires = ind.Expires
			}
			l.feeds = append(l.feeds, ind.Source.Feed)
			l.tags = append(l.tags, ind.Tags...)
			continue
		}
		out = append(out, listing{ind: *ind, feeds: []string{ind.Source.Feed}, tags: slices.Clone(ind.Tags)})
	}
	for i := range out {
		l := &out[i]
		slices.Sort(l.feeds)
		l.feeds = slices.Compact(l.feeds)
		slices.Sort(l.tags)
		l.tags = slices.Compact(l.tags)
	}
	return out
}

func newObject(l *listing, now time.Time) object {
	ind := &l.ind
	p := ind.Subject.Prefix
	value, typ := p.String(), "ipv4-addr"
	if p.IsSingleIP() {
		value = p.Addr().String()
	}
	if !p.Addr().Is4() {
		typ = "ipv6-addr"
	}
	validFrom := now
	if f := ind.FirstSeen; !f.IsZero() && (ind.Expires.IsZero() || f.Before(ind.Expires)) {
		validFrom = f.UTC()
	}
	created := validFrom
	if now.Before(created) {
		created = now
	}
	o := object{
		Type:           "indicator",
		SpecVersion:    "2.1",
		ID:             ID(p, ind.Kind),
		Created:        created.Format(stamp),
		Modified:       now.Format(stamp),
		Name:           ind.Kind.String() + " " + p.String(),
		IndicatorTypes: []string{indicatorType(ind.Kind)},
		Pattern:        "[" + typ + ":value = '" + value + "']",
		PatternType:    "stix",
		PatternVersion: "2.1",
		ValidFrom:      validFrom.Format(stamp),
		Confidence:     ind.Confidence,
		Labels:         append([]string{ind.Kind.String()}, l.tags...),
	}
	if !ind.Expires.IsZero() {
		// Rounded up to the millisecond, so that it stays after
		// valid_from, which is truncated to it.
		o.ValidUntil = ceilMilli(ind.Expires).Format(stamp)
	}
	for _, f := range l.feeds {
		if f != "" {
			o.Feeds = append(o.Feeds, f)
		}
	}
	return o
}

// ceilMilli returns t in UTC rounded up to a whole millisecond.
func ceilMilli(t time.Time) time.Time {
	t = t.UTC()
	if tr := t.Truncate(time.Millisecond); tr.Before(t) {
		return tr.Add(time.Millisecond)
	}
	return t
}

// indicatorType maps a kind to STIX's indicator-type-ov vocabulary. The
// stix reader takes a kind from the first of indicator_types and labels
// that names one, so the type must name no other kind than ind's.
func indicatorType(k proxywatch.Kind) string {
	switch k {
	case proxywatch.KindAnonymizer:
		return "anonymization"
	case proxywatch.KindMalwareHost:
		return "compromised"
	}
	return "malicious-activity"
}
