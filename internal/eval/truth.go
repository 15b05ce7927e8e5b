package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/truth"
)

// tspan is a time an address played a role; zero times mean always.
type tspan struct{ start, end time.Time }

// key is the answer key in the form scoring needs.
type key struct {
	kind, scenario string
	roles          map[proxywatch.Role]map[netip.Addr][]tspan
	lookalikes     map[netip.Addr]bool
}

func (k *key) addRole(role proxywatch.Role, a netip.Addr, s tspan) {
	a = a.Unmap()
	if role == proxywatch.RoleBenignLookalike {
		k.lookalikes[a] = true
		return
	}
	m := k.roles[role]
	if m == nil {
		m = map[netip.Addr][]tspan{}
		k.roles[role] = m
	}
	m[a] = append(m[a], s)
}

// extend widens the single span of (role, a) to cover t, for keys built
// from labelled flows.
func (k *key) extend(role proxywatch.Role, a netip.Addr, t time.Time) {
	m := k.roles[role]
	if m == nil {
		m = map[netip.Addr][]tspan{}
		k.roles[role] = m
	}
	a = a.Unmap()
	sp := m[a]
	if len(sp) == 0 {
		m[a] = []tspan{{t, t}}
		return
	}
	if t.Before(sp[0].start) {
		sp[0].start = t
	}
	if t.After(sp[0].end) {
		sp[0].end = t
	}
}

// labelLine is one line of a labelled-address or labelled-flow file.
type labelLine struct {
	truth.AddrLabel
	TS      time.Time       `json:"ts"`
	UID     string          `json:"uid"`
	Src     netip.Addr      `json:"src"`
	SrcPort uint16          `json:"src_port"`
	Dst     netip.Addr      `json:"dst"`
	DstPort uint16          `json:"dst_port"`
	Proto   string          `json:"proto"`
	Label   string          `json:"label"`
	SrcRole proxywatch.Role `json:"src_role"`
	DstRole proxywatch.Role `json:"dst_role"`
	Detail  string          `json:"detail"`
}

// readTruth reads any of the three key forms; labelled flows are scored
// against x as they stream past.
func readTruth(r io.Reader, x *index, opts Options) (*key, *FlowScore, error) {
	k := &key{roles: map[proxywatch.Role]map[netip.Addr][]tspan{}, lookalikes: map[netip.Addr]bool{}}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &ParseError{"truth", 1, errors.New("empty")}
		}
		return nil, nil, &ParseError{"truth", 1, err}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(first, &probe); err != nil {
		return nil, nil, &ParseError{"truth", 1, err}
	}
	if _, ok := probe["hosts"]; ok {
		f, err := truth.ReadFile(bytes.NewReader(first))
		if err != nil {
			return nil, nil, err
		}
		if dec.More() {
			return nil, nil, &ParseError{"truth", 2, errors.New("data after the truth file's object")}
		}
		k.kind, k.scenario = "scenario", f.Scenario
		for _, h := range f.Hosts {
			for _, s := range h.Spans {
				k.addRole(h.Role, s.Addr, tspan{s.Start, s.End})
			}
		}
		return k, nil, nil
	}
	k.kind = "labels"
	var fs *FlowScore
	raw := first
	for n := 1; ; n++ {
		var l labelLine
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&l); err != nil {
			return nil, nil, &ParseError{"truth", n, err}
		}
		switch {
		case l.Addr.IsValid():
			if l.Role == "" {
				return nil, nil, &ParseError{"truth", n, errors.New("address label without a role")}
			}
			if l.Role != "benign" {
				k.addRole(l.Role, l.Addr, tspan{l.Start, l.End})
			}
		case l.Src.IsValid() && l.Dst.IsValid():
			if fs == nil {
				fs = &FlowScore{}
				k.kind = "flows"
			}
			if err := scoreFlow(fs, k, x, &l, opts); err != nil {
				return nil, nil, &ParseError{"truth", n, err}
			}
		default:
			return nil, nil, &ParseError{"truth", n, errors.New("neither an address label (addr) nor a flow label (src, dst)")}
		}
		raw = nil
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, &ParseError{"truth", n + 1, err}
		}
	}
	if fs != nil {
		fs.Precision = ratio(fs.TP, fs.TP+fs.FP)
		fs.Recall = ratio(fs.TP, fs.TP+fs.FN)
		fs.F1 = f1(fs.Precision, fs.Recall)
	}
	return k, fs, nil
}

func scoreFlow(fs *FlowScore, k *key, x *index, l *labelLine, opts Options) error {
	mal := false
	switch l.Label {
	case truth.LabelMalicious:
		mal = true
	case truth.LabelBenign:
	default:
		return fmt.Errorf("label %q: want %q or %q", l.Label, truth.LabelBenign, truth.LabelMalicious)
	}
	if mal {
		if l.SrcRole != "" {
			k.extend(l.SrcRole, l.Src, l.TS)
		}
		if l.DstRole != "" {
			k.extend(l.DstRole, l.Dst, l.TS)
		}
	}
	s := tspan{l.TS, l.TS}
	flagged := x.flagged(l.Src.Unmap(), s, opts) || x.flagged(l.Dst.Unmap(), s, opts)
	fs.Flows++
	switch {
	case mal && flagged:
		fs.Malicious++
		fs.TP++
	case mal:
		fs.Malicious++
		fs.FN++
	case flagged:
		fs.FP++
	default:
		fs.TN++
	}
	return nil
}

// flagged reports whether any record with a bad role names a at the time
// of s.
func (x *index) flagged(a netip.Addr, s tspan, opts Options) bool {
	for role, m := range x.addrs {
		if role == proxywatch.RoleBenignLookalike {
			continue
		}
		for _, e := range m[a] {
			if e.matches(s, opts) {
				return true
			}
		}
	}
	for role, es := range x.prefixes {
		if role == proxywatch.RoleBenignLookalike {
			continue
		}
		for _, e := range es {
			if e.prefix.Contains(a) && e.allowed(opts) && e.matches(s, opts) {
				return true
			}
		}
	}
	return false
}
