package truth

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch"
)

func TestFileRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	f := &File{Schema: Schema, Scenario: "x", Size: "small", Seed: 3, Start: t0, End: t0.Add(time.Hour),
		Inside: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")},
		Export: &Export{Exporter: netip.MustParseAddr("198.18.255.1"), Sampling: 100, ActiveTimeout: Duration(time.Minute)},
		Hosts: []Host{{ID: "b1", Role: proxywatch.RoleBot, Inside: true, Peers: []netip.Addr{netip.MustParseAddr("203.0.113.16")},
			Spans: []Span{{Addr: netip.MustParseAddr("198.18.0.1"), Start: t0, End: t0.Add(time.Minute), Events: 2}}}}}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"active_timeout": "1m0s"`) {
		t.Errorf("durations are not written as strings:\n%s", b.String())
	}
	got, err := ReadFile(&b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestReadFileErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"unknown field", `{"schema":1,"hosts":[],"colour":"red"}`},
		{"future schema", `{"schema":2,"hosts":[]}`},
		{"no schema", `{"hosts":[]}`},
		{"bad duration", `{"schema":1,"hosts":[],"export":{"idle_timeout":"soon"}}`},
		{"not json", `hosts`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadFile(strings.NewReader(tc.in)); err == nil {
				t.Errorf("ReadFile(%s) = nil error", tc.in)
			}
		})
	}
	_, err := ReadFile(strings.NewReader(`{"schema":7,"hosts":[]}`))
	if !errors.Is(err, proxywatch.ErrInvalid) {
		t.Errorf("ReadFile(schema 7) = %v, want ErrInvalid", err)
	}
}
