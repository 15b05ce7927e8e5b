package feed

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate([]string{"lines"}); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	ok := func(c *Config) {}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings, one per expected problem; none for valid
	}{
		{"valid", ok, nil},
		{"everything-wrong-at-once", func(c *Config) {
			c.Concurrency = 0
			c.Feeds = append(c.Feeds,
				Feed{Name: "Bad Name", Format: "lines", Path: "/x"},
				Feed{Name: "b", Format: "nope", URL: "ftp://example.org/x"},
				Feed{Name: "c", Format: "lines"},
				Feed{Name: "d", Format: "lines", Path: "/x", URL: "http://127.0.0.1/x"},
				Feed{Name: "a", Format: "", Path: "/y", Kind: "bogus"},
			)
		}, []string{
			"concurrency: 0", "feeds[1].name: \"Bad Name\"", "feeds[2].format: \"nope\": unknown",
			"feeds[2].url: \"ftp://example.org/x\"", "feeds[3]: one of url or path", "feeds[4]: url and path are mutually exclusive",
			"feeds[5].name: \"a\": also used by feeds[0]", "feeds[5].format: required", "feeds[5].kind: \"bogus\"",
		}},
		{"settings", func(c *Config) {
			c.Feeds[0].Confidence = 101
			c.Feeds[0].KindTTL = map[string]time.Duration{"proxy": time.Hour}
			c.Feeds[0].Guard = Guard{MaxPrefixV4: 33, MaxPrefixV6: -1, MaxChurn: 1.5, MaxRefusedShare: -0.1}
			c.Feeds[0].MaxAge = 30 * time.Minute
		}, []string{
			"feeds[0].confidence: 101", `feeds[0].kind_ttl: "proxy"`, "feeds[0].guard.max_prefix_v4: 33",
			"feeds[0].guard.max_prefix_v6: -1", "feeds[0].guard.max_churn: 1.5", "feeds[0].guard.max_refused_share: -0.1",
			"feeds[0].max_age: 30m0s: must be longer than refresh (1h0m0s)",
		}},
		{"incomplete-defaults", func(c *Config) {
			c.Defaults.Refresh = 0
			c.Defaults.Guard.MaxChurn = 0
			c.Defaults.TTL = -time.Hour
		}, []string{"defaults.refresh: 0s", "defaults.guard.max_churn: 0", "defaults.ttl: -1h0m0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Feeds = []Feed{{Name: "a", Format: "lines", URL: "https://127.0.0.1/list.txt"}}
			tc.modify(&c)
			err := c.Validate([]string{"lines"})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %d problems", len(tc.want))
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Errorf("Validate() reported %d problems, want %d:\n%s", len(got), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateFormatsUnchecked(t *testing.T) {
	c := DefaultConfig()
	c.Feeds = []Feed{{Name: "a", Format: "anything", Path: "/x"}}
	if err := c.Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v, want nil", err)
	}
}

func TestResolve(t *testing.T) {
	c := DefaultConfig()
	c.Defaults.TTL = 24 * time.Hour
	f := Feed{Name: "a", Format: "lines", Path: "/x", Settings: Settings{
		TTL:     -1,
		MaxAge:  -1,
		KindTTL: map[string]time.Duration{"c2": 10 * time.Hour, "residential_proxy": -1},
		Guard:   Guard{MaxChurn: 0.9, AcceptAfterHolds: -1},
	}}
	got := c.Resolve(f)
	want := f
	want.Kind = "other"
	want.Settings = Settings{
		Confidence: 50, Refresh: time.Hour, TTL: 0, MaxAge: 0, Timeout: 2 * time.Minute, MaxBytes: 64 << 20,
		KindTTL: map[string]time.Duration{"c2": 10 * time.Hour},
		Guard:   Guard{MaxPrefixV4: 8, MaxPrefixV6: 19, MaxChurn: 0.9, MinEntries: 20, MaxRefusedShare: 0.5, AcceptAfterHolds: -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve() mismatch (-want +got):\n%s", diff)
	}
	// Inherited kind TTLs.
	if got := c.Resolve(testFeed("b")).KindTTL; !cmp.Equal(got, map[string]time.Duration{"residential-proxy": 72 * time.Hour}) {
		t.Errorf("Resolve(plain feed).KindTTL = %v, want residential-proxy 72h", got)
	}
}
