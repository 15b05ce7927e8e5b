package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override. PROXYWATCH_TEST_* variables
// belong to the test suite and PROXYWATCH_CONFIG to the command; both are
// ignored here.
const EnvPrefix = "PROXYWATCH_"

// applyEnv sets each PROXYWATCH_<SECTION>_<FIELD> variable in env on f. A
// variable that names no field is an error, as an unknown key is.
func applyEnv(f *File, env []string) error {
	fields := map[string]envField{}
	collectEnv(reflect.ValueOf(f).Elem(), nil, fields)
	var errs []error
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) ||
			strings.HasPrefix(name, EnvPrefix+"TEST_") || name == EnvPrefix+"CONFIG" {
			continue
		}
		fld, ok := fields[strings.TrimPrefix(name, EnvPrefix)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown variable (no such key; see `proxywatch config dump`)", name))
			continue
		}
		if err := yaml.Unmarshal([]byte(value), fld.v.Addr().Interface()); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", name, fld.path, tidyYAMLError(err)))
		}
	}
	return errors.Join(errs...)
}

// envField is one settable leaf of the configuration.
type envField struct {
	path string // YAML path, e.g. "telemetry.listen"
	v    reflect.Value
}

// collectEnv maps upper-case underscore names to every scalar leaf under v.
// Slices and maps are leaves too (their value is YAML flow syntax, e.g.
// PROXYWATCH_ALLOWLIST_PREFIXES='[192.0.2.0/24]').
func collectEnv(v reflect.Value, path []string, out map[string]envField) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		opts := strings.Split(sf.Tag.Get("yaml"), ",")
		tag := opts[0]
		if tag == "-" {
			continue
		}
		if slices.Contains(opts[1:], "inline") && v.Field(i).Kind() == reflect.Struct {
			collectEnv(v.Field(i), path, out)
			continue
		}
		if tag == "" {
			tag = strings.ToLower(sf.Name)
		}
		p := append(path[:len(path):len(path)], tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !leafStruct(fv) {
			collectEnv(fv, p, out)
			continue
		}
		key := strings.ToUpper(strings.ReplaceAll(strings.Join(p, "_"), "-", "_"))
		out[key] = envField{path: strings.Join(p, "."), v: fv}
	}
}

// leafStruct reports whether a struct value decodes from a YAML scalar
// (netip.Prefix, time.Time and the like) and so is one setting.
func leafStruct(v reflect.Value) bool {
	_, ok := v.Addr().Interface().(interface{ UnmarshalText([]byte) error })
	return ok
}

// EnvNames lists every accepted override variable, sorted.
func EnvNames() []string {
	f := Default()
	fields := map[string]envField{}
	collectEnv(reflect.ValueOf(&f).Elem(), nil, fields)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, EnvPrefix+k)
	}
	sort.Strings(names)
	return names
}
