package halopsa_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
)

// fixtureServer answers with testdata files: bodies shaped like the wire
// facts' examples, written by hand, not by the sandbox.
type fixtureServer struct {
	t      *testing.T
	routes map[string]fixture // "GET /api/tickets/4242" (lower case)
	mu     sync.Mutex
	log    []recorded
}

type fixture struct {
	status int
	file   string // under testdata; "" for {} or an empty page
	body   string // literal body when file is ""
}

type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
}

func newFixtureServer(t *testing.T, routes map[string]fixture) (*fixtureServer, *halopsa.Client) {
	t.Helper()
	fs := &fixtureServer{t: t, routes: routes}
	for route, file := range map[string]string{"post /auth/token": "token.json", "get /api/status": "statuses.json",
		"get /api/tickettype": "tickettypes.json", "get /api/priority": "priorities.json", "get /api/team": "teams.json"} {
		if _, ok := routes[route]; !ok {
			routes[route] = fixture{file: file}
		}
	}
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	c, err := halopsa.New(halopsa.Config{BaseURL: srv.URL, Tenant: "acme", ClientID: "client-guid",
		ClientSecret: "fixture-secret", RatePerSecond: -1, MaxAttempts: 2, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return fs, c
}

func (fs *fixtureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fs.mu.Lock()
	fs.log = append(fs.log, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
	fs.mu.Unlock()
	key := strings.ToLower(r.Method + " " + r.URL.Path)
	if tid := r.URL.Query().Get("ticket_id"); tid != "" {
		key += "?ticket_id=" + tid
	}
	if pn := r.URL.Query().Get("page_no"); pn != "" && pn != "1" {
		key += "?page_no=" + pn
	}
	f, ok := fs.routes[key]
	if !ok {
		http.Error(w, "no fixture for "+key, http.StatusNotFound)
		return
	}
	b := []byte(f.body)
	if f.file != "" {
		b = readFixture(fs.t, f.file)
	}
	if f.status == 0 {
		f.status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	w.Write(b)
}

func (fs *fixtureServer) requests(method, path string) []recorded {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []recorded
	for _, r := range fs.log {
		if r.method == method && strings.EqualFold(r.path, path) {
			out = append(out, r)
		}
	}
	return out
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseTicketFixtures(t *testing.T) {
	_, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets/4242": {file: "ticket.json"},
		"get /api/tickets/4243": {file: "ticket_nozone.json"},
	})
	got, err := c.GetTicket(context.Background(), "4242")
	if err != nil {
		t.Fatal(err)
	}
	want := helpdesk.Ticket{ExternalID: "4242", Summary: "Printer offline on 2nd floor", Description: "Users cannot print since 9am.",
		Status: helpdesk.Ref{ID: "2", Name: "In Progress"}, Priority: helpdesk.Ref{ID: "3", Name: "Normal"},
		Type: helpdesk.Ref{ID: "1", Name: "Incident"}, Queue: helpdesk.Ref{Name: "1st Line"},
		CompanyID: "12", ContactID: "208", AssigneeID: "4",
		CreatedAt: ts("2024-05-01T09:12:44Z"), UpdatedAt: ts("2024-05-01T10:15:30Z")}
	got.Raw = nil
	if !equalTicket(got, want) {
		t.Fatalf("ticket.json parsed as\n%+v\nwant\n%+v", got, want)
	}
	got, err = c.GetTicket(context.Background(), "4243")
	if err != nil {
		t.Fatal(err)
	}
	if got.ExternalID != "4243" || got.ContactID != "" || got.AssigneeID != "" || !got.Closed ||
		got.Queue != (helpdesk.Ref{ID: "5", Name: "1st Line"}) || !got.UpdatedAt.Equal(ts("2024-05-01T10:15:30.1234567Z")) ||
		got.UpdatedAt.Location() != time.UTC || !got.CreatedAt.Equal(ts("2024-05-01T09:12:44Z")) {
		t.Fatalf("ticket_nozone.json parsed as %+v", got)
	}
}

func equalTicket(a, b helpdesk.Ticket) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestParseTicketPageAndQuery(t *testing.T) {
	fs, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets":           {file: "tickets_page.json"},
		"get /api/tickets?page_no=2": {body: `{"page_no":2,"page_size":2,"record_count":37,"tickets":[]}`},
	})
	since := ts("2024-05-01T00:00:00.250Z")
	// last_update is absent from the page fixture: records the server
	// returned are kept, not filtered as "old".
	got, _ := collect(t, c.Tickets(context.Background(), helpdesk.Query{Since: since, PageSize: 2}))
	reqs := fs.requests("GET", "/api/Tickets")
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (stop on the empty page, not on record_count 37)", len(reqs))
	}
	q := reqs[0].query
	for k, v := range map[string]string{"pageinate": "true", "page_size": "2", "page_no": "1",
		"lastupdatefromdate": "2024-05-01T00:00:00Z", "order": "id", "includedetails": "true"} {
		if q.Get(k) != v {
			t.Fatalf("query %s=%q, want %q (query %v)", k, q.Get(k), v, q)
		}
	}
	if reqs[1].query.Get("page_no") != "2" || reqs[1].query.Get("lastupdatefromdate") == "" {
		t.Fatalf("second page dropped the filter or page_no: %v", reqs[1].query)
	}
	if h := reqs[0].header.Get("Authorization"); h != "Bearer eyJhbGciOi-fixture-token" {
		t.Fatalf("Authorization %q", h)
	}
	if len(got) != 2 || got[0].ExternalID != "4242" || got[1].Summary != "New starter" ||
		got[0].Description != "Users cannot print since 9am." {
		t.Fatalf("tickets %+v", got)
	}
	if got[0].Status.Name == "" || got[1].Status.Name == "" {
		t.Fatalf("status names not resolved: %+v %+v", got[0].Status, got[1].Status)
	}
}

func TestParseTokenRequest(t *testing.T) {
	fs, c := newFixtureServer(t, map[string]fixture{"get /api/agent/me": {file: "agents.json"}})
	_ = c.Ping(context.Background()) // the agents fixture is an array: Me fails, the token request is what matters
	reqs := fs.requests("POST", "/auth/token")
	if len(reqs) != 1 {
		t.Fatalf("%d token requests", len(reqs))
	}
	r := reqs[0]
	form, _ := url.ParseQuery(string(r.body))
	if r.query.Get("tenant") != "acme" || form.Get("grant_type") != "client_credentials" || form.Get("client_id") != "client-guid" ||
		form.Get("client_secret") != "fixture-secret" || form.Get("scope") != "all" ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.header.Get("Authorization") != "" {
		t.Fatalf("token request: query %v form %v headers %v", r.query, form, r.header)
	}
}

func TestParseActionsFixtures(t *testing.T) {
	_, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets":                {body: `{"page_no":1,"page_size":100,"record_count":2,"tickets":[{"id":4242,"last_update":"2024-05-01T10:15:30Z"},{"id":4243,"last_update":"2024-05-01T11:00:00Z"}]}`},
		"get /api/actions?ticket_id=4242": {file: "actions.json"},
		"get /api/actions?ticket_id=4243": {file: "actions_bare.json"},
	})
	ctx := context.Background()
	notes, err := c.Notes(ctx, "4242")
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 {
		t.Fatalf("notes %+v", notes)
	}
	n := notes[0]
	if n.ExternalID != "9001" || n.TicketID != "4242" || n.Text != "Replaced toner." || !n.Internal ||
		n.AuthorID != "4" || !n.CreatedAt.Equal(ts("2024-05-01T10:15:30Z")) || len(n.Raw) == 0 || notes[1].Internal {
		t.Fatalf("notes %+v", notes)
	}
	bare, err := c.Notes(ctx, "4243")
	if err != nil || len(bare) != 1 || bare[0].Text != "<p>HTML only</p>" {
		t.Fatalf("bare action list: %+v, %v", bare, err)
	}
	entries, _ := collect(t, c.TimeEntries(ctx, helpdesk.Query{}))
	if len(entries) != 1 {
		t.Fatalf("time entries %+v, want the one action with timetaken", entries)
	}
	te := entries[0]
	if te.ExternalID != "9001" || te.Hours != 0.25 || !te.Billable || te.MemberID != "4" || te.TicketID != "4242" ||
		!te.Start.Equal(ts("2024-05-01T10:00:00Z")) || te.Notes != "Replaced toner." {
		t.Fatalf("time entry %+v", te)
	}
}

func TestParsePeopleAndPicklistFixtures(t *testing.T) {
	_, c := newFixtureServer(t, map[string]fixture{
		"get /api/users": {file: "users_page.json"}, "get /api/client": {file: "clients_page.json"},
		"get /api/agent": {file: "agents.json"}, "get /api/status": {file: "statuses.json"},
		"get /api/priority": {file: "priorities.json"}, "get /api/tickettype": {file: "tickettypes.json"},
		"get /api/team": {file: "teams.json"},
	})
	ctx := context.Background()
	users, _ := collect(t, c.Contacts(ctx, helpdesk.Query{}))
	if len(users) != 2 || users[0].FirstName != "Jane" || users[0].CompanyID != "12" || users[0].Email != "jane@acme.example" ||
		users[1].FirstName != "Bob" || users[1].LastName != "Gone" || users[1].Active {
		t.Fatalf("users %+v", users)
	}
	clients, _ := collect(t, c.Companies(ctx, helpdesk.Query{}))
	if len(clients) != 2 || clients[0].Name != "Acme Ltd" || !clients[0].Active || clients[1].Active {
		t.Fatalf("clients %+v", clients)
	}
	agents, _ := collect(t, c.Members(ctx, helpdesk.Query{}))
	if len(agents) != 2 || agents[0].Email != "sam@msp.example" || !agents[0].Active || agents[1].Active {
		t.Fatalf("agents %+v", agents)
	}
	pls, err := c.Picklists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[helpdesk.PicklistKind][]helpdesk.PicklistValue{}
	for _, pl := range pls {
		got[pl.Kind] = pl.Values
	}
	st := got[helpdesk.PicklistStatus]
	if len(st) != 3 || !st[2].Closed || st[2].ID != "9" || st[0].Closed {
		t.Fatalf("statuses %+v", st)
	}
	if pr := got[helpdesk.PicklistPriority]; len(pr) != 2 || pr[0].ID != "1" || pr[1].Name != "Normal" {
		t.Fatalf("priorities %+v (one per id across SLAs)", pr)
	}
	if tt := got[helpdesk.PicklistType]; len(tt) != 2 || tt[1].Name != "Service Request" {
		t.Fatalf("types %+v", tt)
	}
	if tm := got[helpdesk.PicklistQueue]; len(tm) != 2 || tm[1].Active {
		t.Fatalf("teams %+v", tm)
	}
}

func TestParseWebhookListFixture(t *testing.T) {
	_, c := newFixtureServer(t, map[string]fixture{"get /api/webhook": {file: "webhooks_list.json"}})
	ws, err := c.Webhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Fatalf("%d webhooks, want 2 (the runbook dropped)", len(ws))
	}
	h := ws[0]
	want := []helpdesk.Event{helpdesk.EventNoteCreated, helpdesk.EventTicketCreated, helpdesk.EventTicketUpdated}
	if !h.Managed || h.Key != halopsa.WebhookKey || h.Fingerprint != "1a2b3c4d" || !h.Active || !slices.Equal(h.SortedEvents(), want) {
		t.Fatalf("managed webhook %+v", h)
	}
	if o := ws[1]; o.Managed || o.Key != "" || o.Active || !slices.Equal(o.Events, []helpdesk.Event{helpdesk.EventTicketUpdated}) {
		t.Fatalf("other tool's webhook %+v", o)
	}
}

// TestWriteBodies checks the posted JSON against the wire facts' upsert
// examples (B9): arrays, integer ids, only the changed fields.
func TestWriteBodies(t *testing.T) {
	fs, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets/4242": {file: "ticket.json"}, "post /api/tickets": {file: "ticket.json"},
		"post /api/actions": {file: "action_saved.json"},
	})
	ctx := context.Background()
	if _, err := c.UpdateTicket(ctx, "4242", helpdesk.TicketUpdate{StatusID: "9", AssigneeID: "4"}); err != nil {
		t.Fatal(err)
	}
	assertJSON(t, fs.requests("POST", "/api/Tickets")[0].body, `[{"agent_id":4,"id":4242,"status_id":9}]`)
	n, err := c.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: "4242", MemberID: "4", Hours: 0.25, Notes: "Replaced toner."})
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, fs.requests("POST", "/api/Actions")[0].body, `[{"ticket_id":4242,"outcome":"Private Note","note":"Replaced toner.",
		"hiddenfromuser":true,"timetaken":0.25,"who_agentid":4,"actionchargehours":0,"actionnonchargehours":0.25,"sendemail":false}]`)
	if n.ExternalID != "9010" || n.Billable || n.Hours != 0.25 {
		t.Fatalf("saved time entry %+v", n)
	}
}

func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("posted body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Fatalf("posted %s\nwant   %s", gj, wj)
	}
}

func TestParseErrorBodies(t *testing.T) {
	cases := []struct {
		file   string
		status int
		want   string
	}{
		{"errors/resultcode.json", 400, "Ticket summary is required"},
		{"errors/classname.json", 404, "Object reference not set"},
		{"errors/message.json", 403, "Authorization has been denied"},
		{"errors/fields.json", 400, "[0].id: The ticket 4242 does not exist; [0].status_id: Invalid status"},
		{"errors/plain.txt", 400, "Too Many Requests"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, c := newFixtureServer(t, map[string]fixture{"get /api/tickets/1": {status: tc.status, file: tc.file}})
			_, err := c.GetTicket(context.Background(), "1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want the message %q", err, tc.want)
			}
		})
	}
	t.Run("token error", func(t *testing.T) {
		_, c := newFixtureServer(t, map[string]fixture{"post /auth/token": {status: 401, file: "errors/invalid_client.json"}})
		if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("err %v", err)
		}
	})
}

// TestPagingServerIgnoresPageNo: a server answering every page_no with
// the first page ends the stream with an error instead of looping.
func TestPagingServerIgnoresPageNo(t *testing.T) {
	_, c := newFixtureServer(t, map[string]fixture{
		"get /api/tickets":           {file: "tickets_page.json"},
		"get /api/tickets?page_no=2": {file: "tickets_page.json"},
	})
	var err error
	pages := 0
	for _, e := range c.Tickets(context.Background(), helpdesk.Query{PageSize: 2}) {
		pages++
		err = e
	}
	if err == nil || !strings.Contains(err.Error(), "ignored page_no") || pages != 2 {
		t.Fatalf("after %d pages: %v", pages, err)
	}
}
