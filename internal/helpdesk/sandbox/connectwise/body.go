package connectwise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// bodyError is a request body the emulator refuses; it knows how to
// answer.
type bodyError struct {
	status int
	code   string
	msg    string
	field  string
}

// Error implements error.
func (e *bodyError) Error() string { return e.msg }

func invalidField(field, format string, a ...any) *bodyError {
	return &bodyError{status: http.StatusBadRequest, code: "InvalidField", msg: fmt.Sprintf(format, a...), field: field}
}

// write answers the error in CW's format for resource.
func (e *bodyError) write(w http.ResponseWriter, resource string) {
	if e.status == http.StatusUnsupportedMediaType {
		writeError(w, e.status, "UnsupportedMediaType", e.msg)
		return
	}
	writeInvalid(w, resource, e.field, e.code, e.msg)
}

// readBody reads a JSON request body.
func readBody(r *http.Request) ([]byte, *bodyError) {
	if ct := r.Header.Get("Content-Type"); !strings.Contains(strings.ToLower(ct), "json") {
		return nil, &bodyError{status: http.StatusUnsupportedMediaType, msg: "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, &bodyError{status: http.StatusBadRequest, code: "InvalidObject", msg: "request body unreadable or too large"}
	}
	return b, nil
}

// readObject reads a JSON object body and checks its keys against the
// fields the resource accepts.
func (e *Emulator) readObject(r *http.Request, allowed map[string]bool) (map[string]json.RawMessage, *bodyError) {
	b, berr := readBody(r)
	if berr != nil {
		return nil, berr
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, &bodyError{status: http.StatusBadRequest, code: "InvalidObject", msg: "request body must be a JSON object"}
	}
	if !e.Settings().AllowUnknownFields {
		for k := range m {
			if !allowed[k] {
				return nil, invalidField(k, "unknown or unsupported field %q", k)
			}
		}
	}
	return m, nil
}

// patchOp is one operation of a PATCH body.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// readPatch reads a PATCH body: a JSON array of {op, path, value} with
// top-level, case-sensitive paths from allowed. Nested paths
// ("company/identifier") are refused: CW documents that they may answer a
// misleading 200.
func readPatch(r *http.Request, allowed map[string]bool) ([]patchOp, *bodyError) {
	b, berr := readBody(r)
	if berr != nil {
		return nil, berr
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ops []patchOp
	if err := dec.Decode(&ops); err != nil || ops == nil {
		return nil, &bodyError{status: http.StatusBadRequest, code: "InvalidObject",
			msg: "PATCH body must be a JSON array of {op, path, value}"}
	}
	for i, op := range ops {
		op.Op = strings.ToLower(op.Op)
		ops[i] = op
		switch {
		case op.Op != "add" && op.Op != "replace" && op.Op != "remove":
			return nil, invalidField(op.Path, "op %q: want add, replace or remove", op.Op)
		case strings.Contains(op.Path, "/"):
			return nil, invalidField(op.Path, "path %q: replace the whole object instead of a nested path", op.Path)
		case !allowed[op.Path]:
			return nil, invalidField(op.Path, "path %q is not a field that can be patched", op.Path)
		case op.Op != "remove" && len(op.Value) == 0:
			return nil, invalidField(op.Path, "op %s on %q needs a value", op.Op, op.Path)
		}
	}
	return ops, nil
}

// refIn is a reference as a client writes it: {"id":N}, {"name":"..."} or
// {"identifier":"..."}.
type refIn struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
}

// parseRef reads a reference object; a bare number or string is refused.
func parseRef(field string, raw json.RawMessage) (refIn, *bodyError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return refIn{}, invalidField(field, "%s must be a reference object such as {\"id\": 1}", field)
	}
	var m map[string]json.RawMessage
	var ref refIn
	if json.Unmarshal(raw, &m) != nil || json.Unmarshal(raw, &ref) != nil {
		return refIn{}, invalidField(field, "%s is not a valid reference", field)
	}
	if ref.ID == 0 && ref.Name == "" && ref.Identifier == "" {
		return refIn{}, invalidField(field, "%s reference needs an id, name or identifier", field)
	}
	return ref, nil
}

// isNull reports a JSON null or absent value.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

func stringField(m map[string]json.RawMessage, name string) (string, *bodyError) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", invalidField(name, "%s must be a string", name)
	}
	return s, nil
}

func boolField(m map[string]json.RawMessage, name string) (bool, *bodyError) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return false, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return false, invalidField(name, "%s must be true or false", name)
	}
	return b, nil
}

func numberField(m map[string]json.RawMessage, name string) (float64, bool, *bodyError) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		return 0, false, nil
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return 0, false, invalidField(name, "%s must be a number", name)
	}
	return f, true, nil
}

func timeField(m map[string]json.RawMessage, name string) (time.Time, *bodyError) {
	s, err := stringField(m, name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, perr := time.Parse(time.RFC3339, s)
	if perr != nil {
		return time.Time{}, invalidField(name, "%s must be an ISO 8601 datetime such as 2025-03-04T10:15:00Z", name)
	}
	return t.UTC(), nil
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
