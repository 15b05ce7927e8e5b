package logparse

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch"
)

// A Rule says which access log requests are logins and with what outcome.
// Every condition given must hold; an empty condition holds for any
// request.
type Rule struct {
	// Name identifies the rule in errors and documentation.
	Name string `yaml:"name"`
	// Methods are the request methods, e.g. [POST].
	Methods []string `yaml:"methods"`
	// Path is an RE2 regular expression matched against the request path,
	// without the query string and with an absolute URL's scheme and host
	// removed. It is not percent-decoded.
	Path string `yaml:"path"`
	// Query is an RE2 regular expression matched against the query string,
	// without the '?' (empty when there is none).
	Query string `yaml:"query"`
	// Status lists response statuses: "401", "4xx" or "300-399".
	Status []string `yaml:"status"`
	// User is "any" (the default), "present" or "absent": whether the
	// log's user field (%u, $remote_user) must hold a name.
	User string `yaml:"user"`
	// Outcome is the event type of a matching request: "failure",
	// "success" or "invalid-user".
	Outcome string `yaml:"outcome"`
	// Method is the events' Method: "form" (the default), "basic" or
	// another short word.
	Method string `yaml:"method"`
}

// Preset names.
const (
	PresetWordPress = "wordpress"
	PresetLogin     = "login"
	PresetBasicAuth = "basic-auth"
)

// wpQuery admits wp-login.php posts that are logins, not password resets
// or registrations (which carry action=...).
const wpQuery = `^(?:$|(?:redirect_to|reauth|interim-login|wp_lang|testcookie)=)`

// presets are the built-in rule sets; docs/logs.md describes them.
var presets = map[string][]Rule{
	// WordPress answers a failed wp-login.php post with the form again
	// (200) and a successful one with a redirect (302). xmlrpc.php answers
	// 200 whatever happened, so every post to it counts as a failure: it
	// is the brute forcers' favourite door.
	PresetWordPress: {
		{Name: "wp-login-failure", Methods: []string{"POST"}, Path: `^/(?:.*/)?wp-login\.php$`, Query: wpQuery, Status: []string{"200"}, Outcome: "failure", Method: "form"},
		{Name: "wp-login-success", Methods: []string{"POST"}, Path: `^/(?:.*/)?wp-login\.php$`, Query: wpQuery, Status: []string{"302"}, Outcome: "success", Method: "form"},
		{Name: "wp-xmlrpc", Methods: []string{"POST"}, Path: `^/(?:.*/)?xmlrpc\.php$`, Status: []string{"200"}, Outcome: "failure", Method: "xmlrpc"},
	},
	// A form login in the post/redirect/get style: the form again (200)
	// or a refusal (401, 403) is a failure, a redirect a success.
	PresetLogin: {
		{Name: "login-failure", Methods: []string{"POST"}, Path: loginPath, Status: []string{"200", "401", "403"}, Outcome: "failure", Method: "form"},
		{Name: "login-success", Methods: []string{"POST"}, Path: loginPath, Status: []string{"302", "303"}, Outcome: "success", Method: "form"},
	},
	// HTTP basic authentication: a 401 for a request that carried a user
	// name is a failed password; any other answer to one is a success.
	// A 401 without a user name is the browser's first, credential-less
	// request and no attempt.
	PresetBasicAuth: {
		{Name: "basic-failure", Status: []string{"401"}, User: "present", Outcome: "failure", Method: "basic"},
		{Name: "basic-success", Status: []string{"2xx", "3xx"}, User: "present", Outcome: "success", Method: "basic"},
	},
}

const loginPath = `(?i)^/(?:[^/]+/)*(?:log-?in|log_in|sign-?in|sign_in|logon|login_form|require_login)(?:\.[a-z]+)?/?$`

// A rule is a compiled Rule.
type rule struct {
	methods [][]byte
	path    *regexp.Regexp
	query   *regexp.Regexp
	status  [][2]int
	user    byte // 'a'ny, 'p'resent, 'n' absent
	typ     proxywatch.EventType
	method  string
}

func (r Rule) compile() (rule, error) {
	var c rule
	var errs []error
	for _, m := range r.Methods {
		if m == "" || strings.ContainsAny(m, " \t") {
			errs = append(errs, fmt.Errorf("methods: %q is not a request method", m))
		}
		c.methods = append(c.methods, []byte(m))
	}
	var err error
	if r.Path != "" {
		if c.path, err = regexp.Compile(r.Path); err != nil {
			errs = append(errs, fmt.Errorf("path: %w", err))
		}
	}
	if r.Query != "" {
		if c.query, err = regexp.Compile(r.Query); err != nil {
			errs = append(errs, fmt.Errorf("query: %w", err))
		}
	}
	for _, s := range r.Status {
		rng, err := statusRange(s)
		if err != nil {
			errs = append(errs, err)
		}
		c.status = append(c.status, rng)
	}
	switch r.User {
	case "", "any":
		c.user = 'a'
	case "present":
		c.user = 'p'
	case "absent":
		c.user = 'n'
	default:
		errs = append(errs, fmt.Errorf("user %q: must be any, present or absent", r.User))
	}
	switch r.Outcome {
	case "failure":
		c.typ = proxywatch.EventLoginFailure
	case "success":
		c.typ = proxywatch.EventLoginSuccess
	case "invalid-user":
		c.typ = proxywatch.EventInvalidUser
	default:
		errs = append(errs, fmt.Errorf("outcome %q: must be failure, success or invalid-user", r.Outcome))
	}
	c.method = r.Method
	if c.method == "" {
		c.method = "form"
	}
	if err := errors.Join(errs...); err != nil {
		if r.Name != "" {
			err = fmt.Errorf("rule %q: %w", r.Name, err)
		}
		return rule{}, err
	}
	return c, nil
}

// statusRange parses "401", "4xx" or "400-499".
func statusRange(s string) ([2]int, error) {
	bad := fmt.Errorf("status %q: must be a code (401), a class (4xx) or a range (400-499)", s)
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '9' {
		lo := int(s[0]-'0') * 100
		return [2]int{lo, lo + 99}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 100 || b > 999 || a > b {
		return [2]int{}, bad
	}
	return [2]int{a, b}, nil
}

// match reports whether rec satisfies every condition of r, cheapest first.
func (r *rule) match(rec *AccessRecord) bool {
	if len(r.status) > 0 {
		ok := false
		for _, s := range r.status {
			if rec.Status >= s[0] && rec.Status <= s[1] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	switch r.user {
	case 'p':
		if len(rec.User) == 0 {
			return false
		}
	case 'n':
		if len(rec.User) != 0 {
			return false
		}
	}
	if len(r.methods) > 0 {
		ok := false
		for _, m := range r.methods {
			if bytes.Equal(m, rec.Method) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if r.path != nil && !r.path.Match(rec.Path) {
		return false
	}
	return r.query == nil || r.query.Match(rec.Query)
}
