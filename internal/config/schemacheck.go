package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/horizon/reconciler/schema"
)

// compiledSchema is the embedded schema, compiled once, with its raw JSON
// kept to look up keywords (required, properties, enum, errorMessage) when
// translating failures.
type compiledSchema struct {
	schema *jsonschema.Schema
	raw    any
}

var loadSchema = sync.OnceValues(func() (*compiledSchema, error) {
	s, err := schema.Compile()
	if err != nil {
		return nil, err
	}
	var raw any
	if err := json.Unmarshal(schema.JSON(), &raw); err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	return &compiledSchema{schema: s, raw: raw}, nil
})

// checkSchema validates doc against the schema and translates every
// failure into a diagnostic.
func checkSchema(doc *document) ([]Diagnostic, error) {
	cs, err := loadSchema()
	if err != nil {
		return nil, err
	}
	err = cs.schema.Validate(doc.root)
	if err == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, fmt.Errorf("validate against schema: %w", err)
	}
	t := &translator{raw: cs.raw, doc: doc}
	t.walk(ve)
	return t.diags, nil
}

// translator turns the library's error tree into sentences at positions.
type translator struct {
	raw   any
	doc   *document
	diags []Diagnostic
}

func (t *translator) walk(ve *jsonschema.ValidationError) {
	if len(ve.Causes) == 0 {
		t.leaf(ve)
		return
	}
	if kw := lastToken(keywordPtr(ve)); kw == "anyOf" || kw == "oneOf" {
		// The schema avoids anyOf/oneOf; should one appear, say so plainly
		// rather than listing every branch's failure.
		ptr := instancePtr(ve.InstanceLocation)
		t.add(ptr, t.doc.at(ptr), "%s does not match any of the allowed forms", subject(ptr))
		return
	}
	for _, c := range ve.Causes {
		t.walk(c)
	}
}

// failure is one leaf error with everything needed to phrase it.
type failure struct {
	ptr     string         // instance pointer
	value   any            // instance value at ptr
	keyword string         // failing keyword; "" for a false schema
	node    map[string]any // schema object holding the keyword
	sptr    string         // schema pointer of node
}

func (t *translator) leaf(ve *jsonschema.ValidationError) {
	f := failure{ptr: instancePtr(ve.InstanceLocation)}
	f.value, _ = t.doc.lookup(f.ptr)
	sptr := keywordPtr(ve)
	f.keyword, f.sptr = lastToken(sptr), parentPtr(sptr)
	f.node, _ = resolvePtr(t.raw, f.sptr).(map[string]any)
	if b, ok := resolvePtr(t.raw, sptr).(bool); ok && !b && f.keyword != "additionalProperties" && f.keyword != "unevaluatedProperties" {
		t.falseSchema(f, sptr)
		return
	}
	if f.sptr == "/$defs/secretRef" && slices.Contains([]string{"type", "minProperties", "maxProperties"}, f.keyword) {
		t.add(f.ptr, t.doc.at(f.ptr), "%s", secretMessage(f))
		return
	}
	switch f.keyword {
	case "required":
		t.required(f)
	case "additionalProperties", "unevaluatedProperties":
		t.unknownKeys(f)
	case "uniqueItems":
		t.duplicates(f)
	default:
		t.add(f.ptr, t.doc.at(f.ptr), "%s", valueMessage(f, ve.ErrorKind.LocalizedString(english)))
	}
}

func (t *translator) add(ptr string, p position, format string, args ...any) {
	t.diags = append(t.diags, Diagnostic{
		Line: p.line, Col: p.col, Pointer: ptr,
		Severity: SeverityError, Message: fmt.Sprintf(format, args...),
	})
}

// required reports each missing key at the key of the object lacking it.
func (t *translator) required(f failure) {
	obj, _ := f.value.(map[string]any)
	for _, name := range stringsOf(f.node["required"]) {
		if _, ok := obj[name]; ok {
			continue
		}
		msg := fmt.Sprintf("missing required key %q in %s", name, subject(f.ptr))
		if f.ptr == "" {
			msg = fmt.Sprintf("missing required key %q", name)
		}
		if provider, ok := t.providerCondition(f.sptr); ok {
			msg = fmt.Sprintf("helpdesk.provider is %s, so the %s block is required", provider, name)
		} else if other := t.unlessCondition(f.sptr); other != "" {
			msg += fmt.Sprintf(" (required unless %s is set)", other)
		}
		t.add(f.ptr, t.doc.keyAt(f.ptr), "%s", msg)
	}
}

// providerCondition returns the provider an if/then branch applies to.
func (t *translator) providerCondition(thenPtr string) (string, bool) {
	if lastToken(thenPtr) != "then" {
		return "", false
	}
	c, ok := resolvePtr(t.raw, parentPtr(thenPtr)+"/if/properties/provider/const").(string)
	return c, ok
}

// unlessCondition returns X for a branch written "if: {not: {required: [X]}}".
func (t *translator) unlessCondition(thenPtr string) string {
	if lastToken(thenPtr) != "then" {
		return ""
	}
	names := stringsOf(resolvePtr(t.raw, parentPtr(thenPtr)+"/if/not/required"))
	return strings.Join(names, " or ")
}

// unknownKeys reports each key the schema does not declare, at the key.
// additionalProperties fails once for the object; unevaluatedProperties once
// per key, at the key.
func (t *translator) unknownKeys(f failure) {
	objPtr, allowed := f.ptr, keysOf(f.node["properties"])
	var keys []string
	if f.keyword == "unevaluatedProperties" {
		objPtr, keys = parentPtr(f.ptr), []string{lastToken(f.ptr)}
	} else if obj, ok := f.value.(map[string]any); ok {
		for key := range obj {
			if !slices.Contains(allowed, key) {
				keys = append(keys, key)
			}
		}
	}
	where := "in " + subject(objPtr)
	if objPtr == "" {
		where = "at the top level"
	}
	for _, key := range keys {
		child := childPtr(objPtr, key)
		msg := fmt.Sprintf("unknown key %q %s", key, where)
		if s := suggest(key, allowed); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(allowed) > 0 {
			msg += "; allowed keys: " + strings.Join(allowed, ", ")
		}
		t.add(child, t.doc.keyAt(child), "%s", msg)
	}
}

// falseSchema reports a key forbidden by a "false" subschema: a provider
// block that does not match helpdesk.provider.
func (t *translator) falseSchema(f failure, sptr string) {
	msg := fmt.Sprintf("%s is not allowed here", subject(f.ptr))
	if provider, ok := t.providerCondition(parentPtr(parentPtr(sptr))); ok {
		msg = fmt.Sprintf("the %s block does not match helpdesk.provider %s; remove it or change the provider",
			lastToken(f.ptr), provider)
	}
	t.add(f.ptr, t.doc.keyAt(f.ptr), "%s", msg)
}

// duplicates reports every repeated list item, at the repetition. Items are
// compared by their JSON encoding, in linear time: lists may be long.
func (t *translator) duplicates(f failure) {
	list, _ := f.value.([]any)
	first := map[string]int{}
	for i, item := range list {
		key, err := json.Marshal(item)
		if err != nil {
			continue
		}
		j, dup := first[string(key)]
		if !dup {
			first[string(key)] = i
			continue
		}
		ptr := childPtr(f.ptr, strconv.Itoa(i))
		t.add(ptr, t.doc.at(ptr), "%s repeats %s (line %d)",
			subject(ptr), describe(item), t.doc.at(childPtr(f.ptr, strconv.Itoa(j))).line)
	}
}

// valueMessage phrases a failure about the value itself.
func valueMessage(f failure, libraryMessage string) string {
	subj := subject(f.ptr)
	if custom, ok := f.node["errorMessage"].(string); ok && slices.Contains([]string{"type", "pattern", "enum", "const"}, f.keyword) {
		return fmt.Sprintf("%s %s (got %s)", subj, custom, describe(f.value))
	}
	switch f.keyword {
	case "type":
		return fmt.Sprintf("%s must be %s (got %s)", subj, typeNames(f.node["type"]), describe(f.value))
	case "enum":
		return enumMessage(subj, stringsOf(f.node["enum"]), f.value)
	case "const":
		return fmt.Sprintf("%s must be %v (got %s)", subj, f.node["const"], describe(f.value))
	case "minLength":
		return fmt.Sprintf("%s must not be empty", subj)
	case "maxLength":
		return fmt.Sprintf("%s must be at most %v characters long", subj, f.node["maxLength"])
	case "minItems":
		if fmt.Sprint(f.node["minItems"]) == "1" {
			return fmt.Sprintf("%s must list at least one item", subj)
		}
		return fmt.Sprintf("%s must list at least %v items", subj, f.node["minItems"])
	case "pattern":
		return fmt.Sprintf("%s does not match the pattern %v (got %s)", subj, f.node["pattern"], describe(f.value))
	case "minimum":
		return fmt.Sprintf("%s must be at least %v (got %s)", subj, f.node["minimum"], describe(f.value))
	}
	return fmt.Sprintf("%s: %s", subj, libraryMessage)
}

func enumMessage(subj string, allowed []string, v any) string {
	msg := fmt.Sprintf("%s must be one of %s (got %s)", subj, strings.Join(allowed, ", "), describe(v))
	if s, ok := v.(string); ok {
		if hint := suggest(s, allowed); hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		}
	}
	return msg
}

// secretMessage explains how to write a secret reference, suggesting names
// derived from the field. It never repeats the value: it may be a secret.
func secretMessage(f failure) string {
	subj := subject(f.ptr)
	switch f.keyword {
	case "minProperties":
		return fmt.Sprintf("%s is an empty secret reference; write {env: NAME} or {file: PATH}", subj)
	case "maxProperties":
		return fmt.Sprintf("%s must give exactly one of env or file, not both", subj)
	}
	env, file := secretNames(f.ptr)
	what := "holds a literal value"
	switch f.value.(type) {
	case nil:
		what = "is empty"
	case []any:
		what = "is a list"
	}
	return fmt.Sprintf("%s %s; secrets must be references: write {env: %s} or {file: %s}", subj, what, env, file)
}

// secretNames suggests an environment variable and a file path for the
// secret at ptr, such as CW_PRIVATE_KEY and /run/secrets/cw-private-key.
func secretNames(ptr string) (string, string) {
	toks := splitPtr(ptr)
	prefix := "HORIZON"
	if len(toks) >= 2 && toks[0] == "helpdesk" {
		if c, ok := CapabilitiesOf(Provider(toks[1])); ok {
			prefix = c.EnvPrefix
		}
	} else if len(toks) >= 1 && toks[0] == "callbacks" {
		prefix = "HORIZON_CALLBACK"
	}
	words := append(strings.Split(prefix, "_"), camelWords(lastToken(ptr))...)
	env := strings.ToUpper(strings.Join(words, "_"))
	return env, "/run/secrets/" + strings.ToLower(strings.Join(words, "-"))
}

// camelWords splits privateKey into private, key.
func camelWords(s string) []string {
	var words []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			words = append(words, s[start:i])
			start = i
		}
	}
	return append(words, s[start:])
}

// subject names the node at ptr for a message.
func subject(ptr string) string {
	if ptr == "" {
		return "the file"
	}
	return dotted(ptr)
}

// describe renders a value for "(got …)": short scalars quoted, structures
// by kind.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "an empty value"
	case string:
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

var typeWords = map[string]string{
	"string": "a string", "boolean": "true or false", "array": "a list", "object": "a mapping",
	"integer": "an integer", "number": "a number", "null": "empty",
}

func typeNames(t any) string {
	var names []string
	for _, n := range stringsOf(t) {
		names = append(names, typeWords[n])
	}
	if s, ok := t.(string); ok {
		names = []string{typeWords[s]}
	}
	return strings.Join(names, " or ")
}

// english prints the library's own messages, the fallback of valueMessage.
var english = message.NewPrinter(language.English)

// instancePtr converts the library's instance location (raw tokens) to an
// RFC 6901 pointer.
func instancePtr(loc []string) string {
	ptr := ""
	for _, tok := range loc {
		ptr = childPtr(ptr, tok)
	}
	return ptr
}

// keywordPtr returns the pointer, in the schema document, of the keyword
// that failed: the failing subschema's fragment plus the keyword's path.
func keywordPtr(ve *jsonschema.ValidationError) string {
	_, frag, _ := strings.Cut(ve.SchemaURL, "#")
	ptr := frag
	if u, err := url.PathUnescape(frag); err == nil {
		ptr = u
	}
	for _, tok := range ve.ErrorKind.KeywordPath() {
		ptr = childPtr(ptr, tok)
	}
	return ptr
}

// resolvePtr returns the node at ptr in a decoded JSON document.
func resolvePtr(doc any, ptr string) any {
	for _, tok := range splitPtr(ptr) {
		switch c := doc.(type) {
		case map[string]any:
			doc = c[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			doc = c[i]
		default:
			return nil
		}
	}
	return doc
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
