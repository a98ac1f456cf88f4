package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// converter turns yaml.v3 nodes into a JSON value and records positions.
// Problems local to one key (a duplicate, a merge key) are reported and the
// key skipped; problems that make the whole document unusable (alias bombs,
// cycles, excessive nesting) stop the conversion.
type converter struct {
	doc    *document
	nodes  int
	active map[*yaml.Node]bool // aliases being expanded, to detect cycles
	diags  []Diagnostic
	// usedAt, while an alias is expanded, is where the alias is written:
	// every node it brings is reported there, where the reader used it,
	// not inside the anchor.
	usedAt *position
}

// at returns where a node is reported.
func (c *converter) at(n *yaml.Node) position {
	if c.usedAt != nil {
		return *c.usedAt
	}
	return position{n.Line, n.Column}
}

func (c *converter) fail(n *yaml.Node, format string, args ...any) {
	p := c.at(n)
	c.diags = append(c.diags, *fileDiag(max(p.line, 1), max(p.col, 1), format, args...))
}

func (c *converter) convert(n *yaml.Node, ptr string, depth int) (any, bool) {
	c.nodes++
	switch {
	case c.nodes > maxNodes:
		c.fail(n, "document expands to more than %d nodes (are YAML aliases multiplying it?)", maxNodes)
		return nil, false
	case depth > maxDepth:
		c.fail(n, "document nests deeper than %d levels", maxDepth)
		return nil, false
	}
	if n.Kind != yaml.AliasNode {
		c.doc.values[ptr] = c.at(n)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.alias(n, ptr, depth)
	case yaml.MappingNode:
		return c.mapping(n, ptr, depth)
	case yaml.SequenceNode:
		return c.sequence(n, ptr, depth)
	case yaml.ScalarNode:
		return scalar(n), true
	}
	c.fail(n, "unexpected YAML node")
	return nil, false
}

func (c *converter) alias(n *yaml.Node, ptr string, depth int) (any, bool) {
	c.doc.values[ptr] = c.at(n)
	target := n.Alias
	if target == nil {
		c.fail(n, "YAML alias *%s has no anchor", n.Value)
		return nil, false
	}
	if c.active[target] {
		c.fail(n, "YAML alias *%s refers to a node that contains it", n.Value)
		return nil, false
	}
	c.active[target] = true
	defer delete(c.active, target)
	if c.usedAt == nil { // the outermost alias is where the reader looks
		c.usedAt = &position{n.Line, n.Column}
		defer func() { c.usedAt = nil }()
	}
	v, ok := c.convert(target, ptr, depth+1)
	c.doc.values[ptr] = c.at(n)
	return v, ok
}

func (c *converter) mapping(n *yaml.Node, ptr string, depth int) (any, bool) {
	out := make(map[string]any, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := c.key(k)
		if !ok {
			continue
		}
		if line, dup := seen[key]; dup {
			c.fail(k, "duplicate key %q (first defined at line %d)", key, line)
			continue
		}
		seen[key] = c.at(k).line
		child := childPtr(ptr, key)
		c.doc.keys[child] = c.at(k)
		val, ok := c.convert(v, child, depth+1)
		if !ok {
			return nil, false
		}
		out[key] = val
	}
	return out, true
}

// key returns the string form of a mapping key, and false for keys JSON
// cannot represent.
func (c *converter) key(k *yaml.Node) (string, bool) {
	switch {
	case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
		c.fail(k, "merge keys (<<) are not supported; write the keys out")
		return "", false
	case k.Kind == yaml.AliasNode && k.Alias != nil && k.Alias.Kind == yaml.ScalarNode:
		return k.Alias.Value, true
	case k.Kind != yaml.ScalarNode:
		c.fail(k, "mapping keys must be plain strings, not a list or mapping")
		return "", false
	}
	return k.Value, true
}

func (c *converter) sequence(n *yaml.Node, ptr string, depth int) (any, bool) {
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		v, ok := c.convert(item, childPtr(ptr, strconv.Itoa(i)), depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// scalar converts a scalar node. Tags other than null, bool, int and float
// (strings, timestamps, binary, custom tags) keep the text as written, so
// that 2024-01-01 stays a string rather than becoming a time.
func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var v any
		if n.Decode(&v) == nil {
			return numberOf(v, n.Value)
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

func numberOf(v any, text string) any {
	switch v := v.(type) {
	case int:
		return json.Number(strconv.Itoa(v))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	}
	return text
}

// childPtr appends an escaped token to a JSON pointer (RFC 6901).
func childPtr(ptr, token string) string {
	token = strings.ReplaceAll(token, "~", "~0")
	return ptr + "/" + strings.ReplaceAll(token, "/", "~1")
}

// parentPtr drops the last token of a pointer; the root is its own parent.
func parentPtr(ptr string) string {
	return ptr[:max(strings.LastIndexByte(ptr, '/'), 0)]
}

// splitPtr returns the unescaped tokens of a pointer.
func splitPtr(ptr string) []string {
	if ptr == "" {
		return nil
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// lastToken returns the unescaped last token of ptr.
func lastToken(ptr string) string {
	toks := splitPtr(ptr)
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1]
}

// dotted renders a pointer as a path readers know from the file, such as
// userMappings.mappings[2].horizonUser.
func dotted(ptr string) string {
	var b strings.Builder
	for _, t := range splitPtr(ptr) {
		if _, err := strconv.Atoi(t); err == nil {
			fmt.Fprintf(&b, "[%s]", t)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}
