package intel

import (
	"strings"

	"github.com/proxywatch/proxywatch"
)

// The keyword table that turns a section header, a table's
// "Characterization" cell, a "Description:" field or an inline label
// ("C2: ...") into a kind. Matching is on lower-case words (letters,
// digits and "&"; anything else separates words) and on a few phrases.
// The first rule that matches wins, so the order matters: "Router Proxy
// C2" is a C2, "Backconnect C2s" a backconnect C2, "REM Proxy C2s" a C2.
//
//	rule  words (w = whole word, p = word prefix, "..." = phrase)          kind
//	1     backconnect(p), "back connect"                                  backconnect-c2
//	2     c2(p: c2, c2s), c&c, cnc, "command and control",                c2
//	      "command & control", controller(p), callback(p),
//	      heartbeat(w), panel(p)
//	3     target(p), victim(p), "to ddos"                                 target: excluded, not a kind
//	4     collector(p), exfil(p), upload(w)                               collector
//	5     brute(p), "password guessing", "credential stuffing"            brute-force
//	6     scanner(p), scanning(w)                                          scanner
//	7     payload(p), download(p), malware(w), hosting(w), hoster(w),      malware-host
//	      hosted(w), staging(w), stagging(w), stager(p), dropper(p),
//	      compromised(w), distribution(w)
//	8     residential(w)                                                   residential-proxy
//	9     proxy(w), proxies(w), intermediary(w), relay(p)                  open-proxy
//	10    anonymi(p), vpn(w), tor(w), "exit node"        anonymizer
//
// Intermediary proxies and relays (rule 9) are taken as open-proxy: they
// carry traffic for someone else, which is what the verdict table answers
// for; residential exits are named as such by the reports that mean them.
// Rule 3 is checked after the C2 rules so that "Bot C2s to find victim
// DNS server" stays a C2 list, while "Domains to DDoS from Lua Script"
// and a "Targeted IP" column name victims, which are never indicators.

type rule struct {
	kind     proxywatch.Kind
	target   bool
	words    []string // whole words
	prefixes []string // word prefixes
	phrases  []string // space-separated, matched on word boundaries
}

var rules = []rule{
	{kind: proxywatch.KindBackconnectC2, prefixes: []string{"backconnect"}, phrases: []string{"back connect"}},
	{kind: proxywatch.KindC2, words: []string{"c&c", "cnc", "heartbeat"},
		prefixes: []string{"c2", "controller", "callback", "panel"},
		phrases:  []string{"command and control", "command & control", "c & c"}},
	{target: true, prefixes: []string{"target", "victim"}, phrases: []string{"to ddos"}},
	{kind: proxywatch.KindCollector, words: []string{"upload"}, prefixes: []string{"collector", "exfil"}},
	{kind: proxywatch.KindBruteForce, prefixes: []string{"brute"}, phrases: []string{"password guessing", "credential stuffing"}},
	{kind: proxywatch.KindScanner, words: []string{"scanning"}, prefixes: []string{"scanner"}},
	{kind: proxywatch.KindMalwareHost,
		words:    []string{"malware", "hosting", "hoster", "hosted", "staging", "stagging", "compromised", "distribution"},
		prefixes: []string{"payload", "download", "stager", "dropper"}},
	{kind: proxywatch.KindResidentialProxy, words: []string{"residential"}},
	{kind: proxywatch.KindOpenProxy, words: []string{"proxy", "proxies", "intermediary"}, prefixes: []string{"relay"}},
	{kind: proxywatch.KindAnonymizer, words: []string{"vpn", "tor"}, prefixes: []string{"anonymi"}, phrases: []string{"exit node"}},
}

// KindFromText returns the kind that a header, label or description names,
// by the keyword table above, or KindUnknown when it names none. Text that
// names victims ("targets") also gives KindUnknown.
func KindFromText(s string) proxywatch.Kind {
	k, _ := Classify(s)
	return k
}

// Classify returns the kind s names and whether it names victims.
func Classify(s string) (kind proxywatch.Kind, target bool) {
	words := splitWords(s)
	if len(words) == 0 {
		return proxywatch.KindUnknown, false
	}
	joined := " " + strings.Join(words, " ") + " "
	for _, r := range rules {
		if matches(r, words, joined) {
			return r.kind, r.target
		}
	}
	return proxywatch.KindUnknown, false
}

func matches(r rule, words []string, joined string) bool {
	for _, w := range words {
		for _, x := range r.words {
			if w == x {
				return true
			}
		}
		for _, p := range r.prefixes {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	for _, p := range r.phrases {
		if strings.Contains(joined, " "+p+" ") {
			return true
		}
	}
	return false
}

// splitWords lower-cases s and splits it into words of ASCII letters,
// digits and "&".
func splitWords(s string) []string {
	var words []string
	start := -1
	for i := 0; i <= len(s); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		word := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '&'
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			words = append(words, strings.ToLower(s[start:i]))
			start = -1
		}
	}
	return words
}
