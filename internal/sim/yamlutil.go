package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DurRange is a [min, max] pair of durations, written "[20ms, 400ms]".
type DurRange [2]time.Duration

// IntRange is a [min, max] pair of integers.
type IntRange [2]int

// FloatRange is a [min, max] pair of numbers.
type FloatRange [2]float64

func decodePair[T any](n *yaml.Node, out *[2]T) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		return fmt.Errorf("line %d: want a pair [min, max]", n.Line)
	}
	for i, c := range n.Content {
		if err := c.Decode(&out[i]); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *DurRange) UnmarshalYAML(n *yaml.Node) error { return decodePair(n, (*[2]time.Duration)(r)) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *IntRange) UnmarshalYAML(n *yaml.Node) error { return decodePair(n, (*[2]int)(r)) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *FloatRange) UnmarshalYAML(n *yaml.Node) error { return decodePair(n, (*[2]float64)(r)) }

var lineRE = regexp.MustCompile(`line (\d+): `)

// decodeStrict decodes one YAML document into v, refusing unknown keys,
// and names the YAML path of each key an error is about.
func decodeStrict(b []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return annotate(err, &root)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

// annotate prefixes each "line N: ..." message of err with the YAML path
// of the key on that line.
func annotate(err error, root *yaml.Node) error {
	msgs := strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n")
	var out []string
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if sm := lineRE.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			if p := keyAt(root, line, ""); p != "" {
				m = p + ": " + strings.TrimPrefix(m, "yaml: ")
			}
		}
		out = append(out, m)
	}
	return errors.New(strings.Join(out, "; "))
}

// keyAt returns the dotted path of the mapping key that the text on line
// belongs to, or "".
func keyAt(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return keyAt(n.Content[0], line, path)
		}
	case yaml.MappingNode:
		best := -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Line <= line {
				best = i
			}
		}
		if best < 0 {
			return path
		}
		p := n.Content[best].Value
		if path != "" {
			p = path + "." + p
		}
		if v := n.Content[best+1]; v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode {
			if q := keyAt(v, line, p); q != "" {
				return q
			}
		}
		return p
	case yaml.SequenceNode:
		best := -1
		for i, c := range n.Content {
			if c.Line <= line {
				best = i
			}
		}
		if best < 0 {
			return path
		}
		p := fmt.Sprintf("%s[%d]", path, best)
		if c := n.Content[best]; c.Kind == yaml.MappingNode && c.Line <= line {
			return keyAt(c, line, p)
		}
		if c := n.Content[best]; c.Kind == yaml.ScalarNode {
			return path
		}
		return p
	}
	return path
}
