package rbldnsdset

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/proxywatch/proxywatch/internal/intel"
)

// special handles a special line; s is what follows the "$". It returns
// a refusal for a special it cannot read or does not know.
func (r *Reader) special(s, line string) *intel.ParseError {
	name, args, _ := strings.Cut(s, " ")
	if i := strings.IndexByte(name, '\t'); i >= 0 {
		name, args = name[:i], name[i+1:]+" "+args
	}
	args = strings.TrimSpace(args)
	fail := func(reason string, err error) *intel.ParseError {
		return intel.NewParseError(r.feed, r.lr.Line(), reason, line, err)
	}
	switch strings.ToUpper(name) {
	case "TTL":
		d, err := parseDuration(args)
		if err != nil {
			return fail(intel.ReasonBadValue, fmt.Errorf("$TTL: %w", err))
		}
		r.ttl = d
	case "TIMESTAMP":
		stamp, expires, err := parseTimestamp(args)
		if err != nil {
			return fail(intel.ReasonBadValue, err)
		}
		r.stamp, r.expires = stamp, expires
	case "MAXRANGE4":
		n, err := parseMaxRange(args)
		if err != nil {
			return fail(intel.ReasonBadValue, err)
		}
		if r.maxRange == 0 || n < r.maxRange { // it may shrink, never grow
			r.maxRange = n
		}
	case "DATASET":
		return r.startDataset(args, fail)
	case "SOA", "NS", "=", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9":
		// Zone and TXT settings that do not bear on what is listed.
	default:
		return fail(intel.ReasonUnsupported, fmt.Errorf("special $%s", name))
	}
	return nil
}

// parseMaxRange reads "$MAXRANGE4 256" or "$MAXRANGE4 /24" as a number
// of addresses.
func parseMaxRange(s string) (uint64, error) {
	if l, ok := strings.CutPrefix(s, "/"); ok {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > 32 {
			return 0, fmt.Errorf("$MAXRANGE4 %q: want a count or /0 to /32", s)
		}
		return uint64(1) << (32 - n), nil
	}
	n, err := strconv.ParseUint(s, 10, 33)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("$MAXRANGE4 %q: want a count or /0 to /32", s)
	}
	return n, nil
}

// startDataset reads "$DATASET type[:name] subzone...": the lines after
// it are entries of that type, in a section named after it. Defaults and
// $MAXRANGE4 apply per dataset.
func (r *Reader) startDataset(args string, fail func(string, error) *intel.ParseError) *intel.ParseError {
	spec, _, _ := strings.Cut(args, " ")
	typ, name, _ := strings.Cut(spec, ":")
	if typ == "" {
		r.ds = dsOther
		r.section = ""
		return fail(intel.ReasonBadValue, errors.New("$DATASET: missing type"))
	}
	r.def, r.maxRange = value{}, 0
	r.section = name
	if r.section == "" {
		r.section = typ
	}
	ds, ok := datasetNames[strings.ToLower(typ)]
	switch {
	case !ok || ds == dsAuto:
		r.ds = dsOther // dnset, generic, acl...: no IP entries to read
	case r.param != dsAuto && r.param != ds:
		r.ds = dsOther
		return fail(intel.ReasonUnsupported, fmt.Errorf("$DATASET %s in a document read as %s", typ, dsName(r.param)))
	default:
		r.ds = ds
	}
	return nil
}
