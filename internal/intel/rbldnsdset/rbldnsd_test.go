package rbldnsdset

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/inteltest"
)

// TestAgainstRbldnsd reads ip4set files with this reader and with rbldnsd
// itself ("rbldnsd -d" dumps a zone without serving it), and compares
// what each lists, with its A and TXT values. It skips when rbldnsd is
// not installed (apt-get install rbldnsd).
func TestAgainstRbldnsd(t *testing.T) {
	bin, err := exec.LookPath("rbldnsd")
	if err != nil {
		t.Skip("rbldnsd not installed; the comparison needs it")
	}
	for _, name := range []string{"ip4set.txt", "forms.ip4set", "generated.ip4set"} {
		t.Run(name, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-d", "bl.test:ip4set:"+path).Output()
			if err != nil {
				t.Fatalf("rbldnsd -d: %v", err)
			}
			want := parseDump(t, out)
			got := listed(t, path)
			if len(want) == 0 {
				t.Fatal("rbldnsd listed nothing")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("listed entries, rbldnsd (-) and this reader (+):\n%s", diff)
			}
		})
	}
}

// values holds the distinct "A TXT" values of each listed name, as
// rbldnsd keeps one copy of entries with the same name and value.
type values map[string]map[string]bool

func (v values) add(name, val string) {
	if v[name] == nil {
		v[name] = map[string]bool{}
	}
	v[name][val] = true
}

// parseDump returns the A and TXT of each name an rbldnsd dump lists.
func parseDump(t *testing.T, out []byte) values {
	m := values{}
	name, val := "", ""
	flush := func() {
		if name != "" {
			m.add(name, val)
		}
		name = ""
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		switch {
		case len(f) == 3 && f[1] == "A":
			flush()
			name, val = f[0], f[2]
		case len(f) == 3 && f[0] == "" && f[1] == "TXT" && name != "":
			val += " " + strings.Trim(f[2], `"`)
		default:
			flush()
		}
	}
	flush()
	return m
}

// listed reads path with this reader and returns the names rbldnsd would
// list, as the dump spells them, with "A TXT" ($ expanded).
func listed(t *testing.T, path string) values {
	rd, err := New(inteltest.Open(t, path), intel.Options{Name: "t", Params: map[string]string{"dataset": "ip4set"}})
	if err != nil {
		t.Fatal(err)
	}
	inds, _ := inteltest.Drain(t, rd)
	excluded := map[string]bool{}
	for _, p := range rd.Exclusions() {
		for _, k := range dumpNames(p) {
			excluded[k.name] = true
		}
	}
	m := values{}
	for _, ind := range inds {
		for _, k := range dumpNames(ind.Subject.Prefix) {
			if !excluded[k.name] {
				m.add(k.name, strings.ReplaceAll(ind.Comment, "$", k.addr.String()))
			}
		}
	}
	return m
}

type dumpName struct {
	name string
	addr netip.Addr
}

// dumpNames splits p as rbldnsd's ip4set stores it: /8, /16 and /24
// blocks as wildcards, longer prefixes as single addresses.
func dumpNames(p netip.Prefix) []dumpName {
	var out []dumpName
	level := 32
	for _, l := range []int{8, 16, 24} {
		if p.Bits() <= l {
			level = l
			break
		}
	}
	a := p.Addr().As4()
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	for i := uint32(0); i < 1<<(level-p.Bits()); i++ {
		x := base + i<<(32-level)
		o := [4]uint32{x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255}
		var name string
		switch level {
		case 8:
			name = fmt.Sprintf("*.%d", o[0])
		case 16:
			name = fmt.Sprintf("*.%d.%d", o[1], o[0])
		case 24:
			name = fmt.Sprintf("*.%d.%d.%d", o[2], o[1], o[0])
		default:
			name = fmt.Sprintf("%d.%d.%d.%d", o[3], o[2], o[1], o[0])
		}
		out = append(out, dumpName{name, addr4(x)})
	}
	return out
}
