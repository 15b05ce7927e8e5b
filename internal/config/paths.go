package config

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// linePaths maps each line of a YAML document that holds a mapping key to
// the key's path, e.g. 4 -> "feeds.defaults.treshold", so that decoding
// errors, which yaml.v3 reports by line, can name the key's path too.
func linePaths(data []byte) map[int]string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	paths := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				paths[k.Line] = p
				if v.Line != k.Line || v.Kind != yaml.ScalarNode {
					walk(v, p)
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := path + "[" + strconv.Itoa(i) + "]"
				if _, ok := paths[c.Line]; !ok {
					paths[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(&doc, "")
	return paths
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// withPaths adds the key path after each "line N: " in msg.
func withPaths(msg string, paths map[int]string) string {
	return lineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(m, "line "), ": "))
		if p, ok := paths[n]; ok {
			return "line " + strconv.Itoa(n) + " (" + p + "): "
		}
		return m
	})
}
