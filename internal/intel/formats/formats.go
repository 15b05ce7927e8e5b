// Package formats names every indicator format proxywatch reads and
// guesses a document's format from its name and first bytes.
//
// It is the one place that knows all reader packages; the composition root
// hands [Readers] to the feed scheduler and the import command, and
// nothing else imports a reader package directly.
package formats

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
	"github.com/proxywatch/proxywatch/internal/intel/csvfeed"
	"github.com/proxywatch/proxywatch/internal/intel/drop"
	"github.com/proxywatch/proxywatch/internal/intel/iocreport"
	"github.com/proxywatch/proxywatch/internal/intel/ipport"
	"github.com/proxywatch/proxywatch/internal/intel/misp"
	"github.com/proxywatch/proxywatch/internal/intel/plainlist"
	"github.com/proxywatch/proxywatch/internal/intel/rbldnsdset"
	"github.com/proxywatch/proxywatch/internal/intel/stix"
)

// Readers returns the reader of every format, by name.
func Readers() map[string]intel.Open {
	return map[string]intel.Open{
		"plain":     plainlist.NewReader,
		"ipport":    ipport.NewReader,
		"csv":       csvfeed.NewReader,
		"drop":      drop.NewReader,
		"rbldnsd":   rbldnsdset.NewReader,
		"stix":      stix.NewReader,
		"misp":      misp.NewReader,
		"iocreport": iocreport.NewReader,
	}
}

// Names returns the format names, sorted.
func Names() []string {
	var ns []string
	for n := range Readers() {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// SniffLen is how many leading bytes Detect wants to see.
const SniffLen = 64 << 10

// Detect guesses the format of a document from its file name and its
// first bytes (up to SniffLen). The rules, in order:
//
//   - JSON: a STIX bundle ("spec_version" or type "bundle") is stix; a
//     document with "Event" or "Attribute" is misp; JSON lines with "asn"
//     and "rir" are drop (Spamhaus ASN-DROP); an array of objects with
//     "exit_ip" or "protocol" and "port" is ipport (proxies.json).
//   - Spamhaus's own file names (drop.txt, edrop.txt, drop_ipv6.txt ...)
//     are drop.
//   - Text with defanged indicators ("[.]", "hxxp") is iocreport, and so is
//     text with a header line naming a kind other than open proxy ("C2
//     IP:port"), which a list reader would not see.
//   - Spamhaus DROP text ("; SBL" comments) is drop.
//   - rbldnsd datasets ($TTL, $TIMESTAMP, ":" default-value lines) are
//     rbldnsd.
//   - When most data lines are ip:port or scheme://ip:port, ipport; when
//     most are addresses, prefixes, ranges or AS numbers (optionally
//     followed by a comment or a count), plain.
//   - Anything else, CSV files included, is read as a free-text report
//     (iocreport), which extracts every address, prefix, URL and domain it
//     finds and counts the rest. A CSV feed with a known column layout is
//     configured with format "csv" and its column mapping instead.
//
// It returns an error only for JSON it cannot place.
func Detect(name string, head []byte) (string, error) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(head)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return detectJSON(name, trimmed)
	}
	text := string(head)
	if strings.Contains(text, "[.]") || strings.Contains(strings.ToLower(text), "hxxp") {
		return "iocreport", nil
	}
	if isDropName(name) {
		return "drop", nil
	}
	var data, plain, ipp, drops, rbl, headers int
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "$TTL") || strings.HasPrefix(line, "$TIMESTAMP") || strings.HasPrefix(line, "$SOA") || strings.HasPrefix(line, "$NS"):
			rbl++
			continue
		case strings.HasPrefix(line, ":"):
			rbl++
			continue
		case strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			if strings.Contains(line, "Spamhaus") {
				drops++
			}
			continue
		}
		data++
		first := strings.Fields(line)[0]
		if strings.Contains(line, "; SBL") {
			drops++
		}
		switch {
		case strings.Contains(first, "://") || isHostPort(first):
			ipp++
		case isAddrish(first):
			plain++
		default:
			// A header such as "C2 IP:port" gives the entries under it a
			// kind that a list reader would not see.
			if k := intel.KindFromText(line); k != proxywatch.KindUnknown && k != proxywatch.KindOpenProxy {
				headers++
			}
		}
	}
	if headers > 0 {
		return "iocreport", nil
	}
	switch {
	case drops > 0 && drops*2 >= data:
		return "drop", nil
	case rbl > 0 && (plain*2 >= data || strings.HasSuffix(name, ".zone") || strings.Contains(name, "rbl")):
		return "rbldnsd", nil
	case data > 0 && ipp*2 > data:
		return "ipport", nil
	case data > 0 && plain*10 >= data*9:
		return "plain", nil
	}
	return "iocreport", nil
}

// isDropName reports whether name is one of Spamhaus's DROP file names.
func isDropName(name string) bool {
	switch strings.ToLower(filepath.Base(name)) {
	case "drop.txt", "edrop.txt", "drop_ipv6.txt", "dropv6.txt", "drop_v6.txt", "drop.json", "drop_v4.json", "drop_v6.json", "asndrop.json", "asn_drop.json":
		return true
	}
	return false
}

func detectJSON(name string, b []byte) (string, error) {
	s := string(b)
	switch {
	case strings.Contains(s, `"spec_version"`) || strings.Contains(s, `"bundle"`):
		return "stix", nil
	case strings.Contains(s, `"Event"`) || strings.Contains(s, `"Attribute"`):
		return "misp", nil
	case strings.Contains(s, `"asn"`) && strings.Contains(s, `"rir"`):
		return "drop", nil
	case strings.Contains(s, `"exit_ip"`) || (strings.Contains(s, `"protocol"`) && strings.Contains(s, `"port"`)):
		return "ipport", nil
	}
	return "", fmt.Errorf("detect format of %s: JSON that is not STIX, MISP, ASN-DROP or a proxy list (use --format)", name)
}

// isHostPort reports whether s is "address:port" or "[v6]:port".
func isHostPort(s string) bool {
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

// isAddrish reports whether s is an address, a prefix, a range or an AS
// number.
func isAddrish(s string) bool {
	if _, err := intel.ParseAny(s); err == nil {
		return true
	}
	if len(s) > 2 && strings.EqualFold(s[:2], "AS") {
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	return false
}
