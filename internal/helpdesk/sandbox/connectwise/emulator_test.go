package connectwise

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

var anchor = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type harness struct {
	t     *testing.T
	emu   *Emulator
	srv   *httptest.Server
	world *sandbox.World
}

func newHarness(t *testing.T, s Settings) *harness {
	t.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 60, Seed: 5, Now: anchor})
	emu := New(sandbox.Options{World: w, DeliveryScale: 0.001}, s)
	srv := httptest.NewServer(emu)
	emu.SetBaseURL(srv.URL)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	return &harness{t: t, emu: emu, srv: srv, world: w}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Code == "" {
		t.Fatalf("body %s is not a CW error body", r.body)
	}
	return e
}

// call sends an authenticated API request; path is relative to apis/3.0.
func (h *harness) call(method, path, body string, mod ...func(*http.Request)) response {
	h.t.Helper()
	return h.raw(method, "/"+h.emu.Settings().Codebase+"apis/3.0"+path, body, append([]func(*http.Request){h.auth}, mod...)...)
}

func (h *harness) auth(r *http.Request) {
	s := h.emu.Settings()
	r.SetBasicAuth(s.CompanyID+"+"+s.PublicKey, s.PrivateKey)
	r.Header.Set("clientId", s.ClientID)
}

func (h *harness) raw(method, path, body string, mod ...func(*http.Request)) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, m := range mod {
		m(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func TestCompanyInfoAndCodebase(t *testing.T) {
	h := newHarness(t, Settings{})
	r := h.raw("GET", "/login/companyinfo/HorizonSandbox", "")
	var info map[string]any
	if err := json.Unmarshal(r.body, &info); r.status != 200 || err != nil || info["Codebase"] != "v2025_1/" ||
		info["IsCloud"] != "True" || info["VersionCode"] != "v2025.1" {
		t.Fatalf("companyinfo = %d %s", r.status, r.body)
	}
	if r := h.raw("GET", "/login/companyinfo/nobody", ""); r.status != 404 {
		t.Errorf("unknown company: %d", r.status)
	}
	if r := h.raw("GET", "/v4_6_release/apis/3.0/system/info", "", h.auth); r.status != 200 {
		t.Errorf("alias: %d %s", r.status, r.body)
	}
	if r := h.raw("GET", "/v2019_1/apis/3.0/system/info", "", h.auth); r.status != 404 {
		t.Errorf("wrong codebase: %d", r.status)
	}
	h.emu.UpdateSettings(func(s *Settings) { s.NoAlias = true })
	if r := h.raw("GET", "/v4_6_release/apis/3.0/system/info", "", h.auth); r.status != 404 {
		t.Errorf("alias refused: %d", r.status)
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t, Settings{})
	s := h.emu.Settings()
	tests := []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"no auth", func(r *http.Request) {}, 401},
		{"wrong private key", func(r *http.Request) {
			r.SetBasicAuth(s.CompanyID+"+"+s.PublicKey, "nope")
			r.Header.Set("clientId", "x")
		}, 401},
		{"wrong company", func(r *http.Request) {
			r.SetBasicAuth("other+"+s.PublicKey, s.PrivateKey)
			r.Header.Set("clientId", "x")
		}, 401},
		{"no clientId", func(r *http.Request) { r.SetBasicAuth(s.CompanyID+"+"+s.PublicKey, s.PrivateKey) }, 401},
		{"company case-insensitive", func(r *http.Request) {
			r.SetBasicAuth(strings.ToUpper(s.CompanyID)+"+"+s.PublicKey, s.PrivateKey)
			r.Header.Set("ClientID", "x")
		}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.raw("GET", "/v2025_1/apis/3.0/system/info", "", tt.mod)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.want, r.body)
			}
			if tt.want == 401 && r.errorBody(t).Code != "Unauthorized" {
				t.Errorf("body %s", r.body)
			}
		})
	}
	h.emu.UpdateSettings(func(s *Settings) { s.DenyPaths = []string{"/system/callbacks"} })
	if r := h.call("GET", "/system/callbacks", ""); r.status != 403 || r.errorBody(t).Code != "Forbidden" {
		t.Errorf("denied path: %d %s", r.status, r.body)
	}
}

func TestListStrictness(t *testing.T) {
	h := newHarness(t, Settings{})
	tests := []struct {
		name, query string
		forward     bool
		want        int
	}{
		{"default", "", false, 200},
		{"page size at max", "pageSize=1000", false, 200},
		{"page size over max", "pageSize=1001", false, 400},
		{"page size zero", "pageSize=0", false, 400},
		{"page zero", "page=0", false, 400},
		{"page not a number", "page=two", false, 400},
		{"date without brackets", "conditions=" + url.QueryEscape("lastUpdated > 2024-01-01T00:00:00Z"), false, 400},
		{"string without quotes", "conditions=" + url.QueryEscape("summary = Printer"), false, 400},
		{"unknown field", "conditions=" + url.QueryEscape("colour = \"red\""), false, 400},
		{"good conditions", "conditions=" + url.QueryEscape("lastUpdated > [2024-01-01T00:00:00Z] AND board/name = \"Help Desk\""), false, 200},
		{"orderBy", "orderBy=" + url.QueryEscape("summary desc"), false, 200},
		{"orderBy unknown field", "orderBy=colour", false, 400},
		{"orderBy bad direction", "orderBy=" + url.QueryEscape("id up"), false, 400},
		{"unknown parameter", "condition=" + url.QueryEscape("id = 1"), false, 400},
		{"parameter case-insensitive", "PAGESIZE=5&Conditions=" + url.QueryEscape("id > 1"), false, 200},
		{"fields top-level", "fields=id,summary", false, 200},
		{"fields nested unsupported", "fields=" + url.QueryEscape("status/name"), false, 400},
		{"forward-only", "pageSize=10&pageId=5", true, 200},
		{"forward-only with orderBy", "orderBy=" + url.QueryEscape("id asc"), true, 400},
		{"forward-only bad pageId", "pageId=x", true, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call("GET", "/service/tickets?"+tt.query, "", func(r *http.Request) {
				if tt.forward {
					r.Header.Set("pagination-type", "forward-only")
				}
			})
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want == 400 {
				r.errorBody(t)
			}
		})
	}
	h.emu.UpdateSettings(func(s *Settings) { s.ClampPageSize = true })
	if r := h.call("GET", "/service/tickets?pageSize=5000", ""); r.status != 200 {
		t.Errorf("clamped page size: %d", r.status)
	}
}

func TestLinkHeaders(t *testing.T) {
	h := newHarness(t, Settings{})
	get := func(q string, forward bool) (int, string) {
		r := h.call("GET", "/service/tickets?"+q, "", func(r *http.Request) {
			if forward {
				r.Header.Set("pagination-type", "forward-only")
			}
		})
		var page []map[string]any
		json.Unmarshal(r.body, &page)
		return len(page), r.header.Get("Link")
	}
	n, link := get("pageSize=25", false)
	if n != 25 || !strings.Contains(link, `page=2&pageSize=25>; rel="next"`) || !strings.Contains(link, `page=3&pageSize=25>; rel="last"`) ||
		strings.Contains(link, "prev") || strings.Contains(link, "first") {
		t.Errorf("page 1: %d records, Link %s", n, link)
	}
	n, link = get("pageSize=25&page=3", false)
	if n != 10 || strings.Contains(link, "next") || !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `rel="first"`) {
		t.Errorf("page 3: %d records, Link %s", n, link)
	}
	n, link = get("pageSize=25&page=9", false)
	if n != 0 || strings.Contains(link, "next") {
		t.Errorf("past the end: %d records, Link %s", n, link)
	}
	all, _ := h.world.QueryTickets(sandbox.TicketQuery{})
	n, link = get("pageSize=10&pageId="+fmt.Sprint(all[4].ID), true)
	if n != 10 || !strings.Contains(link, fmt.Sprintf(`pageId=%d&pageSize=10>; rel="next"`, all[14].ID)) {
		t.Errorf("forward-only: %d records, Link %s", n, link)
	}
	n, link = get("pageSize=10&pageId="+fmt.Sprint(all[59].ID), true)
	if n != 0 || !strings.Contains(link, `rel="next"`) {
		t.Errorf("forward-only end: %d records, Link %s", n, link)
	}
	h.emu.UpdateSettings(func(s *Settings) { s.PageCap = 7 })
	if n, link = get("pageSize=25", false); n != 7 || !strings.Contains(link, `page=9&pageSize=25>; rel="last"`) {
		t.Errorf("page cap: %d records, Link %s", n, link)
	}
}

func TestTicketWrites(t *testing.T) {
	h := newHarness(t, Settings{})
	co := h.world.Companies()[0]
	tests := []struct {
		name, body string
		want       int
		field      string
	}{
		{"missing summary", fmt.Sprintf(`{"company":{"id":%d}}`, co.ID), 400, "summary"},
		{"missing company", `{"summary":"x"}`, 400, "company"},
		{"unknown field", fmt.Sprintf(`{"summary":"x","company":{"id":%d},"colour":"red"}`, co.ID), 400, "colour"},
		{"company as number", `{"summary":"x","company":12}`, 400, "company"},
		{"company unknown", `{"summary":"x","company":{"id":1}}`, 400, "company"},
		{"company by identifier", fmt.Sprintf(`{"summary":"x","company":{"identifier":%q}}`, co.Identifier), 201, ""},
		{"board by name", fmt.Sprintf(`{"summary":"x","company":{"id":%d},"board":{"name":"Alerts"},"status":{"name":"Scheduled"}}`, co.ID), 201, ""},
		{"status of another board", fmt.Sprintf(`{"summary":"x","company":{"id":%d},"board":{"name":"Alerts"},"status":{"id":%d}}`,
			co.ID, h.world.Queues()[0].Statuses[0].ID), 400, "status"},
		{"summary too long", fmt.Sprintf(`{"summary":%q,"company":{"id":%d}}`, strings.Repeat("x", 101), co.ID), 400, "summary"},
		{"not an object", `[1]`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call("POST", "/service/tickets", tt.body)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want == 201 && !strings.Contains(r.header.Get("Location"), "/service/tickets/") {
				t.Errorf("no Location header")
			}
			if tt.field != "" {
				if e := r.errorBody(t); len(e.Errors) != 1 || e.Errors[0].Field != tt.field {
					t.Errorf("errors = %+v", e.Errors)
				}
			}
		})
	}
	if r := h.call("POST", "/service/tickets", `{"summary":"x"}`, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }); r.status != 415 {
		t.Errorf("text/plain body: %d", r.status)
	}
}

func TestTicketPatch(t *testing.T) {
	h := newHarness(t, Settings{})
	all, _ := h.world.QueryTickets(sandbox.TicketQuery{})
	tk := all[3]
	var board sandbox.Queue
	for _, q := range h.world.Queues() {
		if q.ID == tk.QueueID {
			board = q
		}
	}
	path := fmt.Sprintf("/service/tickets/%d", tk.ID)
	tests := []struct {
		name, body string
		want       int
	}{
		{"object body", `{"op":"replace","path":"summary","value":"x"}`, 400},
		{"nested path", `[{"op":"replace","path":"company/identifier","value":"Acme"}]`, 400},
		{"bare status id", `[{"op":"replace","path":"status","value":17}]`, 400},
		{"unknown path", `[{"op":"replace","path":"colour","value":"red"}]`, 400},
		{"bad op", `[{"op":"move","path":"summary","value":"x"}]`, 400},
		{"extra key", `[{"op":"replace","path":"summary","value":"x","from":"y"}]`, 400},
		{"path case-sensitive", `[{"op":"replace","path":"Summary","value":"x"}]`, 400},
		{"remove status", `[{"op":"remove","path":"status"}]`, 400},
		{"status and summary", fmt.Sprintf(`[{"op":"replace","path":"status","value":{"id":%d}},{"op":"replace","path":"summary","value":"patched"}]`, board.Statuses[2].ID), 200},
		{"remove owner", `[{"op":"remove","path":"owner"}]`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call("PATCH", path, tt.body)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
	got, _ := h.world.Ticket(tk.ID)
	if got.Summary != "patched" || got.StatusID != board.Statuses[2].ID || got.AssigneeID != 0 {
		t.Errorf("ticket after patches = %+v", got)
	}
	if r := h.call("PATCH", "/service/tickets/99999999", `[]`); r.status != 404 {
		t.Errorf("missing ticket: %d", r.status)
	}
	if r := h.call("PUT", path, `{}`); r.status != 405 {
		t.Errorf("PUT ticket: %d", r.status)
	}
	if r := h.call("GET", "/service/nothing", ""); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
	if r := h.call("DELETE", path, ""); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if r := h.call("GET", path, ""); r.status != 404 {
		t.Errorf("get deleted: %d", r.status)
	}
}

func TestCallbackRegistrationValidation(t *testing.T) {
	h := newHarness(t, Settings{})
	tests := []struct {
		name, body string
		want       int
	}{
		{"doc example", `{"description":"helpdesk-sync tickets board 1","url":"https://sync.example.com/hooks/cw?recordId=",
		  "objectId":1,"type":"Ticket","level":"Owner","inactiveFlag":"false"}`, 201},
		{"board level", fmt.Sprintf(`{"url":"https://x.example/","objectId":%d,"type":"ticket","level":"board"}`, h.world.Queues()[0].ID), 201},
		{"missing url", `{"objectId":1,"type":"Ticket","level":"Owner"}`, 400},
		{"relative url", `{"url":"/cb","objectId":1,"type":"Ticket","level":"Owner"}`, 400},
		{"owner needs objectId 1", `{"url":"https://x.example/","objectId":5,"type":"Ticket","level":"Owner"}`, 400},
		{"level of another type", `{"url":"https://x.example/","objectId":1,"type":"Time","level":"Board"}`, 400},
		{"unknown type", `{"url":"https://x.example/","objectId":1,"type":"Spaceship","level":"Owner"}`, 400},
		{"missing objectId", `{"url":"https://x.example/","type":"Ticket","level":"Owner"}`, 400},
		{"long description", fmt.Sprintf(`{"url":"https://x.example/","objectId":1,"type":"Ticket","level":"Owner","description":%q}`, strings.Repeat("d", 101)), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call("POST", "/system/callbacks", tt.body)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
	cbs := h.emu.Callbacks()
	if len(cbs) != 2 || cbs[1].Type != "Ticket" || cbs[1].Level != "Board" || cbs[0].MemberID != h.world.APIUser().ID {
		t.Errorf("callbacks = %+v", cbs)
	}
	r := h.call("PATCH", fmt.Sprintf("/system/callbacks/%d", cbs[0].ID), `[{"op":"replace","path":"inactiveFlag","value":true}]`)
	if r.status != 200 || !h.emu.Callbacks()[0].Inactive {
		t.Errorf("patch: %d %s", r.status, r.body)
	}
	r = h.call("PATCH", fmt.Sprintf("/system/callbacks/%d", cbs[0].ID), `[{"op":"replace","path":"level","value":"Nope"}]`)
	if r.status != 400 {
		t.Errorf("patch to a bad level: %d", r.status)
	}
	if r := h.call("DELETE", fmt.Sprintf("/system/callbacks/%d", cbs[0].ID), ""); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if r := h.call("DELETE", fmt.Sprintf("/system/callbacks/%d", cbs[0].ID), ""); r.status != 404 {
		t.Errorf("delete again: %d", r.status)
	}
}

func TestFaultBodies(t *testing.T) {
	h := newHarness(t, Settings{})
	h.emu.Faults().Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 30 * time.Second})
	r := h.call("GET", "/system/info", "")
	if r.status != 429 || r.header.Get("Retry-After") != "30" ||
		string(r.body) != `{"error":"ConnectWiseAPI","message":"Too many requests. Please try again in 30 seconds."}` {
		t.Errorf("429: %d %v %s", r.status, r.header, r.body)
	}
	if r := h.raw("GET", "/login/companyinfo/"+DefaultCompanyID, ""); r.status != 200 {
		t.Errorf("discovery must bypass faults: %d", r.status)
	}
	h.emu.Faults().Set(sandbox.FaultSettings{Unauthorized: true})
	if r := h.call("GET", "/system/info", ""); r.status != 401 || r.errorBody(t).Code != "Unauthorized" {
		t.Errorf("401: %d %s", r.status, r.body)
	}
	h.emu.Faults().Set(sandbox.FaultSettings{ErrorRate: 1})
	if r := h.call("GET", "/system/info", ""); r.status != 500 {
		t.Errorf("500: %d %s", r.status, r.body)
	}
}

func TestRegistryAndConfig(t *testing.T) {
	em, err := sandbox.New(helpdesk.ConnectWise, sandbox.Options{World: sandbox.Generate(sandbox.GenOptions{Tickets: 5})})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if em.Provider() != helpdesk.ConnectWise {
		t.Errorf("provider = %q", em.Provider())
	}
	frag := em.ConfigFragment("http://127.0.0.1:8080/")
	for _, want := range []string{"provider: connectwise", "publicKey: {env: " + EnvPublicKey + "}",
		"privateKey: {env: " + EnvPrivateKey + "}", "baseURL: http://127.0.0.1:8080\n", "clientId: " + DefaultClientID} {
		if !strings.Contains(frag, want) {
			t.Errorf("fragment lacks %q:\n%s", want, frag)
		}
	}
	env := em.Env()
	if env[EnvPublicKey] != DefaultPublicKey || env[EnvPrivateKey] != DefaultPrivateKey || strings.Contains(frag, DefaultPrivateKey) {
		t.Errorf("env = %v", env)
	}
}
