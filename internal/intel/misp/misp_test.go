package misp

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
	"github.com/proxywatch/proxywatch/internal/itest"
)

const evSection = "Proxy botnet C2 infrastructure"

func TestReaderFixtures(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		params map[string]string
		want   []result
	}{
		{
			name: "event",
			file: "event.json",
			want: []result{
				{Line: 1, Subject: "192.0.2.10/32", Kind: "c2", Section: evSection},
				{Line: 2, Subject: "198.51.100.0/24", Kind: "unknown", Section: evSection}, // event tag "Brute Force" is not the attribute's kind
				{Line: 3, Subject: "203.0.113.7/32", Kind: "open-proxy", Port: 1080, Section: evSection},
				{Line: 4, Subject: "c2.example.net", Kind: "unknown", Section: evSection},
				{Line: 4, Subject: "2001:db8::53/128", Kind: "unknown", Section: evSection},
				{Line: 5, Subject: "relay.example.org", Kind: "unknown", Port: 8443, Section: evSection},
				{Line: 6, Reason: "excluded:not-to-ids"},
				{Line: 7, Reason: "excluded:deleted"},
				{Line: 8, Reason: "excluded:hash"},
				{Line: 9, Reason: "excluded:hash"},        // filename|md5
				{Line: 10, Reason: "excluded:other-type"}, // url
				{Line: 11, Reason: "refused:bad-address"},
				{Line: 12, Reason: "refused:bad-port"},
				{Line: 13, Reason: "refused:bad-value"}, // timestamp "yesterday"
				{Line: 14, Subject: "AS64496", Kind: "malware-host", Section: evSection},
				{Line: 15, Reason: "refused:bad-address"},
				{Line: 16, Subject: "203.0.113.31/32", Kind: "backconnect-c2", Section: evSection + " / domain-ip"},
				{Line: 17, Reason: "excluded:other-type"},
				{Line: 18, Reason: "excluded:deleted"}, // its object is deleted
			},
		},
		{
			name: "response with two events",
			file: "response.json",
			want: []result{
				{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown", Section: "First event"},
				{Line: 2, Reason: "excluded:not-to-ids"},
				{Line: 3, Reason: "excluded:other-type"},
			},
		},
		{
			name:   "to_ids ignored",
			file:   "response.json",
			params: map[string]string{"to_ids": "ignore"},
			want: []result{
				{Line: 1, Subject: "192.0.2.1/32", Kind: "unknown", Section: "First event"},
				{Line: 2, Subject: "192.0.2.2/32", Kind: "unknown", Section: "Second event / ip-port"},
				{Line: 3, Reason: "excluded:other-type"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := results(t, open(t, filepath.Join("testdata", tc.file), tc.params))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read() results mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderFields(t *testing.T) {
	rd := open(t, filepath.Join("testdata", "event.json"), nil)
	inds, _ := inteltest.Drain(t, rd)
	if len(inds) < 2 {
		t.Fatalf("read %d indicators, want at least 2", len(inds))
	}
	evTags := []string{"tlp:white", `misp-galaxy:mitre-attack-pattern="Brute Force - T1110"`}
	want := []proxywatch.Indicator{
		{
			Subject: proxywatch.AddrSubject(netip.MustParseAddr("192.0.2.10")),
			Kind:    proxywatch.KindC2,
			Source:  proxywatch.Source{Feed: "event.json", Section: evSection, Line: 1},
			Tags:    append([]string{"kill-chain:Command and Control"}, evTags...),
			Comment: "Network activity: C2 server",
			// No last_seen: the attribute's timestamp stands in.
			LastSeen: time.Unix(1714550400, 0).UTC(),
		},
		{
			Subject:   proxywatch.PrefixSubject(netip.MustParsePrefix("198.51.100.0/24")),
			Source:    proxywatch.Source{Feed: "event.json", Section: evSection, Line: 2},
			Tags:      evTags,
			Comment:   "Network activity",
			FirstSeen: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC),
			LastSeen:  time.Date(2024, 4, 30, 12, 0, 0, 0, time.UTC),
		},
	}
	if diff := cmp.Diff(want, inds[:2], cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Read() mismatch (-want +got):\n%s", diff)
	}
	inds[0].Tags[0] = "changed"
	if inds[1].Tags[0] == "changed" {
		t.Errorf("indicators share their Tags slice")
	}
}

func TestReaderDocuments(t *testing.T) {
	ev := `{"Event":{"info":"x","Attribute":[{"type":"ip-dst","to_ids":true,"value":"192.0.2.1"}]}}`
	tests := []struct {
		name    string
		input   string
		params  map[string]string
		want    []string
		wantErr string
	}{
		{name: "event", input: ev, want: []string{"192.0.2.1/32"}},
		{name: "bare array", input: "[" + ev + "," + ev + "]", want: []string{"192.0.2.1/32", "192.0.2.1/32"}},
		{name: "byte order mark", input: "\xef\xbb\xbf" + ev, want: []string{"192.0.2.1/32"}},
		{name: "over the size limit", input: ev, params: map[string]string{"max_bytes": "87"}, wantErr: "larger than 87 bytes"},
		{name: "at the size limit", input: ev, params: map[string]string{"max_bytes": "88"}, want: []string{"192.0.2.1/32"}},
		{name: "no event", input: `{"response":[]}`, wantErr: `no "Event"`},
		{name: "empty", input: "  ", wantErr: "empty document"},
		{name: "not json", input: "ip-dst 192.0.2.1", wantErr: "invalid character"},
		{name: "wrong type", input: `{"Event":{"Attribute":{"type":"ip-dst"}}}`, wantErr: "cannot unmarshal"},
		{name: "bad to_ids", input: `{"Event":{"Attribute":[{"type":"ip-dst","to_ids":"maybe","value":"192.0.2.1"}]}}`, wantErr: "boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := NewReader(strings.NewReader(tc.input), intel.Options{Name: "doc", Params: tc.params})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var final error
			for {
				ind, err := rd.Read()
				if err != nil {
					final = err
					break
				}
				got = append(got, ind.Subject.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("subjects mismatch (-want +got):\n%s", diff)
			}
			switch {
			case tc.wantErr == "" && final != io.EOF:
				t.Errorf("final Read() = %v, want io.EOF", final)
			case tc.wantErr != "" && (final == io.EOF || !strings.Contains(final.Error(), tc.wantErr)):
				t.Errorf("final Read() = %v, want an error containing %q", final, tc.wantErr)
			}
		})
	}
}

func TestNewReaderParams(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		wantErr bool
	}{
		{name: "none"},
		{name: "honour", params: map[string]string{"to_ids": "honour"}},
		{name: "ignore", params: map[string]string{"to_ids": "ignore", "max_bytes": "1024"}},
		{name: "bad to_ids", params: map[string]string{"to_ids": "sometimes"}, wantErr: true},
		{name: "bad max_bytes", params: map[string]string{"max_bytes": "-1"}, wantErr: true},
		{name: "unknown", params: map[string]string{"columns": "1"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(""), intel.Options{Params: tc.params})
			if (err != nil) != tc.wantErr {
				t.Errorf("NewReader(%v) = %v, want error %v", tc.params, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, proxywatch.ErrInvalid) {
				t.Errorf("NewReader(%v) = %v, want an ErrInvalid", tc.params, err)
			}
		})
	}
}

// TestRealData reads the ESET MISP events of ../shared/data/stix-misp in
// place. The expected numbers were counted outside this reader, by a
// Python walk over Event.Attribute and Event.Object[].Attribute grouping
// on (type, to_ids, deleted):
//   - glupteba: 40 ip-dst, 270 domain and 4 domain|ip (two indicators
//     each), all to_ids; 6 filename|sha1 (hash) and 1 regkey (other).
//   - mozi: all in objects; 21 md5 + 21 sha1 + 21 sha256 (hash); 4 ip-dst
//     and 1 ip-src with to_ids false; 11 port, 61 text, 11 url (other).
//     Honouring to_ids, nothing is accepted; ignoring it, the 5 addresses.
//   - powerpool: 4 domain and 1 ip-dst with to_ids false, 5 sha1, 7 text
//     and 1 url.
func TestRealData(t *testing.T) {
	dir := itest.Data(t, filepath.Join("stix-misp", "eset-malware-ioc"))
	tests := []struct {
		file     string
		params   map[string]string
		accepted int
		excluded map[string]int
		refused  map[string]int
		want     []string
	}{
		{file: "glupteba/glupteba.misp-event.json", accepted: 318,
			excluded: map[string]int{"hash": 6, "other-type": 1},
			want:     []string{"5.101.6.132/32", "burnandfire5.com", "104.31.89.75/32", "217.79.189.227/32"}},
		{file: "mozi/mozi.misp-event.json",
			excluded: map[string]int{"hash": 63, "not-to-ids": 5, "other-type": 83}},
		{file: "mozi/mozi.misp-event.json", params: map[string]string{"to_ids": "ignore"}, accepted: 5,
			excluded: map[string]int{"hash": 63, "other-type": 83},
			want:     []string{"157.119.75.16/32", "188.167.251.165/32"}},
		{file: "powerpool/misp-powerpool.json",
			excluded: map[string]int{"hash": 5, "not-to-ids": 5, "other-type": 8}},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file)+tc.params["to_ids"], func(t *testing.T) {
			inds, errs := inteltest.Drain(t, open(t, filepath.Join(dir, tc.file), tc.params))
			want := inteltest.Counts{Accepted: tc.accepted, Excluded: tc.excluded, Refused: tc.refused}
			if diff := cmp.Diff(want, inteltest.Count(inds, errs)); diff != "" {
				t.Errorf("counts mismatch (-want +got):\n%s", diff)
			}
			have := map[string]bool{}
			for _, ind := range inds {
				have[ind.Subject.String()] = true
				if ind.Source.Section == "" || ind.Source.Line <= 0 || ind.LastSeen.IsZero() {
					t.Errorf("indicator %v: source %v, last seen %v, want a section, a line and a time", ind.Subject, ind.Source, ind.LastSeen)
				}
			}
			for _, s := range tc.want {
				if !have[s] {
					t.Errorf("subject %s missing", s)
				}
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	for _, b := range inteltest.Seeds(f, "*.json") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), intel.Options{Name: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		inteltest.CheckReads(t, rd, 2*len(data)+16, func(ind proxywatch.Indicator) {
			if _, err := proxywatch.ParseSubject(ind.Subject.String()); err != nil || ind.Source.Feed != "fuzz" {
				t.Fatalf("Read() = %+v: subject does not read back (%v) or feed not set", ind, err)
			}
		})
	})
}
