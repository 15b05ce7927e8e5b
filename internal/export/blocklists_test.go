package export_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/export"
	"github.com/proxywatch/proxywatch/internal/export/exporttest"
	"github.com/proxywatch/proxywatch/internal/export/ipset"
	"github.com/proxywatch/proxywatch/internal/export/nftables"
	"github.com/proxywatch/proxywatch/internal/feed"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/formats"
	"github.com/proxywatch/proxywatch/internal/itest"
)

// notData reports whether a file of the data set is documentation or
// bookkeeping, not a feed.
func notData(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(lower, "readme") || strings.HasPrefix(lower, "license") || lower == "last-checked-at"
}

// collect reads a feed file as the importer does: detected format, its
// reader, and feed.Collect with the default feed settings.
func collect(t *testing.T, path string, now time.Time) []proxywatch.Indicator {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, formats.SniffLen)
	n, _ := io.ReadFull(f, head)
	format, err := formats.Detect(path, head[:n])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	r, err := formats.Readers()[format](f, intel.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	cfg := feed.DefaultConfig()
	inds, _, err := feed.Collect(r, cfg.Resolve(feed.Feed{Name: name, Path: path, Format: format}), now)
	if err != nil {
		t.Fatal(err)
	}
	return inds
}

var (
	entriesRE = regexp.MustCompile(`(?m)^Number of entries: (\d+)$`)
	// candidates for an unlisted source address, in order of preference.
	unlistedV4 = []string{"198.51.100.5", "203.0.113.5", "192.0.2.77"}
	unlistedV6 = []string{"2001:db8:2::5", "2001:db8:3::5"}
)

// TestBlocklistsLoadAndDrop exports every feed of the shared blocklists
// data set to nftables and to ipset, loads each export for real in a test
// namespace, checks the loaded element counts against the export, and
// checks that a listed source address is dropped while an unlisted one
// passes: by the nftables table, then by iptables and ip6tables rules
// matching the ipset sets.
func TestBlocklistsLoadAndDrop(t *testing.T) {
	itest.Need(t, "nft")
	itest.Need(t, "ipset")
	itest.Need(t, "iptables")
	root := itest.Data(t, "blocklists")
	var files []string
	filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() && !notData(de.Name()) {
			files = append(files, path)
		}
		return err
	})
	slices.Sort(files)
	if len(files) < 20 {
		t.Fatalf("found %d feed files under %s, want the whole set", len(files), root)
	}
	// One link for nftables, one for ipset, so that both are probed at
	// once: each drop costs a connect timeout.
	ln, li := exporttest.NewLink(t), exporttest.NewLink(t)
	now := time.Now()
	clients := map[netip.Addr]bool{}
	addClient := func(t *testing.T, a netip.Addr) {
		if clients[a] {
			return
		}
		for _, l := range []*exporttest.Link{ln, li} {
			l.AddClient(t, a)
			// Proves that a drop seen later comes from the loaded rules
			// (each feed's rules are removed before the next feed's).
			if l.Blocked(t, a) {
				t.Fatalf("connect from %v fails with no rules loaded", a)
			}
		}
		clients[a] = true
	}
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) {
			inds := collect(t, path, now)
			opts := export.Options{Now: now, Timeout: true, Name: "pwtest"}
			rs, _, err := export.Collapse(slices.Values(inds), opts, nftables.MaxTimeout)
			if err != nil {
				t.Fatal(err)
			}
			var probes []probe
			for _, fam := range []struct {
				v4       bool
				unlisted []string
			}{{true, unlistedV4}, {false, unlistedV6}} {
				listed, ok := pickListed(rs, fam.v4)
				if !ok {
					continue
				}
				probes = append(probes, probe{listed, true}, probe{pickUnlisted(rs, fam.v4, fam.unlisted), false})
			}
			for _, p := range probes {
				addClient(t, p.src)
			}
			var nftDoc, ipsetDoc bytes.Buffer
			nst, err := nftables.Exporter{}.Export(&nftDoc, slices.Values(inds), opts)
			if err != nil {
				t.Fatal(err)
			}
			ist, err := ipset.Exporter{}.Export(&ipsetDoc, slices.Values(inds), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d indicators: nftables %d+%d elements (%d bytes), ipset %d+%d entries (%d bytes), probes %v",
				len(inds), nst.V4, nst.V6, nst.Bytes, ist.V4, ist.V6, ist.Bytes, probes)

			// nftables.
			ln.Server.MustRun(t, nftDoc.Bytes(), "nft", "-f", "-")
			if got := nftElements(t, ln.Server, "v4"); got != nst.V4 {
				t.Errorf("loaded nftables set v4 has %d elements, export %d", got, nst.V4)
			}
			if got := nftElements(t, ln.Server, "v6"); got != nst.V6 {
				t.Errorf("loaded nftables set v6 has %d elements, export %d", got, nst.V6)
			}

			// ipset, matched by iptables. Sets of another maxelem class
			// cannot be reloaded in place, so each feed starts afresh.
			li.Server.MustRun(t, nil, "iptables", "-F", "INPUT")
			li.Server.MustRun(t, nil, "ip6tables", "-F", "INPUT")
			li.Server.MustRun(t, nil, "ipset", "destroy")
			li.Server.MustRun(t, ipsetDoc.Bytes(), "ipset", "restore")
			li.Server.MustRun(t, nil, "iptables", "-I", "INPUT", "-m", "set", "--match-set", "pwtest-v4", "src", "-j", "DROP")
			li.Server.MustRun(t, nil, "ip6tables", "-I", "INPUT", "-m", "set", "--match-set", "pwtest-v6", "src", "-j", "DROP")
			if got := ipsetEntries(t, li.Server, "pwtest-v4"); got != ist.V4 {
				t.Errorf("loaded ipset pwtest-v4 has %d entries, export %d", got, ist.V4)
			}
			if got := ipsetEntries(t, li.Server, "pwtest-v6"); got != ist.V6 {
				t.Errorf("loaded ipset pwtest-v6 has %d entries, export %d", got, ist.V6)
			}

			checkProbes(t, map[string]*exporttest.Link{"nftables": ln, "ipset": li}, probes)
			ln.Server.MustRun(t, nil, "nft", "delete", "table", "inet", "pwtest")
			li.Server.MustRun(t, nil, "iptables", "-F", "INPUT")
			li.Server.MustRun(t, nil, "ip6tables", "-F", "INPUT")

			if len(rs) > 0 && len(probes) == 0 {
				t.Errorf("no usable listed address among %d ranges", len(rs))
			}
		})
	}
}

type probe struct {
	src     netip.Addr
	blocked bool
}

func (p probe) String() string { return fmt.Sprintf("%v blocked %v", p.src, p.blocked) }

// checkProbes connects from every probe's source over every link at once
// and checks which are dropped.
func checkProbes(t *testing.T, links map[string]*exporttest.Link, probes []probe) {
	t.Helper()
	var wg sync.WaitGroup
	for what, l := range links {
		for _, p := range probes {
			wg.Go(func() {
				err := l.Connect(p.src, 300*time.Millisecond)
				var ne net.Error
				if !p.blocked && errors.As(err, &ne) && ne.Timeout() {
					// A slow answer on a loaded machine, or a drop: ask
					// again, longer.
					err = l.Connect(p.src, 1500*time.Millisecond)
				}
				switch blocked := errors.As(err, &ne) && ne.Timeout(); {
				case err != nil && !blocked:
					t.Errorf("%s: connect from %v: %v, want success or a timeout", what, p.src, err)
				case blocked != p.blocked:
					t.Errorf("%s: connect from %v blocked = %v, want %v", what, p.src, blocked, p.blocked)
				}
			})
		}
	}
	wg.Wait()
}

// special lists ranges whose addresses make poor packet sources: the
// kernel drops some as martians whatever the rules, and the link's server
// holds others.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:ffff::/48"),
}

// usable reports whether a can be a client's source address.
func usable(a netip.Addr) bool {
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() &&
		!slices.ContainsFunc(special, func(p netip.Prefix) bool { return p.Contains(a) })
}

// pickListed returns a listed address of the family that can be a
// packet's source.
func pickListed(rs []export.Range, v4 bool) (netip.Addr, bool) {
	for _, r := range rs {
		if r.Is4() != v4 {
			continue
		}
		a := r.From
		if a != r.To {
			a = a.Next()
		}
		if usable(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// pickUnlisted returns the first candidate of the family that no range
// holds or, when every candidate is listed (bogon lists hold the
// documentation ranges), the global unicast address just after a range.
func pickUnlisted(rs []export.Range, v4 bool, candidates []string) netip.Addr {
	listed := func(a netip.Addr) bool {
		return slices.ContainsFunc(rs, func(r export.Range) bool { return a.Is4() == r.Is4() && !a.Less(r.From) && !r.To.Less(a) })
	}
	for _, c := range candidates {
		if a := netip.MustParseAddr(c); !listed(a) {
			return a
		}
	}
	for _, r := range rs {
		if a := r.To.Next(); r.Is4() == v4 && usable(a) && !listed(a) {
			return a
		}
	}
	panic("no unlisted address")
}

// nftElements returns the number of elements of a loaded set.
func nftElements(t *testing.T, ns *exporttest.Namespace, set string) int {
	t.Helper()
	out := ns.MustRun(t, nil, "nft", "-j", "list", "set", "inet", "pwtest", set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j list set: %v", err)
	}
	for _, o := range doc.Nftables {
		if o.Set != nil {
			return len(o.Set.Elem)
		}
	}
	t.Fatalf("nft -j list set %s: no set", set)
	return 0
}

// ipsetEntries returns the number of entries of a loaded set.
func ipsetEntries(t *testing.T, ns *exporttest.Namespace, set string) int {
	t.Helper()
	m := entriesRE.FindSubmatch(ns.MustRun(t, nil, "ipset", "list", "-t", set))
	if m == nil {
		t.Fatalf("ipset list -t %s: no entry count", set)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
