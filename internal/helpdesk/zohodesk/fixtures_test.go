package zohodesk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureServer answers the token endpoint with token.json and each API
// path with the named fixture and status; it counts requests.
type route struct {
	status int
	file   string
}

func fixtureServer(t *testing.T, routes map[string]route) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rt, ok := routes[r.URL.Path]
		if r.URL.Path == "/oauth/v2/token" && !ok {
			rt = route{200, "token.json"}
		} else if !ok {
			rt = route{404, "error_422.json"}
		}
		if r.URL.Path != "/oauth/v2/token" && (r.Header.Get("Authorization") != "Zoho-oauthtoken 1000.xxx.yyy" || r.Header.Get("orgId") != "2389290") {
			t.Errorf("%s: Authorization %q orgId %q", r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("orgId"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rt.status)
		if rt.file != "" {
			w.Write(fixture(t, rt.file))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func fixtureClient(t *testing.T, url string) *zohodesk.Client {
	return newClient(t, zohodesk.Config{OrgID: "2389290", ClientID: "1000.CLIENT", ClientSecret: "client-secret-value",
		RefreshToken: "1000.refresh-token-value", BaseURL: url,
		Tuning: zohodesk.Tuning{RatePerSecond: -1, MaxAttempts: 3, BaseBackoff: time.Millisecond}})
}

func TestParseDocumentedBodies(t *testing.T) {
	srv, _ := fixtureServer(t, map[string]route{
		"/api/v1/tickets/1892000000143237": {200, "ticket.json"},
		"/api/v1/organizationFields":       {200, "organization_fields.json"},
		"/api/v1/departments":              {204, ""},
		"/api/v1/organizations":            {200, "organizations.json"},
	})
	c := fixtureClient(t, srv.URL)
	ctx := context.Background()
	tk, err := c.GetTicket(ctx, "1892000000143237")
	if err != nil {
		t.Fatal(err)
	}
	want := helpdesk.Ticket{ExternalID: "1892000000143237", Number: "1042", Summary: "VPN drops every 10 minutes",
		Status: helpdesk.Ref{ID: "Open", Name: "Open"}, Priority: helpdesk.Ref{ID: "High", Name: "High"},
		Type: helpdesk.Ref{ID: "Problem", Name: "Problem"}, Queue: helpdesk.Ref{ID: "1892000000006907"},
		CompanyID: "1892000000098765", ContactID: "1892000000142001", AssigneeID: "1892000000056007",
		CreatedAt: time.Date(2024, 5, 1, 9, 12, 44, 0, time.UTC), UpdatedAt: time.Date(2024, 5, 1, 10, 15, 30, 0, time.UTC)}
	got := tk
	got.Raw, got.Description = nil, ""
	if got.ExternalID != want.ExternalID || got.Number != want.Number || got.Status != want.Status || got.Priority != want.Priority ||
		got.Type != want.Type || got.Queue != want.Queue || got.CompanyID != want.CompanyID || got.ContactID != want.ContactID ||
		got.AssigneeID != want.AssigneeID || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.Closed {
		t.Fatalf("ticket = %+v\nwant %+v", got, want)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping with a numeric org id: %v", err)
	}
	lists, err := c.Picklists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 4 || lists[0].Kind != helpdesk.PicklistStatus || len(lists[0].Values) != 4 || !lists[0].Values[3].Closed ||
		lists[0].Values[1].Closed || lists[2].Kind != helpdesk.PicklistPriority || lists[1].Values[1].Name != "Problem" ||
		len(lists[3].Values) != 0 {
		t.Fatalf("picklists = %+v", lists)
	}
}

func TestParseTimeEntryFixture(t *testing.T) {
	srv, _ := fixtureServer(t, map[string]route{
		"/api/v1/tickets/search":                  {200, "ticket_search.json"},
		"/api/v1/tickets/4000000031007/timeEntry": {200, "timeentry_list.json"},
	})
	c := fixtureClient(t, srv.URL)
	entries, _ := collectAll(t, c.TimeEntries(context.Background(), helpdesk.Query{}))
	if len(entries) != 1 {
		t.Fatalf("entries = %+v", entries)
	}
	te := entries[0]
	if te.ExternalID != "15000000029314" || te.TicketID != "4000000031007" || te.Hours != 1.5 || !te.Billable ||
		te.MemberID != "15000000009148" || !te.Start.Equal(time.UnixMilli(1513793360000)) || te.Notes != "Dummy#2" ||
		!te.UpdatedAt.Equal(time.UnixMilli(1515597647000)) {
		t.Fatalf("time entry = %+v", te)
	}
}

func TestDocumentedErrorBodies(t *testing.T) {
	srv, n := fixtureServer(t, map[string]route{
		"/api/v1/tickets":                  {422, "error_422.json"},
		"/api/v1/tickets/1892000000143237": {422, "error_limit.json"},
	})
	c := fixtureClient(t, srv.URL)
	_, err := c.CreateTicket(context.Background(), helpdesk.NewTicket{Summary: "x", QueueID: "1"})
	var he *helpdesk.Error
	if !errors.As(err, &he) || he.Kind != helpdesk.ErrInvalid || he.Status != 422 ||
		!strings.Contains(he.Message, "INVALID_DATA") || !strings.Contains(he.Message, "/departmentId") ||
		!strings.Contains(he.Message, "Department does not exist") {
		t.Fatalf("422 error = %v", err)
	}
	before := n.Load()
	_, err = c.GetTicket(context.Background(), "1892000000143237")
	if !strings.Contains(err.Error(), "exceeds the range of '1-100'") || n.Load()-before != 1 {
		t.Fatalf("422 must not be retried and must carry Zoho's message: %v (%d requests)", err, n.Load()-before)
	}
}

func TestTokenGrantErrorAt200(t *testing.T) {
	srv, n := fixtureServer(t, map[string]route{"/oauth/v2/token": {200, "token_error.json"}})
	c := fixtureClient(t, srv.URL)
	_, err := c.GetTicket(context.Background(), "1892000000143237")
	if !errors.Is(err, helpdesk.ErrUnauthorized) || !strings.Contains(err.Error(), "refreshToken") ||
		!strings.Contains(err.Error(), "invalid_code") {
		t.Fatalf("grant error = %v", err)
	}
	if n.Load() != 1 {
		t.Fatalf("%d requests; a refused grant must not be retried nor reach the API", n.Load())
	}
	assertNoSecrets(t, err, "client-secret-value", "1000.refresh-token-value")
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks a credential: %v", err)
		}
	}
}
