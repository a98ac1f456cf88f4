package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

func decodedSchema(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCompile(t *testing.T) {
	if _, err := Compile(); err != nil {
		t.Fatal(err)
	}
	a := JSON()
	a[0] = 'x'
	if JSON()[0] == 'x' {
		t.Error("JSON returned the embedded buffer, not a copy")
	}
}

// walk calls fn for every subschema reachable from node, with its pointer.
func walk(node any, ptr string, fn func(ptr string, s map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(ptr, n)
		for k, v := range n {
			walk(v, ptr+"/"+k, fn)
		}
	case []any:
		for i, v := range n {
			walk(v, ptr+"/"+strconv.Itoa(i), fn)
		}
	}
}

// TestEveryPropertyDescribed: the generated reference and editor hovers rely
// on descriptions.
func TestEveryPropertyDescribed(t *testing.T) {
	walk(decodedSchema(t), "", func(ptr string, s map[string]any) {
		props, ok := s["properties"].(map[string]any)
		if !ok || strings.Contains(ptr, "/if") || strings.Contains(ptr, "/then") {
			return // conditions and branches only restate declared properties
		}
		for name, p := range props {
			if prop, ok := p.(map[string]any); ok {
				if d, _ := prop["description"].(string); d == "" {
					t.Errorf("%s/properties/%s has no description", ptr, name)
				}
			}
		}
	})
}

// TestObjectsAreClosed: unknown keys must be rejected at every depth.
func TestObjectsAreClosed(t *testing.T) {
	walk(decodedSchema(t), "", func(ptr string, s map[string]any) {
		if s["type"] != "object" {
			return
		}
		if s["additionalProperties"] != false && s["unevaluatedProperties"] != false {
			t.Errorf("%s is an object schema that accepts unknown keys", ptr)
		}
	})
}

// TestNoAnyOfOneOf: the loader explains failures branch by branch; anyOf
// and oneOf produce errors from every branch, which read badly.
func TestNoAnyOfOneOf(t *testing.T) {
	walk(decodedSchema(t), "", func(ptr string, s map[string]any) {
		if s["anyOf"] != nil || s["oneOf"] != nil {
			t.Errorf("%s uses anyOf/oneOf; use if/then/else", ptr)
		}
	})
}

// TestSchemaStandsAlone validates the examples and the invalid testdata of
// internal/config with the schema file alone: a fresh 2020-12 compiler, the
// YAML converted by sigs.k8s.io/yaml, no code of ours. Examples and
// semantic-* files must pass (their problems are beyond the schema);
// schema-* and mixed-* files must fail. This proves that editors using the
// schema reach the same verdict as the schema step of the loader.
func TestSchemaStandsAlone(t *testing.T) {
	sch := standaloneSchema(t)
	accept, _ := filepath.Glob("../examples/*.yaml")
	semantic, _ := filepath.Glob("../internal/config/testdata/invalid/semantic-*.yaml")
	reject, _ := filepath.Glob("../internal/config/testdata/invalid/schema-*.yaml")
	mixed, _ := filepath.Glob("../internal/config/testdata/invalid/mixed-*.yaml")
	if len(accept) < 4 || len(semantic) < 10 || len(reject) < 20 {
		t.Fatalf("too few files: %d examples, %d semantic, %d schema", len(accept), len(semantic), len(reject))
	}
	for _, path := range append(accept, semantic...) {
		if err := sch.Validate(yamlValue(t, path)); err != nil {
			t.Errorf("%s: the schema alone rejects it: %v", path, err)
		}
	}
	for _, path := range append(reject, mixed...) {
		if err := sch.Validate(yamlValue(t, path)); err == nil {
			t.Errorf("%s: the schema alone accepts it", path)
		}
	}
}

func standaloneSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile("horizon.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, JSON()) {
		t.Fatal("embedded schema differs from horizon.schema.json")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("file:///horizon.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("file:///horizon.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func yamlValue(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// TestMarkdownLinks checks that every in-page link of the generated
// reference points at a heading.
func TestMarkdownLinks(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(doc, -1) {
		anchors[anchor(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(doc, -1) {
		if !anchors[m[1]] {
			t.Errorf("link to #%s has no heading", m[1])
		}
	}
	for _, want := range []string{"## Top level", "### helpdesk.connectwise", "### userMappings.mappings[]", "### Secret reference", "`privateKey`"} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}
