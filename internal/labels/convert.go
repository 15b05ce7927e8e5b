package labels

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/proxywatch/proxywatch"
)

// Stats counts what a conversion read.
type Stats struct {
	Flows     int `json:"flows"`     // labelled flows written
	Malicious int `json:"malicious"` // of them, malicious
	Skipped   int `json:"skipped"`   // lines that could not be converted
}

// maxErrors bounds the parse errors a conversion reports.
const maxErrors = 10

// Convert reads the labelled capture r and writes its labelled flows to w
// as JSON lines ([Flow]), the key `proxywatch eval` reads. It
// also returns, for [Addresses], what the flows say of each address. Lines
// that cannot be converted are counted and skipped; the first few are
// returned, joined, with the stats.
func Convert(r io.Reader, name string, w io.Writer, opts Options) (Stats, *Roles, error) {
	var st Stats
	roles := NewRoles()
	rd := NewReader(r, name, opts)
	enc := json.NewEncoder(w)
	var errs []error
	for {
		fl, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if pe, ok := errors.AsType[*ParseError](err); ok {
			st.Skipped++
			if len(errs) < maxErrors {
				errs = append(errs, pe)
			}
			continue
		}
		if err != nil {
			return st, roles, err
		}
		if err := enc.Encode(&fl); err != nil {
			return st, roles, fmt.Errorf("write labels: %w", err)
		}
		st.Flows++
		if fl.Label == LabelMalicious {
			st.Malicious++
		}
		roles.Add(&fl)
	}
	return st, roles, errors.Join(errs...)
}

// Roles gathers, from labelled flows, when each address played each role.
// The zero Roles is not usable; call NewRoles.
type Roles struct {
	spans map[roleKey]*Addr
}

type roleKey struct {
	addr netip.Addr
	role proxywatch.Role
}

// NewRoles returns an empty Roles.
func NewRoles() *Roles { return &Roles{spans: map[roleKey]*Addr{}} }

// Add records the roles of one flow's endpoints (malicious flows only).
func (r *Roles) Add(fl *Flow) {
	if fl.Label != LabelMalicious {
		return
	}
	for _, e := range []struct {
		a    netip.Addr
		role proxywatch.Role
	}{{fl.Src, fl.SrcRole}, {fl.Dst, fl.DstRole}} {
		if e.role == "" || !e.a.IsValid() {
			continue
		}
		k := roleKey{e.a, e.role}
		s := r.spans[k]
		if s == nil {
			r.spans[k] = &Addr{Addr: e.a, Role: e.role, Start: fl.TS, End: fl.TS}
			continue
		}
		s.Start = minTime(s.Start, fl.TS)
		s.End = maxTime(s.End, fl.TS)
	}
}

// Addresses returns the labelled addresses, one per address and role, with
// the first and last flow as their span, sorted by role then address.
func (r *Roles) Addresses() []Addr {
	out := make([]Addr, 0, len(r.spans))
	for _, s := range r.spans {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Addr) int {
		if c := cmp.Compare(a.Role, b.Role); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// WriteAddresses writes labelled addresses as JSON lines.
func WriteAddresses(w io.Writer, addrs []Addr) error {
	enc := json.NewEncoder(w)
	for i := range addrs {
		if err := enc.Encode(&addrs[i]); err != nil {
			return fmt.Errorf("write address labels: %w", err)
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
