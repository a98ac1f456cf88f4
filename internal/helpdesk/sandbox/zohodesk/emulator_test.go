package zohodesk

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

type fixture struct {
	emu   *Emulator
	srv   *httptest.Server
	token string
}

func setup(t *testing.T, zo Options) *fixture {
	t.Helper()
	w := sandbox.Generate(sandbox.GenOptions{Tickets: 30, Seed: 2, Now: anchor, Clock: func() time.Time { return anchor }})
	emu, err := New(sandbox.Options{World: w, DeliveryScale: 0.0001}, zo)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	f := &fixture{emu: emu, srv: srv}
	res, body := f.do(t, "POST", "/oauth/v2/token?"+url.Values{"grant_type": {"refresh_token"}, "client_id": {emu.opt.ClientID},
		"client_secret": {emu.opt.ClientSecret}, "refresh_token": {emu.opt.RefreshToken}}.Encode(), "", nil)
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" || tok.ExpiresIn != 3600 {
		t.Fatalf("token grant: %d %s", res.StatusCode, body)
	}
	f.token = tok.AccessToken
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, h map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func (f *fixture) api(t *testing.T, method, path, body string) (*http.Response, []byte) {
	return f.do(t, method, path, body, map[string]string{"Authorization": "Zoho-oauthtoken " + f.token, "orgId": f.emu.opt.OrgID})
}

func TestStrictness(t *testing.T) {
	f := setup(t, Options{})
	live, _ := f.emu.world.QueryTickets(sandbox.TicketQuery{})
	tk := WireID(live[0].ID)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"limit above 100", "GET", "/api/v1/tickets/search?limit=101", "", 422, `"The value passed for field 'limit' exceeds the range of '1-100'."`},
		{"from above 4999", "GET", "/api/v1/tickets/search?from=5000&limit=10", "", 422, `"The value passed for field 'from' exceeds the range of '0-4999'."`},
		{"contacts limit above 99", "GET", "/api/v1/contacts/search?limit=100", "", 422, "'1-99'"},
		{"agents limit above 200", "GET", "/api/v1/agents?limit=201", "", 422, "'1-200'"},
		{"unknown query parameter", "GET", "/api/v1/tickets/search?colour=red", "", 422, "extra query parameter 'colour'"},
		{"malformed range", "GET", "/api/v1/tickets/search?modifiedTimeRange=yesterday,today", "", 422, "modifiedTimeRange"},
		{"reversed range", "GET", "/api/v1/tickets/search?modifiedTimeRange=2025-01-02T00:00:00.000Z,2025-01-01T00:00:00.000Z", "", 422, "modifiedTimeRange"},
		{"bad sortBy", "GET", "/api/v1/tickets/search?sortBy=subject", "", 422, "sortBy"},
		{"empty search is 204", "GET", "/api/v1/tickets/search?modifiedTimeRange=2030-01-01T00:00:00.000Z,2030-01-02T00:00:00.000Z", "", 204, ""},
		{"past the end is 204", "GET", "/api/v1/tickets/" + tk + "/comments?from=4000&limit=10", "", 204, ""},
		{"unknown patch field", "PATCH", "/api/v1/tickets/" + tk, `{"colour":"red"}`, 422, `"fieldName":"/colour"`},
		{"unknown status", "PATCH", "/api/v1/tickets/" + tk, `{"status":"Nope"}`, 422, `"fieldName":"/status"`},
		{"malformed body", "PATCH", "/api/v1/tickets/" + tk, `{"status":`, 400, "INVALID_DATA"},
		{"missing ticket", "GET", "/api/v1/tickets/" + WireID(99999999), "", 404, "URL_NOT_FOUND"},
		{"non-numeric id", "GET", "/api/v1/tickets/abc", "", 404, "URL_NOT_FOUND"},
		{"comment without content", "POST", "/api/v1/tickets/" + tk + "/comments", `{"isPublic":false}`, 422, `"/content"`},
		{"time entry without executedTime", "POST", "/api/v1/tickets/" + tk + "/timeEntry", `{"hoursSpent":1}`, 422, `"/executedTime"`},
		{"time entry description too long", "POST", "/api/v1/tickets/" + tk + "/timeEntry",
			`{"executedTime":"2026-01-01T10:00:00.000Z","description":"` + strings.Repeat("x", 101) + `"}`, 422, `"/description"`},
		{"organizationFields needs module", "GET", "/api/v1/organizationFields", "", 422, "module"},
		{"webhook without subscriptions", "POST", "/api/v1/webhooks", `{"url":"https://example.invalid/x"}`, 422, "subscriptions"},
		{"webhook unknown event", "POST", "/api/v1/webhooks", `{"url":"https://example.invalid/x","subscriptions":{"Ticket_Explode":null}}`, 422, "Ticket_Explode"},
		{"webhook bad ignoreSourceId", "POST", "/api/v1/webhooks", `{"url":"https://example.invalid/x","subscriptions":{"Ticket_Add":null},"ignoreSourceId":"nope"}`, 422, "ignoreSourceId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := f.api(t, tc.method, tc.path, tc.body)
			if res.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, res.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == 204 && len(body) != 0 {
				t.Fatalf("204 with a body: %q", body)
			}
		})
	}
}

func TestAuthChecks(t *testing.T) {
	f := setup(t, Options{})
	path := "/api/v1/departments"
	cases := []struct {
		name   string
		h      map[string]string
		status int
		code   string
	}{
		{"no token", map[string]string{"orgId": f.emu.opt.OrgID}, 401, "INVALID_OAUTH"},
		{"bad token", map[string]string{"Authorization": "Zoho-oauthtoken 1000.bad", "orgId": f.emu.opt.OrgID}, 401, "INVALID_OAUTH"},
		{"bearer accepted", map[string]string{"Authorization": "Bearer " + f.token, "orgId": f.emu.opt.OrgID}, 200, ""},
		{"missing orgId", map[string]string{"Authorization": "Zoho-oauthtoken " + f.token}, 422, "UNPROCESSABLE_ENTITY"},
		{"wrong orgId", map[string]string{"Authorization": "Zoho-oauthtoken " + f.token, "orgId": "1"}, 403, "OAUTH_ORG_MISMATCH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := f.do(t, "GET", path, "", tc.h)
			if res.StatusCode != tc.status || !strings.Contains(string(body), tc.code) {
				t.Fatalf("= %d %s, want %d %s", res.StatusCode, body, tc.status, tc.code)
			}
		})
	}
	res, body := f.do(t, "GET", "/api/v1/organizations", "", map[string]string{"Authorization": "Zoho-oauthtoken " + f.token})
	if res.StatusCode != 200 || !strings.Contains(string(body), `"id":`+f.emu.opt.OrgID) {
		t.Fatalf("organizations without orgId: %d %s (the org id is a JSON number)", res.StatusCode, body)
	}
}

func TestTokenEndpoint(t *testing.T) {
	f := setup(t, Options{TokenLimit: 3})
	form := func(secret, refresh string) string {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {f.emu.opt.ClientID}, "client_secret": {secret}, "refresh_token": {refresh}}.Encode()
	}
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for name, tc := range map[string]struct{ body, want string }{
		"bad refresh token": {form(f.emu.opt.ClientSecret, "x"), `"error":"invalid_code"`},
		"bad secret":        {form("x", f.emu.opt.RefreshToken), `"error":"invalid_client_secret"`},
	} {
		res, body := f.do(t, "POST", "/oauth/v2/token", tc.body, h)
		if res.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Fatalf("%s: %d %s, want 200 with %s", name, res.StatusCode, body, tc.want)
		}
	}
	for i := 0; i < 2; i++ { // setup took the first of three
		if res, body := f.do(t, "POST", "/oauth/v2/token", form(f.emu.opt.ClientSecret, f.emu.opt.RefreshToken), h); res.StatusCode != 200 || !strings.Contains(string(body), "access_token") {
			t.Fatalf("grant %d: %d %s", i, res.StatusCode, body)
		}
	}
	res, body := f.do(t, "POST", "/oauth/v2/token", form(f.emu.opt.ClientSecret, f.emu.opt.RefreshToken), h)
	if res.StatusCode != 400 || !strings.Contains(string(body), "Access Denied") {
		t.Fatalf("grant past the limit: %d %s", res.StatusCode, body)
	}
}

func TestInjectedRateLimitBody(t *testing.T) {
	f := setup(t, Options{})
	f.emu.faults.Set(sandbox.FaultSettings{RateLimitEvery: 1, RetryAfter: 30 * time.Second})
	res, body := f.api(t, "GET", "/api/v1/departments", "")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "30" || !strings.Contains(string(body), "TOO_MANY_REQUESTS") {
		t.Fatalf("= %d %v %s", res.StatusCode, res.Header, body)
	}
}

func TestDroppedWebhooksAndRegistry(t *testing.T) {
	f := setup(t, Options{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer rcv.Close()
	res, body := f.api(t, "POST", "/api/v1/webhooks", `{"name":"x","url":"`+rcv.URL+`","subscriptions":{"Ticket_Update":null}}`)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"type":"CUSTOMER_WEBHOOK"`) {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	f.emu.faults.Set(sandbox.FaultSettings{DropWebhooks: 1})
	live, _ := f.emu.world.QueryTickets(sandbox.TicketQuery{})
	f.emu.world.UpdateTicket(live[0].ID, sandbox.UI(f.emu.world.Members()[1].ID), func(*sandbox.Ticket) error { return nil })
	recs := f.emu.Deliveries()
	if len(recs) != 1 || !recs[0].Dropped {
		t.Fatalf("deliveries = %+v, want one dropped", recs)
	}
	emu, err := sandbox.New(helpdesk.ZohoDesk, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	frag := emu.ConfigFragment("http://127.0.0.1:9999")
	for _, want := range []string{"provider: zohodesk", "{env: ZOHO_CLIENT_SECRET}", "{env: ZOHO_REFRESH_TOKEN}", "baseURL: http://127.0.0.1:9999"} {
		if !strings.Contains(frag, want) {
			t.Fatalf("ConfigFragment lacks %q:\n%s", want, frag)
		}
	}
	if env := emu.Env(); env["ZOHO_CLIENT_SECRET"] == "" || env["ZOHO_REFRESH_TOKEN"] == "" {
		t.Fatalf("Env = %v", env)
	}
}
