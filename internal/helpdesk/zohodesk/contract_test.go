package zohodesk_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
)

func TestTicketsStreamPaging(t *testing.T) {
	cases := []struct {
		name     string
		tickets  int
		pageSize int
	}{
		{"short last page", 250, 100},
		{"exact multiple of the page", 200, 100},
		{"page size above the cap is clamped", 150, 500},
		{"small pages", 37, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: tc.tickets})
			c := e.client(t)
			got, _ := collectAll(t, c.Tickets(context.Background(), helpdesk.Query{PageSize: tc.pageSize}))
			assertSameTickets(t, got, liveTickets(e.world), time.Time{})
		})
	}
}

func assertSameTickets(t *testing.T, got []helpdesk.Ticket, want []sandbox.Ticket, since time.Time) {
	t.Helper()
	ids := map[string]bool{}
	for _, tk := range got {
		if ids[tk.ExternalID] {
			t.Fatalf("ticket %s streamed twice", tk.ExternalID)
		}
		ids[tk.ExternalID] = true
		if !tk.UpdatedAt.After(since) {
			t.Fatalf("ticket %s updated %v, not after %v", tk.ExternalID, tk.UpdatedAt, since)
		}
	}
	n := 0
	for _, w := range want {
		if w.Updated.After(since) {
			n++
			if !ids[zdsandbox.WireID(w.ID)] {
				t.Fatalf("ticket %d (updated %v) missing from the stream", w.ID, w.Updated)
			}
		}
	}
	if n != len(got) {
		t.Fatalf("streamed %d tickets, want %d", len(got), n)
	}
}

func TestTicketsSinceFilter(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 300})
	all := liveTickets(e.world)
	times := make([]time.Time, len(all))
	for i, tk := range all {
		times[i] = tk.Updated
	}
	slices.SortFunc(times, time.Time.Compare)
	since := times[len(times)/2]
	got, _ := collectAll(t, e.client(t).Tickets(context.Background(), helpdesk.Query{Since: since, PageSize: 40}))
	assertSameTickets(t, got, all, since)
}

func TestTicketsBeyondFromCeiling(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 5,300 tickets")
	}
	e := newEnv(t, envOpts{tickets: 5300})
	got, pages := collectAll(t, e.client(t).Tickets(context.Background(), helpdesk.Query{}))
	assertSameTickets(t, got, liveTickets(e.world), time.Time{})
	if pages < 53 {
		t.Fatalf("got %d pages, want at least 53 pages of 100", pages)
	}
}

func TestIncrementalAfterUIEdits(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 80})
	c := e.client(t)
	all, _ := collectAll(t, c.Tickets(context.Background(), helpdesk.Query{}))
	var mark time.Time
	for _, tk := range all {
		if tk.UpdatedAt.After(mark) {
			mark = tk.UpdatedAt
		}
	}
	e.clock.Advance(time.Minute)
	member := e.world.Members()[1].ID
	live := liveTickets(e.world)
	edited := []int64{live[3].ID, live[10].ID}
	if _, err := e.world.UpdateTicket(edited[0], sandbox.UI(member), func(t *sandbox.Ticket) error { t.Summary = "edited"; return nil }); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.world.AddNote(sandbox.Note{TicketID: edited[1], Text: "from the UI"}, sandbox.UI(member)); err != nil {
		t.Fatal(err)
	}
	got, _ := collectAll(t, c.Tickets(context.Background(), helpdesk.Query{Since: mark}))
	var ids []string
	for _, tk := range got {
		ids = append(ids, tk.ExternalID)
	}
	slices.Sort(ids)
	want := []string{zdsandbox.WireID(edited[0]), zdsandbox.WireID(edited[1])}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("incremental stream = %v, want %v", ids, want)
	}
}

func TestGetCreateUpdateTicket(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	q := e.world.Queues()[0]
	contact := e.world.Contacts()[0]
	created, err := c.CreateTicket(ctx, helpdesk.NewTicket{Summary: "Horizon smoke test", Description: "hello",
		QueueID: zdsandbox.WireID(q.ID), ContactID: zdsandbox.WireID(contact.ID), StatusID: q.Statuses[1].Name,
		PriorityID: e.world.Priorities()[0].Name})
	if err != nil {
		t.Fatal(err)
	}
	if created.Summary != "Horizon smoke test" || created.Status.Name != q.Statuses[1].Name || created.Queue.ID != zdsandbox.WireID(q.ID) ||
		created.ContactID != zdsandbox.WireID(contact.ID) || created.Priority.Name != e.world.Priorities()[0].Name {
		t.Fatalf("created ticket = %+v", created)
	}
	got, err := c.GetTicket(ctx, created.ExternalID)
	if err != nil || got.ExternalID != created.ExternalID || got.Description != "hello" {
		t.Fatalf("GetTicket = %+v, %v", got, err)
	}
	agent := e.world.Members()[2]
	closed := q.Statuses[len(q.Statuses)-1]
	upd, err := c.UpdateTicket(ctx, created.ExternalID, helpdesk.TicketUpdate{StatusID: closed.Name, AssigneeID: zdsandbox.WireID(agent.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Status.Name != closed.Name || !upd.Closed || upd.AssigneeID != zdsandbox.WireID(agent.ID) {
		t.Fatalf("updated ticket = %+v", upd)
	}
	wt, _ := e.world.Ticket(zdsandbox.WorldID(created.ExternalID))
	if wt.StatusID != closed.ID || wt.AssigneeID != agent.ID {
		t.Fatalf("world ticket = %+v", wt)
	}
}

func TestTicketErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	live := liveTickets(e.world)
	if _, err := c.GetTicket(ctx, zdsandbox.WireID(999999)); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("missing ticket: %v, want ErrNotFound", err)
	}
	if _, err := c.GetTicket(ctx, "12/../34"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("bad id: %v, want ErrInvalid", err)
	}
	_, err := c.UpdateTicket(ctx, zdsandbox.WireID(live[0].ID), helpdesk.TicketUpdate{StatusID: "No Such Status"})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "/status") {
		t.Fatalf("bad status: %v, want ErrInvalid naming /status", err)
	}
	_, err = c.CreateTicket(ctx, helpdesk.NewTicket{Summary: "no department"})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "departmentId") {
		t.Fatalf("no department: %v, want ErrInvalid naming departmentId", err)
	}
}

func TestNotes(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	tk := liveTickets(e.world)[5]
	for i := range 130 {
		if _, err := e.world.AddNote(sandbox.Note{TicketID: tk.ID, Text: "bulk", Internal: i%2 == 0}, sandbox.UI(e.world.Members()[1].ID)); err != nil {
			t.Fatal(err)
		}
	}
	id := zdsandbox.WireID(tk.ID)
	n, err := c.AddNote(ctx, id, helpdesk.NewNote{Text: "[horizon:abc] private", Internal: true})
	if err != nil || !n.Internal || n.TicketID != id || n.Text != "[horizon:abc] private" {
		t.Fatalf("AddNote = %+v, %v", n, err)
	}
	pub, err := c.AddNote(ctx, id, helpdesk.NewNote{Text: "public reply"})
	if err != nil || pub.Internal {
		t.Fatalf("AddNote public = %+v, %v", pub, err)
	}
	notes, err := c.Notes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != len(e.world.Notes(tk.ID)) {
		t.Fatalf("Notes returned %d, world has %d", len(notes), len(e.world.Notes(tk.ID)))
	}
	if last := notes[len(notes)-1]; last.ExternalID != pub.ExternalID || last.Internal {
		t.Fatalf("last note = %+v, want the public reply", last)
	}
}

func TestTimeEntries(t *testing.T) {
	for _, layout := range []zdsandbox.TimeEntryTimes{zdsandbox.TimeEntryEpochMillis, zdsandbox.TimeEntryISO} {
		t.Run(map[zdsandbox.TimeEntryTimes]string{0: "epoch millis", 1: "iso"}[layout], func(t *testing.T) {
			e := newEnv(t, envOpts{tickets: 60, zo: zdsandbox.Options{TimeEntryTimes: layout}})
			c := e.client(t)
			ctx := context.Background()
			all, _ := collectAll(t, c.TimeEntries(ctx, helpdesk.Query{}))
			want := 0
			for _, tk := range liveTickets(e.world) {
				want += len(e.world.TimeEntries(tk.ID))
			}
			if len(all) != want || want == 0 {
				t.Fatalf("streamed %d time entries, world has %d", len(all), want)
			}
			mark := e.clock.Now()
			e.clock.Advance(time.Minute)
			tk := liveTickets(e.world)[7]
			start := anchor.Add(-2 * time.Hour)
			te, err := c.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: zdsandbox.WireID(tk.ID), MemberID: zdsandbox.WireID(e.world.Members()[1].ID),
				Start: start, Hours: 1.25, Notes: strings.Repeat("x", 150), Billable: true})
			if err != nil {
				t.Fatal(err)
			}
			if te.Hours != 1.25 || !te.Start.Equal(start) || !te.Billable || len(te.Notes) != 100 || te.TicketID != zdsandbox.WireID(tk.ID) {
				t.Fatalf("AddTimeEntry = %+v", te)
			}
			inc, _ := collectAll(t, c.TimeEntries(ctx, helpdesk.Query{Since: mark}))
			if len(inc) != 1 || inc[0].ExternalID != te.ExternalID {
				t.Fatalf("incremental time entries = %+v, want the new entry only", inc)
			}
		})
	}
}

func TestMembersContactsCompanies(t *testing.T) {
	for _, activeOnly := range []bool{false, true} {
		e := newEnv(t, envOpts{zo: zdsandbox.Options{AgentsActiveOnly: activeOnly}})
		c := e.client(t)
		ctx := context.Background()
		members, _ := collectAll(t, c.Members(ctx, helpdesk.Query{}))
		if len(members) != len(e.world.Members()) {
			t.Fatalf("members = %d, world has %d", len(members), len(e.world.Members()))
		}
		inactive := 0
		for _, m := range members {
			if !m.Active {
				inactive++
			}
			if m.Email == "" || m.Name == "" {
				t.Fatalf("member without email or name: %+v", m)
			}
		}
		if inactive == 0 {
			t.Fatal("no inactive member streamed")
		}
	}
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	contacts, _ := collectAll(t, c.Contacts(ctx, helpdesk.Query{PageSize: 7}))
	companies, _ := collectAll(t, c.Companies(ctx, helpdesk.Query{PageSize: 3}))
	if len(contacts) != len(e.world.Contacts()) || len(companies) != len(e.world.Companies()) {
		t.Fatalf("contacts %d/%d companies %d/%d", len(contacts), len(e.world.Contacts()), len(companies), len(e.world.Companies()))
	}
	mark := e.clock.Now()
	e.clock.Advance(time.Minute)
	k := e.world.Contacts()[2]
	if _, err := e.world.UpdateContact(k.ID, sandbox.UI(0), func(c *sandbox.Contact) { c.Phone = "+1 555 0000" }); err != nil {
		t.Fatal(err)
	}
	inc, _ := collectAll(t, c.Contacts(ctx, helpdesk.Query{Since: mark}))
	if len(inc) != 1 || inc[0].ExternalID != zdsandbox.WireID(k.ID) || inc[0].Phone != "+1 555 0000" {
		t.Fatalf("incremental contacts = %+v", inc)
	}
}

func TestPicklists(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	lists, err := c.Picklists(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[helpdesk.PicklistKind]helpdesk.Picklist{}
	for _, l := range lists {
		byKind[l.Kind] = l
	}
	for _, k := range c.Capabilities().Picklists {
		if len(byKind[k].Values) == 0 {
			t.Fatalf("picklist %s empty or missing", k)
		}
	}
	closed := 0
	for _, v := range byKind[helpdesk.PicklistStatus].Values {
		if v.Closed {
			closed++
		}
	}
	if closed == 0 {
		t.Fatal("no closed status")
	}
	if got := len(byKind[helpdesk.PicklistDepartment].Values); got != len(e.world.Queues()) {
		t.Fatalf("departments = %d, want %d", got, len(e.world.Queues()))
	}
	_, err = c.CreatePicklistValue(context.Background(), helpdesk.PicklistStatus, "", "New")
	if !errors.Is(err, helpdesk.ErrUnsupported) {
		t.Fatalf("CreatePicklistValue: %v, want ErrUnsupported", err)
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t, envOpts{})
	if err := e.client(t).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.OrgID = "123"
	err := newClient(t, cfg).Ping(context.Background())
	if !errors.Is(err, helpdesk.ErrForbidden) || !strings.Contains(err.Error(), "orgId") {
		t.Fatalf("wrong org Ping: %v", err)
	}
}
