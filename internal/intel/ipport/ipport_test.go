package ipport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

type row struct {
	Subject string
	Line    int
	Port    uint16
	Proto   string
	Tags    []string
	Comment string
}

type refusal struct {
	Line     int
	Reason   string
	Excluded bool
}

func TestReader(t *testing.T) {
	clarketmTags := func(tags ...string) []string { return tags }
	tests := []struct {
		name     string
		file     string
		input    string
		params   map[string]string
		want     []row
		wantErrs []refusal
	}{
		{
			name: "mixed",
			file: "mixed.txt",
			want: []row{
				{Subject: "192.0.2.10/32", Line: 2, Port: 8080},
				{Subject: "2001:db8::10/128", Line: 3, Port: 1080},
				{Subject: "192.0.2.11/32", Line: 4, Port: 1080, Proto: "socks5"},
				{Subject: "192.0.2.12/32", Line: 5, Port: 3128, Proto: "http", Tags: []string{TagAuth}},
				{Subject: "proxy.example.org", Line: 6, Port: 8080, Comment: "named proxy"},
				{Subject: "192.0.2.13/32", Line: 7},
				{Subject: "2001:db8::13/128", Line: 8},
				{Subject: "198.51.100.7/32", Line: 9, Port: 4145, Proto: "socks4", Comment: "seen twice"},
				{Subject: "203.0.113.18/32", Line: 16, Port: 8118},
			},
			wantErrs: []refusal{
				{Line: 10, Reason: intel.ReasonBadPort},
				{Line: 11, Reason: intel.ReasonBadPort},
				{Line: 12, Reason: intel.ReasonUnsupported},
				{Line: 13, Reason: intel.ReasonBadAddress},
				{Line: 14, Reason: intel.ReasonBadAddress},
				{Line: 15, Reason: intel.ReasonBadAddress},
			},
		},
		{
			name:   "proto param for scheme-less lines",
			input:  "192.0.2.1:1080\nhttp://192.0.2.2:80\n",
			params: map[string]string{"proto": "SOCKS5"},
			want: []row{
				{Subject: "192.0.2.1/32", Line: 1, Port: 1080, Proto: "socks5"},
				{Subject: "192.0.2.2/32", Line: 2, Port: 80, Proto: "http"},
			},
		},
		{
			name: "clarketm annotated list",
			file: "clarketm.txt",
			want: []row{
				{"192.0.2.20/32", 5, 999, "http", clarketmTags("cc:CO", "anonymity:none", TagHTTPS, TagExitDiffers, TagGooglePassed), ""},
				{"192.0.2.21/32", 6, 80, "http", clarketmTags("cc:HK", "anonymity:anonymous", TagGooglePassed), ""},
				{"198.51.100.22/32", 7, 8000, "http", clarketmTags("cc:TH", "anonymity:high"), ""},
				{"203.0.113.23/32", 8, 3128, "http", clarketmTags("cc:US", "anonymity:high", TagHTTPS), ""},
				{"203.0.113.24/32", 9, 8080, "", nil, "XX-Q +"},
			},
			wantErrs: []refusal{
				{1, ReasonProse, true}, {2, ReasonProse, true}, {3, ReasonProse, true}, {11, ReasonProse, true},
			},
		},
		{
			name: "clarketm status list",
			file: "status.txt",
			want: []row{
				{"192.0.2.30/32", 1, 80, "", []string{"status:failure"}, ""},
				{"192.0.2.31/32", 2, 8080, "", []string{"status:success"}, ""},
				{"192.0.2.32/32", 3, 0, "", []string{"status:success"}, ""},
			},
			wantErrs: []refusal{{5, ReasonProse, true}, {7, ReasonProse, true}},
		},
		{
			name: "monosans-shaped json",
			file: "proxies.json",
			want: []row{
				{"192.0.2.40/32", 1, 7890, "socks4", nil, "exits via 198.51.100.40"},
				{"198.51.100.40/32", 1, 0, "", []string{TagProxyExit, "asn:64496", "cc:NL"}, "exit address of socks4 proxy 192.0.2.40:7890"},
				{"192.0.2.41/32", 2, 8080, "http", []string{"asn:64497", "cc:SE"}, ""},
				{"2001:db8::42/128", 3, 1080, "socks5", []string{TagAuth}, "exits via 2001:db8::43"},
				{"2001:db8::43/128", 3, 0, "", []string{TagProxyExit}, "exit address of socks5 proxy [2001:db8::42]:1080"},
				{"203.0.113.44/32", 4, 1080, "socks5", nil, ""},
				{"192.0.2.46/32", 6, 80, "http", nil, ""},
				{"192.0.2.47/32", 8, 80, "http", nil, ""},
			},
			wantErrs: []refusal{
				{Line: 5, Reason: intel.ReasonBadPort},
				{Line: 6, Reason: intel.ReasonBadAddress},
				{Line: 7, Reason: intel.ReasonEmptyRecord},
				{Line: 9, Reason: intel.ReasonSyntax},
				{Line: 10, Reason: intel.ReasonBadPort},
			},
		},
		{
			name:  "json object stream with byte order mark",
			input: "\ufeff {\"host\":\"192.0.2.50\",\"port\":3128}\n{\"ip\":\"192.0.2.51\",\"port\":80,\"protocol\":\"HTTPS\"}\n",
			want: []row{
				{Subject: "192.0.2.50/32", Line: 1, Port: 3128},
				{Subject: "192.0.2.51/32", Line: 2, Port: 80, Proto: "https"},
			},
		},
		{
			name:     "too long line",
			input:    "192.0.2.1:80 " + strings.Repeat("x", intel.MaxLine) + "\n192.0.2.2:80\n",
			want:     []row{{Subject: "192.0.2.2/32", Line: 2, Port: 80}},
			wantErrs: []refusal{{Line: 1, Reason: intel.ReasonTooLong}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(inteltest.Input(t, tt.file, tt.input), intel.Options{Name: "test", Params: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			inds, errs := inteltest.Drain(t, rd)
			var got []row
			for _, ind := range inds {
				if ind.Kind != proxywatch.KindOpenProxy || ind.Source.Feed != "test" {
					t.Errorf("indicator %v: kind %v feed %q, want open-proxy, %q", ind.Subject, ind.Kind, ind.Source.Feed, "test")
				}
				got = append(got, row{ind.Subject.String(), ind.Source.Line, ind.Port, ind.Proto, ind.Tags, ind.Comment})
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
		})
	}
}

func TestReaderFinalErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		good  int // indicators before the final error
	}{
		{"truncated array", `[{"host":"192.0.2.1","port":80},{"host":"192.0`, 1},
		{"broken element", `[{"host":"192.0.2.1","port":80},{"host":}]`, 1},
		{"element too large", `[{"host":"192.0.2.1","port":80},{"comment":"` + strings.Repeat("a", 2*maxElement) + `"}]`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tt.input), intel.Options{Name: "test"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.good {
				if _, err := rd.Read(); err != nil {
					t.Fatalf("Read() #%d = %v, want an indicator", i+1, err)
				}
			}
			_, err = rd.Read()
			var pe *intel.ParseError
			if err == nil || err == io.EOF || errors.As(err, &pe) {
				t.Fatalf("Read() = %v, want a final error", err)
			}
			if _, again := rd.Read(); again == nil || again.Error() != err.Error() {
				t.Errorf("Read() after final error = %v, want %v again", again, err)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	for _, p := range []map[string]string{{"proto": "gopher"}, {"asn": "true"}} {
		if _, err := NewReader(strings.NewReader(""), intel.Options{Params: p}); err == nil {
			t.Errorf("NewReader(params %v) = nil error, want an error", p)
		}
	}
}

var endpointToken = regexp.MustCompile(`\b(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\b`)

// TestRealFiles reads the proxy lists in ../shared/data/blocklists.
// Expected counts, derived outside the reader:
//
//	proxy-list-raw.txt, proxies/*.txt: grep -c '' FILE (one entry a line)
//	proxy-list.txt:        grep -cE '^[0-9.]+:[0-9]+ ' (400); the other
//	                       6 non-blank lines are the header (5) and footer
//	proxy-list-status.txt: grep -cE '^[0-9.]+:[0-9]+ => (success|failure)$'
//	                       (400); "SUCCESS rate:" and "FAILURE rate:" remain
//	proxies.json:          python3 -c 'import json; d=json.load(open("proxies.json"));
//	                       print(len(d), sum(p["exit_ip"] != p["host"] for p in d))'
//	                       gives 492 proxies and 136 distinct exit addresses
func TestRealFiles(t *testing.T) {
	tests := []struct {
		file     string
		params   map[string]string
		accepted int
		prose    int
	}{
		{file: "clarketm-proxy-list/proxy-list-raw.txt", accepted: 400},
		{file: "clarketm-proxy-list/proxy-list.txt", accepted: 400, prose: 6},
		{file: "clarketm-proxy-list/proxy-list-status.txt", accepted: 400, prose: 2},
		{file: "monosans-proxy-list/proxies/all.txt", accepted: 492},
		{file: "monosans-proxy-list/proxies/socks5.txt", params: map[string]string{"proto": "socks5"}, accepted: 79},
		{file: "monosans-proxy-list/proxies.json", accepted: 492 + 136},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := itest.Data(t, filepath.Join("blocklists", tt.file))
			rd := inteltest.OpenReader(t, NewReader, path, tt.params)
			inds, errs := inteltest.Drain(t, rd)
			prose := 0
			for _, e := range errs {
				if e.Excluded && e.Reason == ReasonProse {
					prose++
				} else {
					t.Errorf("read %s: %v", tt.file, e)
				}
			}
			if len(inds) != tt.accepted || prose != tt.prose {
				t.Errorf("read %s: %d accepted, %d prose, want %d and %d", tt.file, len(inds), prose, tt.accepted, tt.prose)
			}
			type key struct {
				subject proxywatch.Subject
				port    uint16
			}
			got := map[key]bool{}
			for _, ind := range inds {
				got[key{ind.Subject, ind.Port}] = true
			}
			var want []key
			if strings.HasSuffix(path, ".json") {
				for _, ap := range jsonEndpoints(t, path) {
					want = append(want, key{proxywatch.AddrSubject(ap.Addr()), ap.Port()})
				}
			} else {
				sc := bufio.NewScanner(inteltest.Open(t, path))
				for sc.Scan() {
					for _, m := range endpointToken.FindAllString(sc.Text(), -1) {
						ap := netip.MustParseAddrPort(m)
						want = append(want, key{proxywatch.AddrSubject(ap.Addr()), ap.Port()})
					}
				}
			}
			for _, k := range want {
				if !got[k] {
					t.Errorf("read %s: %v port %d is in the file but not read", tt.file, k.subject, k.port)
				}
			}
			if len(want) == 0 {
				t.Errorf("scan %s: no endpoints found", tt.file)
			}
		})
	}
}

// jsonEndpoints decodes proxies.json whole, apart from the reader, and
// returns each proxy's host:port and each distinct exit address (port 0).
func jsonEndpoints(t *testing.T, path string) []netip.AddrPort {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		Host   string `json:"host"`
		Port   uint16 `json:"port"`
		ExitIP string `json:"exit_ip"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	var out []netip.AddrPort
	for _, p := range list {
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr(p.Host), p.Port))
		if p.ExitIP != p.Host {
			out = append(out, netip.AddrPortFrom(netip.MustParseAddr(p.ExitIP), 0))
		}
	}
	return out
}

// FuzzReader checks that no input panics or loops and that every error
// is a parse error or, for JSON, a final error after which Read repeats it.
func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.*") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		// Each line or JSON element gives at most two results.
		limit := 2*(bytes.Count(data, []byte("\n"))+bytes.Count(data, []byte(","))+1) + 2
		for range limit {
			ind, err := rd.Read()
			if err == io.EOF {
				return
			}
			var pe *intel.ParseError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				if _, again := rd.Read(); again == nil {
					t.Fatalf("Read() after final error %v = nil", err)
				}
				return
			}
			if ind.Subject.Type() == proxywatch.SubjectNone || ind.Kind != proxywatch.KindOpenProxy {
				t.Fatalf("Read() = subject %v kind %v", ind.Subject, ind.Kind)
			}
		}
		t.Fatalf("more than %d results", limit)
	})
}
