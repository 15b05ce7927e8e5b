// Package config composes every component's Config into the proxywatch
// configuration file, decodes it strictly, applies PROXYWATCH_* environment
// overrides, and validates the result, reporting every problem at once with
// its YAML path.
//
// Components own their settings (Config, DefaultConfig, Validate beside the
// code they configure); this package only assembles them. It is imported by
// internal/app and the command, never by a component.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path, or the defaults when path is
// empty, then applies the environment env (os.Environ form) and validates.
// Every problem is reported, joined, each prefixed with its YAML path or
// variable name.
func Load(path string, env []string) (File, error) {
	var data []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return File{}, fmt.Errorf("read config: %w", err)
		}
		data = b
	}
	return Parse(data, env)
}

// Parse decodes data (YAML; empty means all defaults) over the defaults,
// applies env overrides and validates.
func Parse(data []byte, env []string) (File, error) {
	f := Default()
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && err != io.EOF {
			return File{}, fmt.Errorf("parse config: %s", withPaths(tidyYAMLError(err).Error(), linePaths(data)))
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); err != io.EOF {
			return File{}, errors.New("parse config: more than one YAML document")
		}
	}
	if err := applyEnv(&f, env); err != nil {
		return File{}, err
	}
	f.Resolve()
	if err := f.Validate(); err != nil {
		return File{}, err
	}
	return f, nil
}

// Dump returns the effective configuration as YAML, with secrets redacted.
func Dump(f File) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// tidyYAMLError shortens yaml.v3's messages, which start with "yaml: ".
func tidyYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// prefixed prefixes every error joined in err with path, so a component's
// "ttl 1ms: must be at least 1s" reads "dnsbl.ttl 1ms: must be at least 1s".
func prefixed(path string, err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, prefixed(path, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s.%w", path, err)}
}

// A Secret is a string that never appears in dumps or logs. Configure it
// inline, through a PROXYWATCH_* variable, or better by a *_file path.
type Secret string

// String returns a redaction marker, or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// MarshalYAML redacts the secret in dumps.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
