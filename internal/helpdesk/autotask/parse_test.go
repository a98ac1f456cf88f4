package autotask_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
)

// fixtureServer answers by route with files from testdata, hand-written
// from the wire-facts document's examples. Zone discovery answers
// zone.json, whose url names a real host with a doubled slash: the client
// cleans it and, BaseURL being set, keeps calling this server.
func fixtureServer(t *testing.T, routes map[string]fixture) (*httptest.Server, *autotask.Client) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if strings.HasSuffix(r.URL.Path, "/zoneInformation") {
			key = "GET zone"
		}
		f, ok := routes[key]
		if !ok {
			f, ok = defaultFixtures[key]
		}
		if !ok {
			t.Errorf("unexpected request %s", key)
			w.WriteHeader(http.StatusNotFound)
			return
		}
		body, err := os.ReadFile("testdata/" + f.file)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteHeader(max(f.status, 200))
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := autotask.New(autotask.Config{Username: "api@msp.example", Secret: "sekret-value",
		IntegrationCode: "CODE-123456", BaseURL: srv.URL, RatePerSecond: -1, MaxAttempts: 2,
		BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, ThresholdCheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

type fixture struct {
	file   string
	status int
}

var defaultFixtures = map[string]fixture{"GET zone": {file: "zone.json"},
	"GET " + v1 + "Tickets/entityInformation/fields": {file: "ticket_fields.json"}}

const v1 = "/ATServicesRest/V1.0/"

func TestParseTicketQuery(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{"POST " + v1 + "Tickets/query": {file: "tickets_query.json"}})
	got, _ := drain(t, c.Tickets(ctx(t), helpdesk.Query{Since: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)}))
	if len(got) != 1 {
		t.Fatalf("tickets = %d", len(got))
	}
	tk := got[0]
	want := helpdesk.Ticket{ExternalID: "8801", Number: "T20250304.0012", Summary: "VPN drops every hour",
		Description: "User reports VPN disconnects.", Status: helpdesk.Ref{ID: "1", Name: "New"},
		Priority: helpdesk.Ref{ID: "2", Name: "Medium"}, Type: helpdesk.Ref{ID: "1", Name: "Service Request"},
		Queue: helpdesk.Ref{ID: "29682833", Name: "Client Portal"}, CompanyID: "174", ContactID: "29683586",
		AssigneeID: "29682885", CreatedAt: time.Date(2025, 3, 4, 9, 58, 12, 0, time.UTC),
		UpdatedAt: time.Date(2025, 3, 4, 10, 15, 0, 0, time.UTC)}
	if !tk.CreatedAt.Equal(want.CreatedAt) || !tk.UpdatedAt.Equal(want.UpdatedAt) || len(tk.Raw) == 0 {
		t.Fatalf("times = %v %v, raw %d bytes", tk.CreatedAt, tk.UpdatedAt, len(tk.Raw))
	}
	if !equalTicket(tk, want) {
		t.Fatalf("ticket = %+v\nwant     %+v", tk, want)
	}
}

func equalTicket(a, b helpdesk.Ticket) bool {
	a.Raw, b.Raw = nil, nil
	return a.ExternalID == b.ExternalID && a.Number == b.Number && a.Summary == b.Summary &&
		a.Description == b.Description && a.Status == b.Status && a.Priority == b.Priority && a.Type == b.Type &&
		a.Queue == b.Queue && a.CompanyID == b.CompanyID && a.ContactID == b.ContactID &&
		a.AssigneeID == b.AssigneeID && a.Closed == b.Closed
}

// Datetimes without Z or with odd fractions are UTC; nulls are empty.
func TestParseTicketItem(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{"GET " + v1 + "Tickets/8802": {file: "ticket_item.json"}})
	tk, err := c.GetTicket(ctx(t), "8802")
	if err != nil {
		t.Fatal(err)
	}
	if !tk.Closed || tk.ContactID != "" || tk.AssigneeID != "" {
		t.Fatalf("ticket = %+v", tk)
	}
	if want := time.Date(2025, 3, 4, 12, 30, 45, 5e8, time.UTC); !tk.UpdatedAt.Equal(want) || tk.UpdatedAt.Location() != time.UTC {
		t.Fatalf("updatedAt = %v, want %v", tk.UpdatedAt, want)
	}
	if want := time.Date(2025, 3, 4, 11, 0, 0, 0, time.UTC); !tk.CreatedAt.Equal(want) {
		t.Fatalf("createdAt = %v", tk.CreatedAt)
	}
}

func TestParseItemNull(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{"GET " + v1 + "Tickets/1": {file: "item_null.json"}})
	if _, err := c.GetTicket(ctx(t), "1"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestParsePicklists(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{"GET " + v1 + "Tickets/entityInformation/fields": {file: "ticket_fields.json"}})
	lists, err := c.Picklists(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 4 {
		t.Fatalf("picklists = %+v", lists)
	}
	st := lists[0]
	if st.Kind != helpdesk.PicklistStatus || len(st.Values) != 4 {
		t.Fatalf("statuses = %+v", st)
	}
	want := helpdesk.PicklistValue{ID: "5", Name: "Complete", Active: true, Closed: true, Sort: 4}
	if st.Values[1] != want {
		t.Fatalf("complete = %+v, want %+v", st.Values[1], want)
	}
	if st.Values[3].Active || !st.Values[0].Default {
		t.Fatalf("values = %+v", st.Values)
	}
}

func TestParseContactsAndResources(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{
		"POST " + v1 + "Contacts/query":  {file: "contacts_query.json"},
		"POST " + v1 + "Resources/query": {file: "resources_query.json"}})
	contacts, _ := drain(t, c.Contacts(ctx(t), helpdesk.Query{}))
	if len(contacts) != 2 || !contacts[0].Active || contacts[1].Active || contacts[0].Phone != "+1 555 0100" ||
		contacts[0].Email != "dana@acme.example" || contacts[0].CompanyID != "174" {
		t.Fatalf("contacts = %+v (isActive arrives as 0/1)", contacts)
	}
	members, _ := drain(t, c.Members(ctx(t), helpdesk.Query{}))
	if len(members) != 1 || members[0].Name != "Jane Doe" || members[0].Identifier != "jdoe" || !members[0].Active {
		t.Fatalf("members = %+v", members)
	}
}

func TestParseThreshold(t *testing.T) {
	_, c := fixtureServer(t, map[string]fixture{"GET " + v1 + "ThresholdInformation": {file: "threshold.json"}})
	th, err := c.Threshold(ctx(t))
	if err != nil || th != (autotask.Threshold{Limit: 10000, Used: 124, WindowMinutes: 60}) {
		t.Fatalf("threshold = %+v, %v", th, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name    string
		fx      fixture
		kind    error
		message string
	}{
		{"business rule 500", fixture{"error_business_rule.json", 500}, helpdesk.ErrInvalid,
			"Missing Required Field: dueDateTime; Invalid value for status"},
		{"threshold on 500", fixture{"error_threshold.json", 500}, helpdesk.ErrRateLimited, "threshold"},
		{"error objects", fixture{"error_objects.json", 400}, helpdesk.ErrInvalid, "title: Value is too long"},
		{"forbidden", fixture{"error_business_rule.json", 403}, helpdesk.ErrForbidden, "security level"},
		{"unknown entity path", fixture{"error_business_rule.json", 404}, helpdesk.ErrNotFound, "dueDateTime"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := fixtureServer(t, map[string]fixture{"GET " + v1 + "Tickets/9": tc.fx})
			_, err := c.GetTicket(ctx(t), "9")
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v, want %v with %q", err, tc.kind, tc.message)
			}
		})
	}
}
