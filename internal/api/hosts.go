package api

import (
	"cmp"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/proxywatch/proxywatch"
)

// A HostReporter reports the inside hosts that flow watch believes
// compromised; the composition root implements it over the flow
// detectors. Hosts must be safe to call concurrently and must not let the
// caller's changes to the slice it returns reach its own state (the API
// only reads it, and copies what it filters and sorts).
type HostReporter interface {
	Hosts() []HostReport
}

// A HostReport is what flow watch believes of one inside host: the roles
// its findings give it, the highest confidence among them, when it was
// first and last seen playing them, the outside peers and ports involved
// (bounded), and the findings themselves.
type HostReport struct {
	Host       netip.Addr           `json:"host"`
	Roles      []proxywatch.Role    `json:"roles"`
	Confidence uint8                `json:"confidence"`
	First      time.Time            `json:"first"`
	Last       time.Time            `json:"last"`
	Peers      []netip.Addr         `json:"peers,omitempty"`
	Ports      []uint16             `json:"ports,omitempty"`
	Findings   []proxywatch.Finding `json:"findings"`
}

// HostList is the answer of GET /v1/hosts: the hosts by falling
// confidence, then by address.
type HostList struct {
	Hosts []HostReport `json:"hosts"`
}

// hostRoles are the roles GET /v1/hosts may filter by: every role but
// the ground truth's benign-lookalike.
var hostRoles = []proxywatch.Role{
	proxywatch.RoleBot, proxywatch.RoleRelay, proxywatch.RoleBackconnectBot, proxywatch.RoleExposedProxy,
	proxywatch.RoleC2, proxywatch.RoleBackconnectC2, proxywatch.RoleCollector, proxywatch.RoleCampaign,
	proxywatch.RoleBruteForcer, proxywatch.RoleListedContact,
}

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request) error {
	if s.d.Hosts == nil {
		return notFound("the host report is not available")
	}
	q := r.URL.Query()
	role := proxywatch.Role(q.Get("role"))
	if role != "" && !slices.Contains(hostRoles, role) {
		return invalid(fmt.Sprintf("role %s: unknown", quote(string(role))))
	}
	minConf := uint64(0)
	if v := q.Get("min_confidence"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n > proxywatch.MaxConfidence {
			return invalid(fmt.Sprintf("min_confidence %s: must be between 0 and %d", quote(v), proxywatch.MaxConfidence))
		}
		minConf = n
	}
	all := s.d.Hosts.Hosts()
	out := make([]HostReport, 0, len(all))
	for _, h := range all {
		if uint64(h.Confidence) < minConf || (role != "" && !slices.Contains(h.Roles, role)) {
			continue
		}
		if h.Roles == nil {
			h.Roles = []proxywatch.Role{}
		}
		if h.Findings == nil {
			h.Findings = []proxywatch.Finding{}
		}
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b HostReport) int {
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		return a.Host.Compare(b.Host)
	})
	return writeJSON(w, http.StatusOK, HostList{Hosts: out})
}
