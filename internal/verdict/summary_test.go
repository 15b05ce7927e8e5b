package verdict

import (
	"testing"
	"time"
	"unsafe"

	"github.com/proxywatch/proxywatch"
)

func TestHitSize(t *testing.T) {
	if got := unsafe.Sizeof(Hit{}); got != 16 {
		t.Errorf("unsafe.Sizeof(Hit{}) = %d, want 16", got)
	}
}

func TestKindSlots(t *testing.T) {
	for _, k := range proxywatch.Kinds() {
		if int(k) >= kindSlots {
			t.Errorf("kind %v = %d does not fit in kindSlots = %d", k, k, kindSlots)
		}
	}
}

func TestSummarize(t *testing.T) {
	mk := func(kind proxywatch.Kind, conf uint8, allow bool) Hit {
		h := hitOf(&rec{kind: kind, conf: conf, exp: never, meta: &meta{}})
		h.allow = allow
		return h
	}
	c2lo := mk(proxywatch.KindC2, 40, false)
	c2hi := mk(proxywatch.KindC2, 70, false)
	proxy := mk(proxywatch.KindOpenProxy, 90, false)
	other := mk(proxywatch.KindOther, 30, false)
	priv := mk(proxywatch.KindOther, 70, true)
	soon := hitOf(&rec{kind: proxywatch.KindC2, conf: 70, exp: time.Now().UnixNano(), meta: &meta{}})

	tests := []struct {
		name                           string
		hits                           []Hit
		min                            uint8
		listed, allowlisted, qualified bool
		maxConf                        uint8
		top                            Hit
		bestC2                         Hit
	}{
		{name: "no hits", min: 50},
		{name: "below minimum", hits: []Hit{c2lo, other}, min: 50, maxConf: 40, top: c2lo, bestC2: c2lo},
		{name: "highest confidence per kind", hits: []Hit{c2lo, c2hi}, min: 50,
			listed: true, qualified: true, maxConf: 70, top: c2hi, bestC2: c2hi},
		{name: "priority beats confidence among qualified kinds", hits: []Hit{proxy, c2lo, c2hi}, min: 50,
			listed: true, qualified: true, maxConf: 90, top: c2hi, bestC2: c2hi},
		{name: "unqualified kind does not decide", hits: []Hit{c2lo, proxy}, min: 50,
			listed: true, qualified: true, maxConf: 90, top: proxy, bestC2: c2lo},
		{name: "tie goes to the first", hits: []Hit{soon, c2hi}, min: 50,
			listed: true, qualified: true, maxConf: 70, top: soon, bestC2: soon},
		{name: "allowlisted is never listed", hits: []Hit{priv}, min: 50,
			allowlisted: true, qualified: true, maxConf: 70, top: priv},
		{name: "minimum of 100", hits: []Hit{proxy}, min: 100, maxConf: 90, top: proxy},
		{name: "zero hits skipped", hits: []Hit{{}, c2hi}, min: 50,
			listed: true, qualified: true, maxConf: 70, top: c2hi, bestC2: c2hi},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.hits, tc.min)
			if s.Listed != tc.listed || s.Allowlisted != tc.allowlisted || s.Qualified != tc.qualified || s.MaxConfidence != tc.maxConf {
				t.Errorf("Summarize(%s) = listed %v allowlisted %v qualified %v max %d, want %v %v %v %d", tc.name,
					s.Listed, s.Allowlisted, s.Qualified, s.MaxConfidence, tc.listed, tc.allowlisted, tc.qualified, tc.maxConf)
			}
			if s.Top != tc.top {
				t.Errorf("Summarize(%s).Top = %+v, want %+v", tc.name, s.Top.r, tc.top.r)
			}
			if got, _ := s.Best(proxywatch.KindC2); got != tc.bestC2 {
				t.Errorf("Summarize(%s).Best(c2) = %+v, want %+v", tc.name, got.r, tc.bestC2.r)
			}
		})
	}
}

func TestAppendBest(t *testing.T) {
	hits := []Hit{
		hitOf(&rec{kind: proxywatch.KindOther, conf: 10, meta: &meta{}}),
		hitOf(&rec{kind: proxywatch.KindOpenProxy, conf: 20, meta: &meta{}}),
		hitOf(&rec{kind: proxywatch.KindUnknown, conf: 20, meta: &meta{}}),
		hitOf(&rec{kind: proxywatch.KindC2, conf: 30, meta: &meta{}}),
		hitOf(&rec{kind: proxywatch.KindOpenProxy, conf: 50, meta: &meta{}}),
	}
	s := Summarize(hits, 50)
	var got []proxywatch.Kind
	for _, h := range s.AppendBest(nil) {
		got = append(got, h.Kind())
	}
	want := []proxywatch.Kind{proxywatch.KindC2, proxywatch.KindOpenProxy, proxywatch.KindOther, proxywatch.KindUnknown}
	if len(got) != len(want) {
		t.Fatalf("AppendBest() kinds = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("AppendBest() kinds = %v, want %v", got, want)
			break
		}
	}
	if h, _ := s.Best(proxywatch.KindOpenProxy); h.Confidence() != 50 {
		t.Errorf("Best(open-proxy).Confidence() = %d, want 50", h.Confidence())
	}
}
