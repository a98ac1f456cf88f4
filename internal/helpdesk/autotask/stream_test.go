package autotask_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	atsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/autotask"
)

func ticketIDs(ts []helpdesk.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ExternalID
	}
	sort.Strings(out)
	return out
}

func worldIDs(ts []sandbox.Ticket, keep func(sandbox.Ticket) bool) []string {
	var out []string
	for _, t := range ts {
		if keep == nil || keep(t) {
			out = append(out, strconv.FormatInt(t.ID, 10))
		}
	}
	sort.Strings(out)
	return out
}

func TestTicketsPaging(t *testing.T) {
	cases := []struct {
		name      string
		tickets   int
		pageSize  int
		settings  atsandbox.Settings
		wantPages []int
	}{
		{name: "several pages", tickets: 1200, pageSize: 0, wantPages: []int{500, 500, 200}},
		{name: "exact boundary", tickets: 1000, pageSize: 500, wantPages: []int{500, 500}},
		{name: "exact boundary with trailing empty page", tickets: 300, pageSize: 100,
			settings: atsandbox.Settings{NextOnFullLastPage: true}, wantPages: []int{100, 100, 100}},
		{name: "server page cap", tickets: 450, pageSize: 500,
			settings: atsandbox.Settings{PageCap: 200}, wantPages: []int{200, 200, 50}},
		{name: "page size over the maximum is clamped", tickets: 600, pageSize: 5000, wantPages: []int{500, 100}},
		{name: "next pages by POST only", tickets: 250, pageSize: 100,
			settings: atsandbox.Settings{NextPageMethods: []string{"POST"}}, wantPages: []int{100, 100, 50}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: tc.tickets, settings: tc.settings})
			got, pages := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{PageSize: tc.pageSize}))
			if !slices.Equal(pages, tc.wantPages) {
				t.Errorf("pages = %v, want %v", pages, tc.wantPages)
			}
			if ids, want := ticketIDs(got), worldIDs(e.liveTickets(), nil); !slices.Equal(ids, want) {
				t.Errorf("got %d tickets, want %d", len(ids), len(want))
			}
		})
	}
}

// The since filter must survive paging: next pages are fetched by GET
// with no body, so only the server's next URL can carry it.
func TestTicketsSinceAcrossPages(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 400})
	all := e.liveTickets()
	updated := make([]time.Time, len(all))
	for i, tk := range all {
		updated[i] = tk.Updated
	}
	slices.SortFunc(updated, time.Time.Compare)
	since := updated[len(updated)/2]
	got, pages := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{Since: since, PageSize: 40}))
	want := worldIDs(all, func(tk sandbox.Ticket) bool { return tk.Updated.After(since) })
	if len(pages) < 3 {
		t.Fatalf("want several pages, got %v", pages)
	}
	if ids := ticketIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("since filter: got %d tickets, want %d", len(ids), len(want))
	}
	for _, tk := range got {
		if !tk.UpdatedAt.After(since) {
			t.Fatalf("ticket %s updated %v, not after %v", tk.ExternalID, tk.UpdatedAt, since)
		}
	}
}

func TestTicketsIncrementalAfterUIEdit(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 150})
	all, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{}))
	var mark time.Time
	for _, tk := range all {
		if tk.UpdatedAt.After(mark) {
			mark = tk.UpdatedAt
		}
	}
	target := e.liveTickets()[10]
	agent := e.world.Members()[2].ID
	if _, err := e.world.UpdateTicket(target.ID, sandbox.UI(agent), func(tk *sandbox.Ticket) error {
		tk.Summary = "Edited in the PSA"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := drain(t, e.client.Tickets(ctx(t), helpdesk.Query{Since: mark}))
	if len(got) != 1 || got[0].ExternalID != strconv.FormatInt(target.ID, 10) || got[0].Summary != "Edited in the PSA" {
		t.Fatalf("incremental stream = %+v, want only ticket %d", ticketIDs(got), target.ID)
	}
	if !got[0].UpdatedAt.After(mark) {
		t.Fatalf("updatedAt %v not after watermark %v", got[0].UpdatedAt, mark)
	}
}

func TestTicketFieldsMapped(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 50})
	want := e.liveTickets()[5]
	got, err := e.client.GetTicket(ctx(t), strconv.FormatInt(want.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != want.Summary || got.CompanyID != strconv.FormatInt(want.CompanyID, 10) ||
		got.Queue.ID != strconv.FormatInt(want.QueueID, 10) || got.Priority.ID != strconv.FormatInt(want.PriorityID, 10) {
		t.Fatalf("ticket = %+v, world = %+v", got, want)
	}
	if !got.UpdatedAt.Equal(want.Updated) || !got.CreatedAt.Equal(want.Created) || got.UpdatedAt.Location() != time.UTC {
		t.Fatalf("times = %v/%v, want %v/%v UTC", got.CreatedAt, got.UpdatedAt, want.Created, want.Updated)
	}
	if got.Number == "" || len(got.Raw) == 0 || got.Status.ID == "" {
		t.Fatalf("number/raw/status missing: %+v", got)
	}
}

func TestOtherStreams(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 300})
	contacts, _ := drain(t, e.client.Contacts(ctx(t), helpdesk.Query{PageSize: 7}))
	if len(contacts) != len(e.world.Contacts()) {
		t.Errorf("contacts = %d, want %d", len(contacts), len(e.world.Contacts()))
	}
	companies, _ := drain(t, e.client.Companies(ctx(t), helpdesk.Query{PageSize: 3}))
	if len(companies) != len(e.world.Companies()) {
		t.Errorf("companies = %d, want %d", len(companies), len(e.world.Companies()))
	}
	entries, _ := drain(t, e.client.TimeEntries(ctx(t), helpdesk.Query{PageSize: 25}))
	_, total := e.world.AllTimeEntries(nil, 0, 0, 0)
	if len(entries) != total || total == 0 {
		t.Errorf("time entries = %d, want %d", len(entries), total)
	}
	// Resources have no last-updated field: Since is ignored.
	members, _ := drain(t, e.client.Members(ctx(t), helpdesk.Query{Since: time.Now().Add(time.Hour)}))
	if len(members) != len(e.world.Members()) {
		t.Errorf("members = %d, want %d", len(members), len(e.world.Members()))
	}
	if e.client.Capabilities().IncrementalMembers {
		t.Error("IncrementalMembers must be false")
	}
}

func TestContactsIncremental(t *testing.T) {
	e := newEnv(t, envOpts{})
	all, _ := drain(t, e.client.Contacts(ctx(t), helpdesk.Query{}))
	var mark time.Time
	for _, c := range all {
		if c.UpdatedAt.After(mark) {
			mark = c.UpdatedAt
		}
	}
	target := e.world.Contacts()[3]
	if _, err := e.world.UpdateContact(target.ID, sandbox.UI(e.world.Members()[1].ID), func(c *sandbox.Contact) {
		c.Phone = "+1 555 0000"
	}); err != nil {
		t.Fatal(err)
	}
	got, _ := drain(t, e.client.Contacts(ctx(t), helpdesk.Query{Since: mark}))
	if len(got) != 1 || got[0].Phone != "+1 555 0000" {
		t.Fatalf("incremental contacts = %+v", got)
	}
}

// The emulator may be mounted below a path (the sandbox command serves
// several emulators); zone discovery then names the prefixed root.
func TestEmulatorBelowPathPrefix(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 30})
	mux := http.NewServeMux()
	mux.Handle("/autotask/", http.StripPrefix("/autotask", e.emu))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := e.cfg
	cfg.BaseURL = srv.URL + "/autotask"
	c := e.newClient(t, cfg)
	got, _ := drain(t, c.Tickets(ctx(t), helpdesk.Query{PageSize: 7}))
	if len(got) != len(e.liveTickets()) {
		t.Fatalf("tickets = %d, want %d", len(got), len(e.liveTickets()))
	}
}
