package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// DefaultMaxSize is the largest file Load accepts unless LoadOptions says
// otherwise. Real files are a few kilobytes.
const DefaultMaxSize = 1 << 20

const (
	// maxNodes bounds the nodes a document may expand to, aliases included,
	// so that an alias bomb ("billion laughs") fails fast.
	maxNodes = 100_000
	// maxDepth bounds nesting; the format itself is six levels deep.
	maxDepth = 64
)

// position is a 1-based line and column.
type position struct{ line, col int }

// document is a YAML file turned into a JSON value (map[string]any, []any,
// string, json.Number, bool, nil), with the position of every node.
type document struct {
	root   any
	values map[string]position // JSON pointer → value node
	keys   map[string]position // JSON pointer → key node (mapping members)
}

// at returns the position of the value at ptr, or of its nearest ancestor.
func (d *document) at(ptr string) position {
	for {
		if p, ok := d.values[ptr]; ok {
			return p
		}
		if ptr == "" {
			return position{1, 1}
		}
		ptr = parentPtr(ptr)
	}
}

// keyAt returns the position of the key of the member at ptr, or at(ptr)
// for array items and the root.
func (d *document) keyAt(ptr string) position {
	if p, ok := d.keys[ptr]; ok {
		return p
	}
	return d.at(ptr)
}

// lookup returns the value at ptr.
func (d *document) lookup(ptr string) (any, bool) {
	v := d.root
	if ptr == "" {
		return v, true
	}
	for _, tok := range splitPtr(ptr) {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// readDocument checks the raw bytes, parses the single YAML document and
// converts it. It returns nil and the reasons when the file cannot be read
// as a document at all.
func readDocument(data []byte, maxSize int64) (*document, []Diagnostic) {
	if d := checkBytes(data, maxSize); d != nil {
		return nil, []Diagnostic{*d}
	}
	root, diags := parseYAML(data)
	if root == nil {
		return nil, diags
	}
	c := &converter{doc: &document{values: map[string]position{}, keys: map[string]position{}}, active: map[*yaml.Node]bool{}}
	v, ok := c.convert(root, "", 0)
	if !ok {
		return nil, c.diags
	}
	c.doc.root = v
	return c.doc, c.diags
}

// checkBytes rejects files that are too large, binary or not UTF-8.
func checkBytes(data []byte, maxSize int64) *Diagnostic {
	switch {
	case int64(len(data)) > maxSize:
		return tooLarge(int64(len(data)), maxSize)
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return fileDiag(1, 1, "file is UTF-16 encoded; save it as UTF-8")
	case bytes.IndexByte(data, 0) >= 0:
		line, col := offsetPosition(data, bytes.IndexByte(data, 0))
		return fileDiag(line, col, "file is binary (NUL byte at line %d, column %d); a configuration must be UTF-8 text", line, col)
	case !utf8.Valid(data):
		off := invalidUTF8Offset(data)
		line, col := offsetPosition(data, off)
		return fileDiag(line, col, "file is not valid UTF-8 (byte 0x%02X at line %d, column %d); save it as UTF-8", data[off], line, col)
	case len(bytes.TrimSpace(data)) == 0:
		return fileDiag(1, 1, "file is empty")
	}
	return nil
}

func tooLarge(size, limit int64) *Diagnostic {
	lim := formatSize(limit)
	if limit%(1<<20) == 0 {
		lim = strconv.FormatInt(limit>>20, 10) + " MiB"
	}
	return fileDiag(1, 1, "file is %s; the limit is %s", formatSize(size), lim)
}

func fileDiag(line, col int, format string, args ...any) *Diagnostic {
	return &Diagnostic{Line: line, Col: col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)}
}

// formatSize prints a byte count in binary units, as the limit is given.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func invalidUTF8Offset(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			return off
		}
		off += size
	}
	return 0
}

// offsetPosition converts a byte offset to a 1-based line and column
// (columns count runes).
func offsetPosition(data []byte, off int) (int, int) {
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// parseYAML parses exactly one YAML document and returns its root node.
func parseYAML(data []byte) (root *yaml.Node, diags []Diagnostic) {
	defer func() {
		if r := recover(); r != nil { // the parser is third-party code: never crash on input
			root, diags = nil, []Diagnostic{*fileDiag(1, 1, "YAML parser failed: %v", r)}
		}
	}()
	dec, err := yaml.NewLoader(bytes.NewReader(acceptYAML12(data)))
	if err != nil {
		return nil, []Diagnostic{*fileDiag(1, 1, "YAML parser failed: %v", err)}
	}
	var doc yaml.Node
	if err := dec.Load(&doc); errors.Is(err, io.EOF) {
		return nil, []Diagnostic{*fileDiag(1, 1, "file has no YAML content (only comments or blank lines)")}
	} else if err != nil {
		return nil, []Diagnostic{syntaxDiag(err, data)}
	}
	var next yaml.Node
	if err := dec.Load(&next); err == nil {
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, []Diagnostic{*fileDiag(line, 1, "file holds more than one YAML document (another starts near line %d); use one file per account", line)}
	} else if !errors.Is(err, io.EOF) {
		return nil, []Diagnostic{syntaxDiag(err, data)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, []Diagnostic{*fileDiag(1, 1, "file has no YAML content (the document is empty)")}
	}
	return doc.Content[0], nil
}

// yaml12RE matches a %YAML 1.2 directive line.
var yaml12RE = regexp.MustCompile(`(?m)^%YAML[ \t]+1\.2([ \t]|$)`)

// acceptYAML12 lets a %YAML 1.2 directive through. The parser knows only
// 1.1 directives, yet its node tree follows 1.2's core schema (yes and on
// are strings, as 1.2 says), so 1.2 is what it reads. The directive becomes
// %YAML 1.1, the same length: every position stays exact.
func acceptYAML12(data []byte) []byte {
	loc := yaml12RE.FindIndex(data)
	if loc == nil {
		return data
	}
	out := bytes.Clone(data)
	dot := bytes.Index(out[loc[0]:loc[1]], []byte("1.2")) + loc[0]
	out[dot+2] = '1'
	return out
}

var yamlAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// syntaxDiag turns a parser error into a diagnostic at the exact line and
// column where the parser stopped. A tab in the indentation is the most
// common cause and gets its own message; an unclosed flow collection or
// quoted string names where it was opened.
func syntaxDiag(err error, data []byte) Diagnostic {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return *fileDiag(1, 1, "YAML syntax error: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msg, at, ctx := le.Message, le.Mark, le.ContextMark
	if at.Line < 1 {
		at = ctx
	}
	if m := yamlAnchorRE.FindStringSubmatch(msg); m != nil {
		return *fileDiag(max(at.Line, 1), max(at.Column, 1), "YAML alias *%s refers to an anchor that is not defined before it", m[1])
	}
	if col, ok := tabInIndent(data, at.Line); ok {
		return *fileDiag(at.Line, col, "tab character in indentation; YAML indents with spaces only")
	}
	switch {
	case msg == "found incompatible YAML document":
		return *fileDiag(at.Line, max(at.Column, 1), "%s directive: only YAML 1.1 and 1.2 are supported", directiveAt(data, at.Line))
	case closedQuote(data, at):
		msg += " (the single-quoted string before this ended at its second '; write an apostrophe inside it as '')"
	}
	if msg == "found unexpected end of stream" && ctx.Line > 0 {
		// The end of the file is no place to look: the string or
		// collection that never closed starts at the context mark.
		at = ctx
	} else if what, ok := unclosed[le.ContextMsg]; ok && ctx.Line > 0 && ctx.Line < at.Line {
		msg += fmt.Sprintf(" (the %s opened at line %d, column %d is not closed)", what, ctx.Line, ctx.Column)
	}
	if at.Line < 1 {
		return *fileDiag(1, 1, "YAML syntax error: %s", msg)
	}
	return *fileDiag(at.Line, max(at.Column, 1), "YAML syntax error: %s", msg)
}

// unclosed names the collections whose missing } or ] the parser can only
// notice at the next token, often on a later line.
var unclosed = map[string]string{
	"while parsing a flow mapping":  "flow mapping {",
	"while parsing a flow sequence": "flow sequence [",
}

// closedQuote reports whether the character before at is the ' that ends a
// single-quoted string: an apostrophe meant inside it, as in 'Bob's MSP'.
func closedQuote(data []byte, at yaml.Mark) bool {
	lines := strings.Split(string(data), "\n")
	if at.Line < 1 || at.Line > len(lines) || at.Column < 2 {
		return false
	}
	r := []rune(lines[at.Line-1])
	if at.Column-2 >= len(r) || r[at.Column-2] != '\'' {
		return false
	}
	return strings.Count(string(r[:at.Column-1]), "'") >= 2
}

// directiveAt returns the directive written on line, such as %YAML 2.0.
func directiveAt(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return "%YAML"
	}
	if i := strings.IndexByte(lines[line-1], '#'); i >= 0 {
		return strings.TrimSpace(lines[line-1][:i])
	}
	return strings.TrimSpace(lines[line-1])
}

// tabInIndent returns the column of a tab in the indentation of line.
func tabInIndent(data []byte, line int) (int, bool) {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return 0, false
	}
	l := lines[line-1]
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	if j := strings.IndexByte(indent, '\t'); j >= 0 && strings.TrimSpace(l) != "" {
		return j + 1, true
	}
	return 0, false
}
