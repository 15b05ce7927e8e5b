package sqlitestore

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error, one per problem
	}{
		{"empty path", func(c *Config) { c.Path = "" }, []string{"path: empty"}},
		{"query in path", func(c *Config) { c.Path = "a.db?mode=ro" }, []string{"'?'"}},
		{"memory", func(c *Config) { c.Path = ":memory:" }, []string{"file path"}},
		{"negative busy timeout", func(c *Config) { c.BusyTimeout = -time.Second }, []string{"busy_timeout"}},
		{"short retention", func(c *Config) { c.ChangeRetention = time.Second }, []string{"change_retention"}},
		{"all at once", func(c *Config) { *c = Config{BusyTimeout: -1, ChangeRetention: 1} },
			[]string{"path", "busy_timeout", "change_retention"}},
		{"keep all changes", func(c *Config) { c.ChangeRetention = 0 }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (len(tc.want) == 0) {
				t.Fatalf("Validate(%+v) = %v, want errors %q", c, err, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %v, want it to mention %q", c, err, w)
				}
			}
		})
	}
}
