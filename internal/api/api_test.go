package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	_ "github.com/horizon/reconciler/internal/store/sqlite"
	"github.com/horizon/reconciler/internal/writeback"
)

const token = "s3cret-token"

var scope = store.Scope{Account: "acme", Provider: helpdesk.ConnectWise}

// noPSA is never called: the API only enqueues.
type noPSA struct{ helpdesk.Provider }

func newTarget(t *testing.T, mutate func(*config.Config)) Target {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seed(t, st)
	cfg := &config.Config{Account: config.Account{Name: "acme"}, Writeback: &config.Writeback{Enabled: true}}
	cfg.ApplyDefaults()
	if mutate != nil {
		mutate(cfg)
	}
	e, err := writeback.New(writeback.Options{Store: st, Scope: scope, Provider: noPSA{}, Config: cfg})
	must(t, err)
	return Target{Engine: e, Store: st, Scope: scope, Token: token}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// openAPI is the parts of docs/api/openapi.yaml the tests check.
type openAPI struct {
	Paths      map[string]map[string]operation `yaml:"paths"`
	Components struct {
		Schemas map[string]schema `yaml:"schemas"`
	} `yaml:"components"`
}

type operation struct {
	Responses   map[string]any `yaml:"responses"`
	RequestBody struct {
		Content map[string]struct {
			Schema struct {
				Ref string `yaml:"$ref"`
			} `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
}

type schema struct {
	Required   []string       `yaml:"required"`
	Properties map[string]any `yaml:"properties"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	data, err := os.ReadFile("../../docs/api/openapi.yaml")
	must(t, err)
	var doc openAPI
	must(t, yaml.Unmarshal(data, &doc))
	return doc
}

type apiCase struct {
	name      string
	method    string
	path      string
	body      string
	headers   map[string]string // "" deletes a default header
	mutate    func(*config.Config)
	want      int
	wantField string
}

func (c apiCase) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	hdr := map[string]string{"Authorization": "Bearer " + token, HeaderUser: "jane.doe@acme-msp.com",
		HeaderIdempotencyKey: "key-" + c.name, "Content-Type": "application/json"}
	for k, v := range c.headers {
		hdr[k] = v
	}
	for k, v := range hdr {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var cases = []apiCase{
	{name: "create", method: "POST", path: "/api/v1/tickets", body: `{"summary":"VPN down","priority":"Priority 3 - Normal"}`, want: 202},
	{name: "create no token", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x"}`, headers: map[string]string{"Authorization": ""}, want: 401, wantField: "Authorization"},
	{name: "create wrong token", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x"}`, headers: map[string]string{"Authorization": "Bearer nope"}, want: 401, wantField: "Authorization"},
	{name: "create no key", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x"}`, headers: map[string]string{HeaderIdempotencyKey: ""}, want: 400, wantField: HeaderIdempotencyKey},
	{name: "create disabled", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x"}`, mutate: func(c *config.Config) { c.Writeback.Enabled = false }, want: 403},
	{name: "create unknown field", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x","board":"y"}`, want: 400, wantField: "board"},
	{name: "create too large", method: "POST", path: "/api/v1/tickets", body: `{"summary":"` + strings.Repeat("x", MaxBody) + `"}`, want: 413},
	{name: "create unknown priority", method: "POST", path: "/api/v1/tickets", body: `{"summary":"x","priority":"Urgent"}`, want: 422, wantField: "priority"},
	{name: "create reused key", method: "POST", path: "/api/v1/tickets", body: `{"summary":"other"}`, headers: map[string]string{HeaderIdempotencyKey: "key-create"}, want: 409, wantField: HeaderIdempotencyKey},
	{name: "update", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"status":"In Progress","assignee":"bob.smith@acme-msp.com"}`, want: 202},
	{name: "update unknown ticket", method: "PATCH", path: "/api/v1/tickets/999", body: `{"status":"New"}`, want: 404, wantField: "id"},
	{name: "update unknown status", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"status":"Done"}`, want: 422, wantField: "status"},
	{name: "update unmapped assignee", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"assignee":"eve@acme-msp.com"}`, want: 422, wantField: "assignee"},
	{name: "update no token", method: "PATCH", path: "/api/v1/tickets/4711", body: `{}`, headers: map[string]string{"Authorization": ""}, want: 401},
	{name: "update bad json", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"status":`, want: 400},
	{name: "update unmapped author", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"status":"New"}`, headers: map[string]string{HeaderUser: "eve@acme-msp.com"}, want: 403, wantField: HeaderUser},
	{name: "update too large", method: "PATCH", path: "/api/v1/tickets/4711", body: strings.Repeat(" ", MaxBody+1), want: 413},
	{name: "update reused key", method: "PATCH", path: "/api/v1/tickets/4711", body: `{"status":"New"}`, headers: map[string]string{HeaderIdempotencyKey: "key-update"}, want: 409},
	{name: "note", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"Called the client"}`, want: 202},
	{name: "note unmapped author", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"x"}`, headers: map[string]string{HeaderUser: "eve@acme-msp.com"}, want: 403, wantField: HeaderUser},
	{name: "note no user", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"x"}`, headers: map[string]string{HeaderUser: ""}, want: 400, wantField: HeaderUser},
	{name: "note empty", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":" "}`, want: 422, wantField: "text"},
	{name: "note wrong type", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":5}`, want: 400, wantField: "text"},
	{name: "note no token", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"x"}`, headers: map[string]string{"Authorization": ""}, want: 401},
	{name: "note too large", method: "POST", path: "/api/v1/tickets/4711/notes", body: strings.Repeat(" ", MaxBody+1), want: 413},
	{name: "note reused key", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"other"}`, headers: map[string]string{HeaderIdempotencyKey: "key-note"}, want: 409},
	{name: "time", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `{"hours":1.5,"notes":"On site"}`, want: 202},
	{name: "time too many hours", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `{"hours":30}`, want: 422, wantField: "hours"},
	{name: "time no token", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `{"hours":1}`, headers: map[string]string{"Authorization": ""}, want: 401},
	{name: "time bad json", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `[]`, want: 400},
	{name: "time disabled", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `{"hours":1}`, mutate: func(c *config.Config) { c.Writeback = nil }, want: 403},
	{name: "time too large", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: strings.Repeat(" ", MaxBody+1), want: 413},
	{name: "time reused key", method: "POST", path: "/api/v1/tickets/4711/time-entries", body: `{"hours":2}`, headers: map[string]string{HeaderIdempotencyKey: "key-time"}, want: 409},
	{name: "note disabled", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"x"}`, mutate: func(c *config.Config) { c.Writeback.Enabled = false }, want: 403},
	{name: "get write", method: "GET", path: "/api/v1/writes/1", want: 200},
	{name: "get unknown write", method: "GET", path: "/api/v1/writes/999", want: 404, wantField: "writeId"},
	{name: "get bad id", method: "GET", path: "/api/v1/writes/abc", want: 400, wantField: "writeId"},
	{name: "get no token", method: "GET", path: "/api/v1/writes/1", headers: map[string]string{"Authorization": ""}, want: 401},
}

// TestServerMatchesOpenAPI runs every case and checks the answers against
// docs/api/openapi.yaml: each documented operation and status code is
// produced, no undocumented one is, error bodies name their field, and
// Write answers carry the documented required properties.
func TestServerMatchesOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	shared := newTarget(t, nil)
	seen := map[string]bool{}
	for _, c := range cases {
		target := shared
		if c.mutate != nil {
			target = newTarget(t, c.mutate)
		}
		h := New(Options{Current: func() (Target, bool) { return target, true }})
		w := c.do(t, h)
		op := documentedOp(t, doc, c.method, c.path)
		key := fmt.Sprintf("%s %d", op, w.Code)
		seen[key] = true
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, w.Code, c.want, w.Body)
			continue
		}
		if _, ok := doc.Paths[pathOf(op)][methodOf(op)].Responses[fmt.Sprint(w.Code)]; !ok {
			t.Errorf("%s: %d is not documented for %s", c.name, w.Code, op)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: body is not JSON: %s", c.name, w.Body)
			continue
		}
		if w.Code >= 400 {
			e, _ := body["error"].(map[string]any)
			if e["code"] == nil || e["message"] == nil || c.wantField != "" && e["field"] != c.wantField {
				t.Errorf("%s: error %v, want code, message and field %q", c.name, body, c.wantField)
			}
			continue
		}
		for _, f := range doc.Components.Schemas["Write"].Required {
			if _, ok := body[f]; !ok {
				t.Errorf("%s: answer lacks required %q: %v", c.name, f, body)
			}
		}
	}
	for path, methods := range doc.Paths {
		for method, o := range methods {
			for code := range o.Responses {
				if !seen[strings.ToUpper(method)+" "+path+" "+code] {
					t.Errorf("no test produces %s %s %s", strings.ToUpper(method), path, code)
				}
			}
		}
	}
}

// TestRequiredFields: leaving out each field a request schema requires is
// 422 naming it.
func TestRequiredFields(t *testing.T) {
	doc := loadOpenAPI(t)
	target := newTarget(t, nil)
	h := New(Options{Current: func() (Target, bool) { return target, true }})
	paths := map[string]string{"/api/v1/tickets": "/api/v1/tickets", "/api/v1/tickets/{id}": "/api/v1/tickets/4711",
		"/api/v1/tickets/{id}/notes": "/api/v1/tickets/4711/notes", "/api/v1/tickets/{id}/time-entries": "/api/v1/tickets/4711/time-entries"}
	n := 0
	for path, methods := range doc.Paths {
		for method, o := range methods {
			for _, c := range o.RequestBody.Content {
				s := doc.Components.Schemas[strings.TrimPrefix(c.Schema.Ref, "#/components/schemas/")]
				for _, f := range s.Required {
					n++
					w := apiCase{name: "required-" + f, method: strings.ToUpper(method), path: paths[path], body: `{}`}.do(t, h)
					if w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"`+f+`"`) {
						t.Errorf("%s %s without %s: %d %s", method, path, f, w.Code, w.Body)
					}
				}
			}
		}
	}
	if n < 3 {
		t.Fatalf("checked %d required fields; the document lost its schemas?", n)
	}
}

func TestRepeatedKeyReturnsFirstWrite(t *testing.T) {
	target := newTarget(t, nil)
	h := New(Options{Current: func() (Target, bool) { return target, true }})
	c := apiCase{name: "k", method: "POST", path: "/api/v1/tickets/4711/notes", body: `{"text":"once"}`}
	first, again := c.do(t, h), c.do(t, h)
	if first.Code != 202 || again.Code != 202 || again.Header().Get(HeaderReplayed) != "true" || first.Body.String() != again.Body.String() {
		t.Fatalf("first %d %s\nagain %d %s (%v)", first.Code, first.Body, again.Code, again.Body, again.Header())
	}
	ws, err := target.Store.Writes(t.Context(), scope, store.WriteFilter{})
	must(t, err)
	if len(ws) != 1 || !ws[0].Live() || ws[0].MemberID != "17" {
		t.Fatalf("writes %+v, want one pending note by member 17", ws)
	}
}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

// documentedOp returns "METHOD /template" for a request path.
func documentedOp(t *testing.T, doc openAPI, method, path string) string {
	t.Helper()
	for tmpl, methods := range doc.Paths {
		re := regexp.MustCompile("^" + paramRE.ReplaceAllString(tmpl, "[^/]+") + "$")
		if re.MatchString(path) {
			if _, ok := methods[strings.ToLower(method)]; ok {
				return method + " " + tmpl
			}
		}
	}
	t.Fatalf("%s %s is not in the document", method, path)
	return ""
}

func pathOf(op string) string   { _, p, _ := strings.Cut(op, " "); return p }
func methodOf(op string) string { m, _, _ := strings.Cut(op, " "); return strings.ToLower(m) }
