package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// A token is a loaded bearer token. Only its SHA-256 is kept, so that
// comparisons take the same time whatever the presented token's length.
type token struct {
	name  string
	sum   [sha256.Size]byte
	write bool
}

// loadTokens reads every token refs name, reporting every problem. Errors
// name the reference (file path or variable name), never the content.
func loadTokens(refs []TokenRef, lookupEnv func(string) (string, bool)) ([]token, error) {
	var toks []token
	var errs []error
	for i, ref := range refs {
		var v string
		switch {
		case ref.File != "":
			b, err := os.ReadFile(ref.File)
			if err != nil {
				errs = append(errs, fmt.Errorf("tokens[%d] %q: %w", i, ref.Name, err))
				continue
			}
			v = string(b)
		case ref.Env != "":
			s, ok := lookupEnv(ref.Env)
			if !ok {
				errs = append(errs, fmt.Errorf("tokens[%d] %q: environment variable %s is not set", i, ref.Name, ref.Env))
				continue
			}
			v = s
		default:
			errs = append(errs, fmt.Errorf("tokens[%d] %q: neither file nor env is set", i, ref.Name))
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) < MinTokenLen || strings.ContainsAny(v, " \t\r\n") {
			errs = append(errs, fmt.Errorf("tokens[%d] %q: must be one word of at least %d bytes", i, ref.Name, MinTokenLen))
			continue
		}
		toks = append(toks, token{name: ref.Name, sum: sha256.Sum256([]byte(v)), write: !ref.ReadOnly})
	}
	return toks, errors.Join(errs...)
}

// access says what a route requires.
type access uint8

const (
	accessOpen  access = iota // anyone: the OpenAPI document
	accessRead                // anyone, or a token when reads are closed
	accessWrite               // a token that is not read-only
)

// authorize checks r's bearer token against need. It returns the token's
// name ("" when none was needed and none given), errUnauthorized when a
// required token is missing or wrong, and errForbidden when a read-only
// token is used to write. Every configured token is compared, in constant
// time, whatever matches.
func (s *Server) authorize(r *http.Request, need access) (string, error) {
	if need == accessOpen || (need == accessRead && !s.cfg.ReadRequiresToken && r.Header.Get("Authorization") == "") {
		return "", nil
	}
	h := r.Header.Get("Authorization")
	scheme, presented, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errUnauthorized
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(presented)))
	var match *token
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
			match = &s.tokens[i]
		}
	}
	switch {
	case match == nil:
		return "", errUnauthorized
	case need == accessWrite && !match.write:
		return match.name, errForbidden
	}
	return match.name, nil
}
