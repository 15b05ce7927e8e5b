package verdict

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir returns the shared test data directory: $PROXYWATCH_TEST_DATA,
// else ../shared/data beside the module root. It skips t when neither
// exists.
func dataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PROXYWATCH_TEST_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Skipf("test data unavailable: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("test data unavailable: no go.mod above the working directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("test data unavailable: %v (set PROXYWATCH_TEST_DATA)", err)
	}
	return d
}

// readPrefixes reads up to limit (0: all) addresses and CIDRs from a
// FireHOL netset or ipsum file: the first field of each line that is not
// a comment.
func readPrefixes(t testing.TB, name string, limit int) []netip.Prefix {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir(t), name))
	if err != nil {
		t.Skipf("test data unavailable: %v", err)
	}
	defer f.Close()
	var ps []netip.Prefix
	sc := bufio.NewScanner(f)
	for sc.Scan() && (limit == 0 || len(ps) < limit) {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		field := strings.Fields(line)[0]
		var p netip.Prefix
		if strings.Contains(field, "/") {
			p, err = netip.ParsePrefix(field)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(field)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			t.Fatalf("%s: parse %q: %v", name, field, err)
		}
		ps = append(ps, p.Masked())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return ps
}
