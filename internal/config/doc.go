// Package config loads and validates horizon.yaml, the one file that
// declares how a Horizon account connects to its PSA.
//
// Loading runs in three steps and reports every problem it finds, each as a
// Diagnostic carrying the file, line, column and JSON pointer of the
// offending node:
//
//  1. Read: size bound, UTF-8 text, one YAML document, no duplicate keys, no
//     alias bombs. The YAML is turned into a JSON value while remembering the
//     position of every node (go.yaml.in/yaml/v4 nodes).
//  2. Schema: the JSON value is checked against the embedded JSON Schema
//     (package schema) and each failure is translated into a sentence.
//  3. Semantics: what the schema cannot say, such as whether the chosen
//     provider supports an entity, picklist kind or event (the capability
//     table in capabilities.go), duration bounds, duplicate user mappings,
//     https callback URLs, and whether referenced secrets exist.
//
// Defaults are applied only after validation, so the schema sees the file as
// written. Secrets never appear in the file: every credential is a SecretRef
// ({env: NAME} or {file: PATH}), and resolving one yields a Secret, which
// prints as <secret> in every format.
package config
