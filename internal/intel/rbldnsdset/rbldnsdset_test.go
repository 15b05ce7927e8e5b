package rbldnsdset

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

type row struct {
	Subject string
	Line    int
	Section string
	Comment string
	Expires time.Time
}

type refusal struct {
	Line     int
	Reason   string
	Excluded bool
}

const (
	defIP4 = "127.0.0.2 Listed, see https://bl.example.org/lookup?$"
	defIP6 = "127.0.1.2 Listed, see http://example.com/lookup?$"
)

func TestReader(t *testing.T) {
	week := time.Date(2024, 1, 9, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		file        string
		input       string
		dataset     string
		want        []row
		wantErrs    []refusal
		wantExcl    []string
		wantTTL     time.Duration
		wantStamp   time.Time
		wantExpires time.Time
	}{
		{
			name: "ip4set",
			file: "ip4set.txt",
			want: []row{
				{"192.0.2.1/32", 7, "", defIP4, week},
				{"198.51.100.0/24", 8, "", defIP4, week},
				{"203.0.113.0/28", 9, "", defIP4, week},
				{"192.0.2.16/29", 10, "", defIP4, week},
				{"192.0.2.32/29", 11, "", defIP4, week},
				{"192.0.2.64/26", 12, "", "127.0.0.3 Open proxy $", week},
				{"192.0.2.130/32", 13, "", "127.0.0.4 Listed, see https://bl.example.org/lookup?$", week},
				{"192.0.2.131/32", 14, "", "127.0.0.5", week},
				{"192.0.2.132/32", 15, "", "127.0.0.2 Spam source", week},
				{"192.0.2.133/32", 16, "", defIP4, week},
				{"192.0.2.134/32", 17, "", "127.0.0.6 tight", week},
				{"2001:db8::/32", 24, "", defIP4, week},
			},
			wantErrs: []refusal{
				{18, intel.ReasonExclusion, true},
				{19, intel.ReasonExclusion, true},
				{20, intel.ReasonBadAddress, false},
				{21, intel.ReasonBadAddress, false},
				{22, intel.ReasonBadValue, false},
				{23, intel.ReasonBadValue, false},
				{25, intel.ReasonUnsupported, false},
				{26, intel.ReasonBadValue, false},
				{27, intel.ReasonBadAddress, false},
				{28, intel.ReasonBadAddress, false},
			},
			wantExcl:    []string{"192.0.2.65/32", "198.51.100.128/25"},
			wantTTL:     35 * time.Minute,
			wantStamp:   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			wantExpires: week,
		},
		{
			name:    "ip4set as ip4trie",
			input:   "192.0.2.0/24\n192.0.2.1-9\n198.51.100\n2001:db8::1\n",
			dataset: "ip4trie",
			want:    []row{{Subject: "192.0.2.0/24", Line: 1}, {Subject: "198.51.100.0/24", Line: 3}},
			wantErrs: []refusal{
				{2, intel.ReasonBadAddress, false},
				{4, intel.ReasonBadAddress, false},
			},
		},
		{
			name:     "ip4tset takes single addresses",
			input:    "192.0.2.1\n192.0.2.0/31\n",
			dataset:  "ip4tset",
			want:     []row{{Subject: "192.0.2.1/32", Line: 1}},
			wantErrs: []refusal{{2, intel.ReasonBadAddress, false}},
		},
		{
			name:    "ip6trie",
			file:    "ip6trie.txt",
			dataset: "ip6trie",
			want: []row{
				{Subject: "2001:db8:c000::/36", Line: 5, Comment: defIP6},
				{Subject: "2001:db8:def7:4242::/64", Line: 8, Comment: "127.0.1.3 This one smells funny"},
				{Subject: "2001:db8:42::/52", Line: 11, Comment: defIP6},
				{Subject: "::1/128", Line: 12, Comment: defIP6},
				{Subject: "192.0.2.9/32", Line: 16, Comment: defIP6},
				{Subject: "2001:db8::/48", Line: 17, Comment: "127.0.1.4 right after the length"},
			},
			wantErrs: []refusal{
				{13, intel.ReasonExclusion, true},
				{14, intel.ReasonBadAddress, false},
				{15, intel.ReasonBadAddress, false},
			},
			wantExcl: []string{"2001:db8:42::bead/128"},
		},
		{
			name: "combined",
			file: "combined.txt",
			want: []row{
				{"192.0.2.2/32", 5, "proxy", "127.0.0.2 Open proxy, see http://bl.example.org/proxy/$", time.Time{}},
				{"192.0.2.10/32", 6, "proxy", "127.0.0.2 Open proxy, see http://bl.example.org/proxy/$", time.Time{}},
				{"198.51.100.0/24", 10, "relay", "127.0.0.3 Open relay", time.Time{}},
				{"203.0.113.4/32", 17, "ip4set", "", time.Time{}},
				{"198.51.0.0/16", 18, "ip4set", "", time.Time{}},
			},
			wantErrs: []refusal{
				{11, ReasonMaxRange, false},
				{12, intel.ReasonBadAddress, false},
				{14, intel.ReasonUnsupported, false},
				{15, intel.ReasonUnsupported, false},
			},
		},
		{
			name:  "range over several prefixes and special forms",
			input: "#$TTL 1h30m\n:$TIMESTAMP 20240102 0\n192.0.2.1-6\n198.51-52\n192/8\n0.0.0.0/0\n",
			want: []row{
				{Subject: "192.0.2.1/32", Line: 3},
				{Subject: "192.0.2.2/31", Line: 3},
				{Subject: "192.0.2.4/31", Line: 3},
				{Subject: "192.0.2.6/32", Line: 3},
				{Subject: "198.51.0.0/16", Line: 4},
				{Subject: "198.52.0.0/16", Line: 4},
				{Subject: "192.0.0.0/8", Line: 5},
				{Subject: "0.0.0.0/0", Line: 6},
			},
			wantTTL:   90 * time.Minute,
			wantStamp: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		},
		{
			name:     "too long",
			input:    "192.0.2.1 " + strings.Repeat("t", intel.MaxLine) + "\n192.0.2.2\n",
			want:     []row{{Subject: "192.0.2.2/32", Line: 2}},
			wantErrs: []refusal{{1, intel.ReasonTooLong, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var params map[string]string
			if tt.dataset != "" {
				params = map[string]string{"dataset": tt.dataset}
			}
			rd, err := New(inteltest.Input(t, tt.file, tt.input), intel.Options{Name: "test", Params: params})
			if err != nil {
				t.Fatal(err)
			}
			inds, errs := inteltest.Drain(t, rd)
			var got []row
			for _, ind := range inds {
				if ind.Kind != proxywatch.KindUnknown || ind.Confidence != 0 || ind.Source.Feed != "test" {
					t.Errorf("indicator %v: kind %v confidence %d feed %q", ind.Subject, ind.Kind, ind.Confidence, ind.Source.Feed)
				}
				got = append(got, row{ind.Subject.String(), ind.Source.Line, ind.Source.Section, ind.Comment, ind.Expires})
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("indicators (-want +got):\n%s", diff)
			}
			var gotErrs []refusal
			for _, e := range errs {
				gotErrs = append(gotErrs, refusal{e.Line, e.Reason, e.Excluded})
			}
			if diff := cmp.Diff(tt.wantErrs, gotErrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("refusals (-want +got):\n%s", diff)
			}
			var excl []string
			for _, p := range rd.Exclusions() {
				excl = append(excl, p.String())
			}
			if diff := cmp.Diff(tt.wantExcl, excl, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Exclusions() (-want +got):\n%s", diff)
			}
			if rd.TTL() != tt.wantTTL {
				t.Errorf("TTL() = %v, want %v", rd.TTL(), tt.wantTTL)
			}
			if stamp, expires := rd.Timestamp(); !stamp.Equal(tt.wantStamp) || !expires.Equal(tt.wantExpires) {
				t.Errorf("Timestamp() = %v, %v, want %v, %v", stamp, expires, tt.wantStamp, tt.wantExpires)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	tests := []struct {
		params  map[string]string
		wantErr bool
	}{
		{nil, false},
		{map[string]string{"dataset": "IP6Trie"}, false},
		{map[string]string{"dataset": "dnset"}, true},
		{map[string]string{"zone": "bl.example.org"}, true},
	}
	for _, tt := range tests {
		rd, err := NewReader(strings.NewReader(""), intel.Options{Params: tt.params})
		if (err != nil) != tt.wantErr || (err == nil) == (rd == nil) {
			t.Errorf("NewReader(params %v) = %v, %v, want error %v", tt.params, rd, err, tt.wantErr)
		}
	}
}

func TestParsers(t *testing.T) {
	stamps := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2005:01:02", time.Date(2005, 1, 2, 0, 0, 0, 0, time.UTC), true},
		{"2005-01-02-12", time.Date(2005, 1, 2, 12, 0, 0, 0, time.UTC), true},
		{"200501021230", time.Date(2005, 1, 2, 12, 30, 0, 0, time.UTC), true},
		{"2005:01:02:12:30:59", time.Date(2005, 1, 2, 12, 30, 59, 0, time.UTC), true},
		{"-", time.Time{}, true},
		{"2005:13:02", time.Time{}, false},
		{"2005", time.Time{}, false},
	}
	for _, tt := range stamps {
		got, err := parseStamp(tt.in)
		if !got.Equal(tt.want) || (err == nil) != tt.ok {
			t.Errorf("parseStamp(%q) = %v, %v, want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	durations := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"300", 300 * time.Second, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"5x", 0, false},
		{"", 0, false},
		{"h", 0, false},
	}
	for _, tt := range durations {
		got, err := parseDuration(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseDuration(%q) = %v, %v, want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	ranges := []struct {
		in     string
		lo, hi string
		ok     bool
	}{
		{"127.0.0.0/24", "127.0.0.0", "127.0.0.255", true},
		{"127.0.0", "127.0.0.0", "127.0.0.255", true},
		{"127/24", "127.0.0.0", "127.0.0.255", true},
		{"127.0.0.0-127.0.0.255", "127.0.0.0", "127.0.0.255", true},
		{"127.0.0.1-255", "127.0.0.1", "127.0.0.255", true},
		{"127.16.0.0-127.31.255.255", "127.16.0.0", "127.31.255.255", true},
		{"127.16.0-127.31.255", "127.16.0.0", "127.31.255.255", true},
		{"127.16-127.31", "127.16.0.0", "127.31.255.255", true},
		{"127.16-31", "127.16.0.0", "127.31.255.255", true},
		{"127.16.0-31", "127.16.0.0", "127.16.31.255", true},
		{"127.16/12", "127.16.0.0", "127.31.255.255", true},
		{"10-20", "10.0.0.0", "20.255.255.255", true},
		{"127-127.0.0", "", "", false}, // rbldnsd refuses mixed lengths
		{"1.2-1.2.3.4", "", "", false},
		{"127", "", "", false},
		{"256.0.0.0", "", "", false},
		{"1.2.3.4/33", "", "", false},
	}
	for _, tt := range ranges {
		lo, hi, _, rest, err := parseIP4(tt.in)
		if (err == nil) != tt.ok || err == nil && (addr4(lo).String() != tt.lo || addr4(hi).String() != tt.hi || rest != "") {
			t.Errorf("parseIP4(%q) = %v-%v rest %q, %v, want %s-%s ok %v", tt.in, addr4(lo), addr4(hi), rest, err, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestAppendPrefixes4(t *testing.T) {
	// Every range is covered exactly: the prefixes are adjacent, in
	// order, and span lo to hi.
	for _, r := range [][2]uint32{{0, 0}, {0, ^uint32(0)}, {1, ^uint32(0) - 1}, {5, 1000}, {0xC0000201, 0xC0000206}} {
		ps := appendPrefixes4(nil, r[0], r[1])
		next := uint64(r[0])
		for _, p := range ps {
			a := p.Addr().As4()
			start := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
			if start != next || !p.IsValid() || p.Masked() != p {
				t.Fatalf("appendPrefixes4(%d, %d) = %v: %v does not start at %d", r[0], r[1], ps, p, next)
			}
			next = start + 1<<(32-p.Bits())
		}
		if next != uint64(r[1])+1 {
			t.Errorf("appendPrefixes4(%d, %d) = %v, ends at %d", r[0], r[1], ps, next-1)
		}
	}
}
