package halopsa

import (
	"encoding/json"
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
	emu   *Server
	srv   *httptest.Server
	token string
}

func newHarness(t *testing.T, tickets int, s Settings) *harness {
	t.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: tickets, Seed: 3, Now: anchor, Clock: func() time.Time { return anchor }})
	emu, err := New(sandbox.Options{World: w, DeliveryScale: 0.001}, s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Cleanup(emu.Close)
	h := &harness{t: t, emu: emu, srv: srv}
	status, body := h.tokenRequest("?tenant="+emu.set.Tenant, url.Values{"grant_type": {"client_credentials"},
		"client_id": {emu.set.ClientID}, "client_secret": {emu.set.ClientSecret}, "scope": {"all"}})
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
		t.Fatalf("token response %s", body)
	}
	h.token = tok.AccessToken
	return h
}

func (h *harness) tokenRequest(query string, form url.Values) (int, []byte) {
	h.t.Helper()
	res, err := http.Post(h.srv.URL+"/auth/token"+query, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (h *harness) do(method, path, body string) (int, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (h *harness) expect(method, path, body string, status int, contains string) []byte {
	h.t.Helper()
	got, b := h.do(method, path, body)
	if got != status || !strings.Contains(string(b), contains) {
		h.t.Fatalf("%s %s: %d %s, want %d containing %q", method, path, got, b, status, contains)
	}
	return b
}

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "scope": {"all"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	cases := []struct {
		name   string
		query  string
		form   url.Values
		status int
		code   string
	}{
		{"wrong secret", "?tenant=" + DefaultTenant, with("client_secret", "nope"), 401, "invalid_client"},
		{"wrong client id", "?tenant=" + DefaultTenant, with("client_id", "nope"), 401, "invalid_client"},
		{"missing tenant", "", good, 400, "invalid_request"},
		{"wrong grant", "?tenant=" + DefaultTenant, with("grant_type", "password"), 400, "unsupported_grant_type"},
		{"unknown scope", "?tenant=" + DefaultTenant, with("scope", "everything"), 400, "invalid_scope"},
	}
	for _, tc := range cases {
		status, body := h.tokenRequest(tc.query, tc.form)
		if status != tc.status || !strings.Contains(string(body), `"error":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, body, tc.status, tc.code)
		}
	}
	// Credentials in a Basic header instead of the form are refused.
	req, _ := http.NewRequest("POST", h.srv.URL+"/auth/token?tenant="+DefaultTenant,
		strings.NewReader("grant_type=client_credentials&scope=all"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("basic-auth credentials: %d, want 401", res.StatusCode)
	}
}

func TestAPIAuth(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	good := h.token
	h.token = "forged"
	h.expect("GET", "/api/Tickets", "", 401, `"Message":"Authorization has been denied`)
	h.token = good
	h.expect("GET", "/api/Tickets", "", 200, `"tickets"`)
	h.emu.RevokeTokens()
	h.expect("GET", "/api/Tickets", "", 401, "denied")
}

func TestPathsCaseInsensitive(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	for _, p := range []string{"/api/tickets", "/API/TICKETS", "/api/Tickets/", "/Api/TicketType", "/api/AGENT/me"} {
		h.expect("GET", p, "", 200, "")
	}
	h.expect("GET", "/api/nosuchthing", "", 404, "ClassName")
	h.expect("PUT", "/api/tickets", "[]", 405, "does not support")
	h.expect("POST", "/api/status", "[]", 405, "")
}

func TestPagingCapAndEnvelope(t *testing.T) {
	h := newHarness(t, 250, Settings{})
	var env struct {
		PageNo      int               `json:"page_no"`
		PageSize    int               `json:"page_size"`
		RecordCount int               `json:"record_count"`
		Tickets     []json.RawMessage `json:"tickets"`
	}
	b := h.expect("GET", "/api/Tickets?pageinate=true&page_size=500&page_no=2", "", 200, "")
	if err := json.Unmarshal(b, &env); err != nil || env.PageSize != 100 || env.PageNo != 2 || env.RecordCount != 250 || len(env.Tickets) != 100 {
		t.Fatalf("capped page: size %d no %d count %d len %d", env.PageSize, env.PageNo, env.RecordCount, len(env.Tickets))
	}
	b = h.expect("GET", "/api/Tickets?pageinate=true&page_size=100&page_no=3", "", 200, "")
	_ = json.Unmarshal(b, &env)
	if len(env.Tickets) != 50 {
		t.Fatalf("last page has %d", len(env.Tickets))
	}
	b = h.expect("GET", "/api/Tickets", "", 200, "")
	var all map[string]any
	_ = json.Unmarshal(b, &all)
	if _, paged := all["page_no"]; paged || len(all["tickets"].([]any)) != 250 {
		t.Fatal("without pageinate every match comes back, with no paging fields")
	}
	for _, q := range []string{"page_size=0", "page_no=0", "page_size=abc", "lastupdatefromdate=yesterday",
		"order=colour", "open_only=maybe"} {
		h.expect("GET", "/api/Tickets?pageinate=true&"+q, "", 400, "")
	}
}

func TestPostValidation(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	h.expect("POST", "/api/Tickets", `{"summary":"not an array"}`, 400, `"resultCode"`)
	h.expect("POST", "/api/Tickets", `[]`, 400, `"errorMessage"`)
	h.expect("POST", "/api/Tickets", `[{"summary":"x","statusid":2}]`, 400, `"[0].statusid":"Unknown field."`)
	h.expect("POST", "/api/Tickets", `[{"details":"no summary"}]`, 400, `"[0].summary"`)
	h.expect("POST", "/api/Tickets", `[{"summary":"x","status_id":"abc"}]`, 400, `"[0].status_id"`)
	h.expect("POST", "/api/Tickets", `[{"summary":"x","agent_id":999999}]`, 400, `"[0].agent_id"`)
	h.expect("POST", "/api/Actions", `[{"ticket_id":999999,"outcome":"Private Note"}]`, 400, `"[0].ticket_id"`)
	h.expect("POST", "/api/Actions", `[{"ticket_id":1,"outcome":"Private Note"}]`, 400, `"[0].ticket_id"`)
	h.expect("POST", "/api/Webhook", `[{"name":"x","url":"ftp://nope"}]`, 400, `"[0].url"`)
	h.expect("POST", "/api/Webhook", `[{"name":"x","url":"https://a.example","authentication_type":1}]`, 400, `"[0].basic_password"`)
	h.expect("POST", "/api/Webhook", `[{"name":"x","url":"https://a.example","events":[{"name":"Coffee Made"}]}]`, 400, `"[0].events[0].name"`)
	h.expect("POST", "/api/Webhook", `[{"id":"not-a-guid","name":"x","url":"https://a.example"}]`, 400, `"[0].id"`)
	lenient := newHarness(t, 5, Settings{AcceptUnknownFields: true})
	lenient.expect("POST", "/api/Tickets", `[{"summary":"x","statusid":2}]`, 200, `"summary":"x"`)
}

func TestUpsertSemantics(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	all, _ := h.emu.world.QueryTickets(sandbox.TicketQuery{})
	before := all[0]
	h.expect("POST", "/api/Tickets", `[{"id":`+itoa(before.ID)+`,"agent_id":0}]`, 200, `"agent_id":0`)
	after, _ := h.emu.world.Ticket(before.ID)
	if after.Summary != before.Summary || after.StatusID != before.StatusID || after.AssigneeID != 0 {
		t.Fatalf("partial update changed more than agent_id: %+v", after)
	}
	b := h.expect("POST", "/api/Tickets", `[{"id":999999,"summary":"odd upsert"}]`, 200, `"summary":"odd upsert"`)
	if strings.Contains(string(b), `"id":999999`) {
		t.Fatal("an unknown id must create a new ticket with a new id")
	}
	strict := newHarness(t, 5, Settings{UnknownIDRejected: true})
	strict.expect("POST", "/api/Tickets", `[{"id":999999,"summary":"x"}]`, 400, `"[0].id"`)
	arrays := newHarness(t, 5, Settings{ArrayResponses: true})
	arrays.expect("POST", "/api/Tickets", `[{"summary":"x"}]`, 200, `[{"id":`)
}

func TestDenyWrites(t *testing.T) {
	h := newHarness(t, 5, Settings{DenyWrites: true})
	h.expect("POST", "/api/Tickets", `[{"summary":"x"}]`, 403, "permission")
	h.expect("GET", "/api/Tickets", "", 200, "")
}

func TestAgentsAndUsersFilters(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	var agents []map[string]any
	_ = json.Unmarshal(h.expect("GET", "/api/Agent", "", 200, ""), &agents)
	var withDisabled []map[string]any
	_ = json.Unmarshal(h.expect("GET", "/api/Agent?includedisabled=true", "", 200, ""), &withDisabled)
	if len(withDisabled) != len(h.emu.world.Members()) || len(agents) >= len(withDisabled) {
		t.Fatalf("agents %d, with disabled %d, world %d", len(agents), len(withDisabled), len(h.emu.world.Members()))
	}
	h.expect("GET", "/api/Agent/me", "", 200, `"id":`+itoa(h.emu.world.APIUser().ID))
}

func TestRegisterAndConfigFragment(t *testing.T) {
	e, err := sandbox.New(helpdesk.HaloPSA, sandbox.Options{World: sandbox.Generate(sandbox.GenOptions{Tickets: 3})})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	frag := e.ConfigFragment("http://127.0.0.1:8080/")
	for _, want := range []string{"provider: halopsa", "halopsa:", "baseURL: http://127.0.0.1:8080\n",
		"tenant: " + DefaultTenant, "clientId: " + DefaultClientID, "clientSecret: {env: " + EnvClientSecret + "}"} {
		if !strings.Contains(frag, want) {
			t.Fatalf("fragment lacks %q:\n%s", want, frag)
		}
	}
	if strings.Contains(frag, DefaultClientSecret) {
		t.Fatal("the fragment holds the secret itself")
	}
	if e.Env()[EnvClientSecret] != DefaultClientSecret {
		t.Fatalf("env %v", e.Env())
	}
}

func TestFaultBodies(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	h.emu.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 2 * time.Second})
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/Tickets", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
		t.Fatalf("429: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// The token endpoint is not rate limited by fault injection.
	status, _ := h.tokenRequest("?tenant="+DefaultTenant, url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "scope": {"all"}})
	if status != 200 {
		t.Fatalf("token under faults: %d", status)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
