package stix

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePattern(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    string // canonical form, or "" when parsing must fail
		wantErr string
	}{
		{name: "one comparison", pattern: "[ipv4-addr:value = '192.0.2.1']", want: "[ipv4-addr:value = '192.0.2.1']"},
		{name: "spacing", pattern: "  [ ipv4-addr:value='192.0.2.1' ]  ", want: "[ipv4-addr:value = '192.0.2.1']"},
		{name: "and binds tighter than or", pattern: "[a:b = 1 OR c:d = 2 AND e:f = 3]", want: "[a:b = 1 OR (c:d = 2 AND e:f = 3)]"},
		{name: "parentheses kept", pattern: "[(a:b = 1 OR c:d = 2) AND e:f = 3]", want: "[(a:b = 1 OR c:d = 2) AND e:f = 3]"},
		{name: "quoted path and escapes", pattern: `[file:hashes.'SHA-256' = 'it\'s \\ here']`, want: `[file:hashes.'SHA-256' = 'it\'s \\ here']`},
		{name: "indexes", pattern: "[network-traffic:protocols[*] = 'tcp' AND x-foo:bar[0].baz != -1.5e3]", want: "[network-traffic:protocols[*] = 'tcp' AND x-foo:bar[0].baz != -1.5e3]"},
		{name: "in set", pattern: "[ipv4-addr:value IN ('192.0.2.1','192.0.2.2')]", want: "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]"},
		{name: "not like", pattern: "[domain-name:value NOT LIKE '%.example.com']", want: "[domain-name:value NOT LIKE '%.example.com']"},
		{name: "exists and bool", pattern: "[EXISTS file:name AND file:is_encrypted = true]", want: "[EXISTS file:name AND file:is_encrypted = true]"},
		{name: "observation operators", pattern: "[a:b = 1] AND [c:d = 2] OR [e:f = 3] FOLLOWEDBY [g:h = 4]", want: "[a:b = 1] AND [c:d = 2] OR [e:f = 3] FOLLOWEDBY [g:h = 4]"},
		{name: "qualifiers", pattern: "([a:b = 1] OR [c:d = 2]) REPEATS 2 TIMES WITHIN 60 SECONDS START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'",
			want: "([a:b = 1] OR [c:d = 2]) REPEATS 2 TIMES WITHIN 60 SECONDS START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'"},
		{name: "hex and binary", pattern: "[artifact:payload_bin = b'AAEC' AND x:y = h'ff00']", want: "[artifact:payload_bin = b'AAEC' AND x:y = h'ff00']"},
		{name: "unclosed bracket", pattern: "[ipv4-addr:value = '192.0.2.1'", wantErr: `want "]"`},
		{name: "unterminated string", pattern: "[ipv4-addr:value = '192.0.2.1]", wantErr: "unterminated"},
		{name: "bad escape", pattern: `[a:b = 'x\n']`, wantErr: "bad escape"},
		{name: "no operator", pattern: "[ipv4-addr:value '192.0.2.1']", wantErr: "comparison operator"},
		{name: "no path", pattern: "[= '1']", wantErr: "object type"},
		{name: "keyword as type", pattern: "[AND:b = 1]", wantErr: "object type"},
		{name: "trailing junk", pattern: "[a:b = 1] ]", wantErr: "after pattern"},
		{name: "empty", pattern: "", wantErr: "want \"[\""},
		{name: "stray character", pattern: "[a:b = 1 ; ]", wantErr: "unexpected character"},
		{name: "start without stop", pattern: "[a:b = 1] START t'2024-01-01T00:00:00Z'", wantErr: "want STOP"},
		{name: "deep nesting", pattern: strings.Repeat("(", 100) + "[a:b = 1]" + strings.Repeat(")", 100), wantErr: "nesting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := parsePattern(tc.pattern)
			if tc.wantErr != "" {
				var se *SyntaxError
				if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parsePattern(%q) = %v, want a *SyntaxError containing %q", tc.pattern, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePattern(%q) = %v, want nil error", tc.pattern, err)
			}
			if got := patternString(e); got != tc.want {
				t.Errorf("patternString(parsePattern(%q)) = %q, want %q", tc.pattern, got, tc.want)
			}
		})
	}
}

func TestEvalPattern(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // per outcome: the atoms, or "excluded:reason" / "refused:reason"
	}{
		{"[ipv4-addr:value = '192.0.2.1']", []string{"192.0.2.1/32"}},
		{"[ipv4-addr:value = '192.0.2.0/24']", []string{"192.0.2.0/24"}},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/25']", []string{"198.51.100.0/25"}},
		{"[ipv6-addr:value = '2001:db8::1']", []string{"2001:db8::1/128"}},
		{"[ipv4-addr:value = '2001:db8::1']", []string{"refused:bad-address"}},
		{"[domain-name:value = 'C2.Example.NET']", []string{"c2.example.net"}},
		{"[domain-name:value = '192.0.2.1']", []string{"refused:bad-address"}},
		{"[ipv4-addr:value = '192.0.2.1' OR domain-name:value = 'c2.example.net']", []string{"192.0.2.1/32", "c2.example.net"}},
		{"[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", []string{"192.0.2.1/32 192.0.2.2/32"}},
		{"[network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port = 443]", []string{"192.0.2.1/32:443"}},
		{"[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '192.0.2.1' AND network-traffic:src_port = 1080]", []string{"192.0.2.1/32:1080"}},
		{"[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'c2.example.net']", []string{"c2.example.net"}},
		{"[network-traffic:dst_ref.value = 'c2.example.net']", []string{"c2.example.net"}},
		{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '192.0.2.1']", []string{"refused:unsupported"}},
		{"[network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port = 70000]", []string{"refused:bad-port"}},
		{"[network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:dst_port > 1024]", []string{"refused:unsupported"}},
		{"[network-traffic:dst_port = 4444]", []string{"excluded:other-type"}},
		{"[network-traffic:dst_ref.value = '192.0.2.1' AND network-traffic:src_ref.value = '192.0.2.2']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value = '192.0.2.1' AND url:value = 'http://192.0.2.1/']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value = '192.0.2.1' AND domain-name:value = 'c2.example.net']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value != '192.0.2.1']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value NOT = '192.0.2.1']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value LIKE '192.0.2.%']", []string{"refused:unsupported"}},
		{"[ipv4-addr:value = 7]", []string{"refused:unsupported"}},
		{"[EXISTS ipv4-addr:value]", []string{"refused:unsupported"}},
		{"[(ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2') AND ipv4-addr:value = '192.0.2.3']", []string{"refused:unsupported", "refused:unsupported"}},
		{"[file:hashes.MD5 = '001dd76872d80801692ff942308c64e6']", []string{"excluded:hash"}},
		{"[file:hashes.MD5 = 'a' AND file:name = 'x.exe']", []string{"excluded:other-type"}},
		{"[ipv4-addr:value = '192.0.2.1'] OR [file:hashes.MD5 = 'a']", []string{"192.0.2.1/32", "excluded:hash"}},
		{"[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']", []string{"refused:unsupported"}},
		{"[file:hashes.MD5 = 'a'] FOLLOWEDBY [file:hashes.MD5 = 'b']", []string{"excluded:hash"}},
		{"[ipv4-addr:value = '192.0.2.1'] WITHIN 10 SECONDS", []string{"192.0.2.1/32"}},
		{"([ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.2']) WITHIN 10 SECONDS", []string{"refused:unsupported"}},
		{"([ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.2'])", []string{"192.0.2.1/32", "192.0.2.2/32"}},
		{"[ipv4-addr:value = '192.0.2.1'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'", []string{"refused:unsupported"}},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			e, err := parsePattern(tc.pattern)
			if err != nil {
				t.Fatalf("parsePattern(%q) = %v", tc.pattern, err)
			}
			var got []string
			for _, o := range evalPattern(e) {
				if o.reason != "" {
					what := "refused:"
					if o.excluded {
						what = "excluded:"
					}
					got = append(got, what+o.reason)
					continue
				}
				var parts []string
				for _, a := range o.atoms {
					s := a.subject.String()
					if a.port != 0 {
						s += fmt.Sprintf(":%d", a.port)
					}
					parts = append(parts, s)
				}
				got = append(got, strings.Join(parts, " "))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("evalPattern(%q) mismatch (-want +got):\n%s", tc.pattern, diff)
			}
		})
	}
}

func TestDNFBound(t *testing.T) {
	// (a OR b) AND (a OR b) AND ... doubles the normal form at each AND.
	group := "(ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2')"
	pattern := "[" + strings.Repeat(group+" AND ", 20) + group + "]"
	e, err := parsePattern(pattern)
	if err != nil {
		t.Fatal(err)
	}
	got := evalPattern(e)
	if len(got) != 1 || got[0].reason != "unsupported" {
		t.Errorf("evalPattern(2^21 alternatives) = %d outcomes (first %+v), want one unsupported refusal", len(got), got[0])
	}
}
