package ipport

import (
	"net/netip"
	"strings"

	"github.com/proxywatch/proxywatch"
)

// annotate reads what follows the endpoint on a line: clarketm's flags
// or status, or free text kept as the comment.
func (r *reader) annotate(ind *proxywatch.Indicator, rest string) {
	if st, ok := strings.CutPrefix(rest, "=>"); ok {
		rest = strings.TrimSpace(st)
	}
	switch strings.ToLower(rest) {
	case "success", "failure":
		ind.Tags = append(ind.Tags, "status:"+strings.ToLower(rest))
		return
	}
	flags, google, _ := strings.Cut(rest, " ")
	google = strings.TrimSpace(google)
	if tags, ok := clarketmFlags(flags); ok && (google == "" || google == "+" || google == "-") {
		ind.Tags = append(ind.Tags, tags...)
		if google == "+" {
			ind.Tags = append(ind.Tags, TagGooglePassed)
		}
		if ind.Proto == "" {
			ind.Proto = "http" // the list is of HTTP proxies
		}
		return
	}
	if ind.Comment != "" {
		ind.Comment = rest + " # " + ind.Comment
	} else {
		ind.Comment = rest
	}
}

// clarketmFlags parses "CC-A-S!" (country, anonymity N/A/H, optional S,
// optional !) into tags.
func clarketmFlags(s string) ([]string, bool) {
	if len(s) < 4 || !upper(s[0]) || !upper(s[1]) || s[2] != '-' {
		return nil, false
	}
	tags := []string{"cc:" + s[:2]}
	rest := s[3:]
	switch rest[0] {
	case 'N':
		tags = append(tags, "anonymity:none")
	case 'A':
		tags = append(tags, "anonymity:anonymous")
	case 'H':
		tags = append(tags, "anonymity:high")
	default:
		return nil, false
	}
	rest = rest[1:]
	if r, ok := strings.CutPrefix(rest, "-S"); ok {
		tags = append(tags, TagHTTPS)
		rest = r
	}
	if r, ok := strings.CutPrefix(rest, "!"); ok {
		tags = append(tags, TagExitDiffers)
		rest = r
	}
	return tags, rest == ""
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

// isProse reports whether a line that is not a proxy entry is text, such
// as a list header: it starts with a letter and no field of it, split at
// spaces, "=", ":" or "/", is an address.
func isProse(s string) bool {
	if c := s[0] | 0x20; c < 'a' || c > 'z' || !strings.ContainsAny(s, " \t") {
		return false
	}
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '=' || r == '/' || r == ',' || r == '(' || r == ')' || r == '[' || r == ']'
	}) {
		if _, err := netip.ParseAddr(f); err == nil {
			return false
		}
		if _, err := netip.ParseAddrPort(f); err == nil {
			return false
		}
		if host, _, ok := strings.Cut(f, ":"); ok {
			if _, err := netip.ParseAddr(host); err == nil {
				return false
			}
		}
	}
	return true
}
