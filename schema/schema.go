// Package schema holds the JSON Schema (draft 2020-12) of horizon.yaml,
// embedded in the binary so that `reconciler schema` prints exactly the
// schema the loader validates against.
//
// The schema stands alone: an editor running the YAML language server, or
// any other 2020-12 validator, reaches the same verdict as the schema step of
// internal/config. Checks the schema cannot express (per-provider
// capabilities, duration bounds, duplicate mappings, https callback URLs)
// live in internal/config and come on top.
//
// The configuration reference in docs/config.md is generated from this schema
// by Markdown; run `go generate ./schema` after editing the schema.
package schema

//go:generate go run ../cmd/reconciler docs config --out ../docs/config.md --readme ../README.md

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ID is the schema's $id; the loader registers the embedded document under it.
const ID = "https://github.com/horizon/reconciler/schema/horizon.schema.json"

//go:embed horizon.schema.json
var document []byte

// JSON returns a copy of the schema document.
func JSON() []byte {
	return bytes.Clone(document)
}

// Compile compiles the embedded schema with draft 2020-12 semantics. Formats
// are annotations only, as the draft says, so that every validator agrees.
func Compile() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(ID, doc); err != nil {
		return nil, fmt.Errorf("add schema resource: %w", err)
	}
	s, err := c.Compile(ID)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	return s, nil
}
