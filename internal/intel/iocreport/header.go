package iocreport

import (
	"strings"

	"github.com/proxywatch/proxywatch"
	"github.com/proxywatch/proxywatch/internal/intel"
)

// text classifies a line without records as a header, prose or text.
// run is how many headers directly precede it: a short line after two
// headers in a row is an item of a list ("usernames:" then one name a
// line), not a third title.
func (r *Reader) text(s string, run int) {
	words := strings.Fields(s)
	last := s[len(s)-1]
	switch {
	case strings.HasPrefix(s, "#"):
		name := strings.TrimSpace(strings.TrimLeft(s, "#"))
		if !hasLetter(name) {
			r.skipped["text"]++
			return
		}
		r.header(name, false, 0)
	case isField(s) || hashNames(words):
		// "File name: x.sh", "Name of disk:/tmp/x", "SHA-256": fields and
		// hash labels, not sections.
		r.skipped["text"]++
	case last == ':' && len(words) <= 15:
		r.header(strings.TrimSpace(strings.TrimRight(s, ":")), true, run)
	case run >= 2 && len(words) <= 10:
		r.headerRun = run + 1
		r.skipped["text"]++
	case len(words) <= 10 && len(s) <= 100 && !strings.ContainsRune(".!?,;", rune(last)) &&
		!strings.ContainsAny(s, "{}=$<>|\\") && startsWord(s) && hasLetter(s):
		r.header(s, true, run)
	case len(words) >= 5 && (strings.ContainsRune(".!?:", rune(last)) || len(words) > 10):
		r.skipped["prose"]++
		if !r.sawHeader && !r.sawRecord && r.docKind == proxywatch.KindUnknown {
			r.docKind, _ = intel.Classify(s)
		}
	default:
		r.skipped["text"]++
	}
}

// header starts a section. A sub-header qualifies the main section
// instead of replacing it: one that starts with a qualifier (isSubHeader)
// or directly follows another header.
func (r *Reader) header(name string, maySub bool, run int) {
	r.headerRun = run + 1
	r.skipped["header"]++
	r.sawHeader = true
	name = intel.Truncate(strings.Join(strings.Fields(name), " "), 120)
	k, tg := intel.Classify(name)
	if maySub && (isSubHeader(name) || run > 0) && r.main.name != "" {
		if k == proxywatch.KindUnknown && !tg {
			k, tg = r.main.kind, r.main.target
		}
		r.cur = section{name: intel.Truncate(r.main.name+" / "+name, 160), kind: k, target: tg}
		return
	}
	r.main = section{name: name, kind: k, target: tg}
	r.cur = r.main
}

// isField reports whether s is "key: value" with a short key and a value
// that holds a path, a file name or a number.
func isField(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	key, value := s[:i], strings.TrimSpace(s[i+1:])
	return len(strings.Fields(key)) <= 4 && value != "" && strings.ContainsAny(value, "/\\._0123456789")
}

// hashNames reports whether words are only hash algorithm names.
func hashNames(words []string) bool {
	for _, w := range words {
		switch strings.ToLower(strings.Trim(w, ":")) {
		case "md5", "sha1", "sha-1", "sha256", "sha-256", "sha512", "sha-512", "imphash", "ssdeep":
		default:
			return false
		}
	}
	return len(words) > 0
}

func isSubHeader(name string) bool {
	n := strings.ToLower(name)
	for _, p := range []string{"(", "observed", "seen ", "since ", "active since", "active as of", "active from", "active between"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}
