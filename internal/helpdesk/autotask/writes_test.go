package autotask_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

func TestGetTicketNotFound(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	for _, id := range []string{"999999999", "abc", "-4"} {
		_, err := e.client.GetTicket(ctx(t), id)
		if !errors.Is(err, helpdesk.ErrNotFound) {
			t.Errorf("GetTicket(%q) = %v, want ErrNotFound", id, err)
		}
	}
	// A deleted ticket reads as {"item":null} too.
	victim := e.liveTickets()[0]
	if err := e.world.DeleteTicket(victim.ID, sandbox.UI(e.world.Members()[1].ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetTicket(ctx(t), strconv.FormatInt(victim.ID, 10)); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Errorf("deleted ticket: %v, want ErrNotFound", err)
	}
}

func TestCreateTicket(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	co := e.world.Companies()[0]
	q := e.world.Queues()[1]
	got, err := e.client.CreateTicket(ctx(t), helpdesk.NewTicket{Summary: "Smoke test ticket",
		Description: "created by the contract test", CompanyID: strconv.FormatInt(co.ID, 10),
		QueueID: strconv.FormatInt(q.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != "Smoke test ticket" || got.Status.ID != "1" || got.Queue.ID != strconv.FormatInt(q.ID, 10) {
		t.Fatalf("created = %+v (want status New=1 by picklist default)", got)
	}
	id, _ := strconv.ParseInt(got.ExternalID, 10, 64)
	wt, ok := e.world.Ticket(id)
	if !ok || wt.Summary != "Smoke test ticket" || wt.CompanyID != co.ID {
		t.Fatalf("world ticket = %+v", wt)
	}
	prio := e.world.Priorities()[0]
	got, err = e.client.CreateTicket(ctx(t), helpdesk.NewTicket{Summary: "Explicit", CompanyID: strconv.FormatInt(co.ID, 10),
		StatusID: "5", PriorityID: strconv.FormatInt(prio.ID, 10)})
	if err != nil || !got.Closed || got.Priority.ID != strconv.FormatInt(prio.ID, 10) {
		t.Fatalf("explicit create = %+v, %v", got, err)
	}
}

func TestCreateTicketRejected(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	_, err := e.client.CreateTicket(ctx(t), helpdesk.NewTicket{Summary: "x", CompanyID: "123"})
	var he *helpdesk.Error
	if !errors.As(err, &he) || !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(he.Message, "Company 123") {
		t.Fatalf("err = %v, want ErrInvalid carrying the PSA's message", err)
	}
	if he.Status != 500 {
		t.Errorf("status = %d, want 500 (business rule)", he.Status)
	}
	_, err = e.client.CreateTicket(ctx(t), helpdesk.NewTicket{Summary: "x"})
	if !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("missing company: %v, want ErrInvalid", err)
	}
}

func TestUpdateTicket(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 30})
	target := e.liveTickets()[4]
	agent := e.world.Members()[3]
	id := strconv.FormatInt(target.ID, 10)
	got, err := e.client.UpdateTicket(ctx(t), id, helpdesk.TicketUpdate{StatusID: "5",
		AssigneeID: strconv.FormatInt(agent.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Closed || got.Status.ID != "5" || got.AssigneeID != strconv.FormatInt(agent.ID, 10) {
		t.Fatalf("updated = %+v", got)
	}
	wt, _ := e.world.Ticket(target.ID)
	st, _, _ := e.world.Status(wt.StatusID)
	if !st.Closed || wt.AssigneeID != agent.ID || wt.UpdatedBy != e.emu.APIResourceID() {
		t.Fatalf("world = %+v status %+v", wt, st)
	}
	// An empty update only reads.
	if again, err := e.client.UpdateTicket(ctx(t), id, helpdesk.TicketUpdate{}); err != nil || again.ExternalID != id {
		t.Fatalf("empty update = %+v, %v", again, err)
	}
	if _, err := e.client.UpdateTicket(ctx(t), id, helpdesk.TicketUpdate{StatusID: "4242"}); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("bad status: %v, want ErrInvalid", err)
	}
	if _, err := e.client.UpdateTicket(ctx(t), "88888888", helpdesk.TicketUpdate{StatusID: "5"}); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("missing ticket: %v, want ErrInvalid (Autotask refuses PATCH of a missing id with 500)", err)
	}
}

func TestNotes(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 30})
	target := e.liveTickets()[2]
	id := strconv.FormatInt(target.ID, 10)
	before, err := e.client.Notes(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(e.world.Notes(target.ID)) {
		t.Fatalf("notes = %d, want %d", len(before), len(e.world.Notes(target.ID)))
	}
	pub, err := e.client.AddNote(ctx(t), id, helpdesk.NewNote{Text: "Customer update\nWe replaced the router."})
	if err != nil || pub.Internal || pub.TicketID != id || !strings.Contains(pub.Text, "router") {
		t.Fatalf("public note = %+v, %v", pub, err)
	}
	priv, err := e.client.AddNote(ctx(t), id, helpdesk.NewNote{Text: "internal: check firmware", Internal: true})
	if err != nil || !priv.Internal {
		t.Fatalf("internal note = %+v, %v", priv, err)
	}
	after, _ := e.client.Notes(ctx(t), id)
	if len(after) != len(before)+2 {
		t.Fatalf("notes after = %d, want %d", len(after), len(before)+2)
	}
	wn := e.world.Notes(target.ID)
	if last := wn[len(wn)-1]; !last.Internal || last.AuthorID != e.emu.APIResourceID() {
		t.Fatalf("world note = %+v", last)
	}
	if _, err := e.client.AddNote(ctx(t), "77777777", helpdesk.NewNote{Text: "x"}); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("note on missing ticket: %v", err)
	}
}

func TestAddTimeEntry(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 30})
	target := e.liveTickets()[1]
	agent := e.world.Members()[4]
	start := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	got, err := e.client.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: strconv.FormatInt(target.ID, 10),
		MemberID: strconv.FormatInt(agent.ID, 10), Start: start, Hours: 1.5, Notes: "Remote fix", Billable: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Hours != 1.5 || !got.Start.Equal(start) || !got.Billable || got.MemberID != strconv.FormatInt(agent.ID, 10) {
		t.Fatalf("time entry = %+v", got)
	}
	// Without a member the API user's resource logs the time.
	own, err := e.client.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: strconv.FormatInt(target.ID, 10), Hours: 0.25})
	if err != nil || own.MemberID != strconv.FormatInt(e.emu.APIResourceID(), 10) || own.Billable {
		t.Fatalf("own entry = %+v, %v", own, err)
	}
	_, err = e.client.AddTimeEntry(ctx(t), helpdesk.NewTimeEntry{TicketID: strconv.FormatInt(target.ID, 10), Hours: 30})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "hoursWorked") {
		t.Fatalf("30 hours: %v, want ErrInvalid about hoursWorked", err)
	}
}

func TestPicklists(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	lists, err := e.client.Picklists(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[helpdesk.PicklistKind]helpdesk.Picklist{}
	for _, l := range lists {
		byKind[l.Kind] = l
	}
	st := byKind[helpdesk.PicklistStatus]
	names := map[string]helpdesk.PicklistValue{}
	for _, v := range st.Values {
		names[v.ID] = v
	}
	if names["1"].Name != "New" || names["5"].Name != "Completed" || !names["5"].Closed || names["1"].Closed {
		t.Fatalf("statuses = %+v", st.Values)
	}
	if q := byKind[helpdesk.PicklistQueue]; len(q.Values) != len(e.world.Queues()) {
		t.Fatalf("queues = %+v", q.Values)
	}
	if p := byKind[helpdesk.PicklistPriority]; len(p.Values) != len(e.world.Priorities()) {
		t.Fatalf("priorities = %+v", p.Values)
	}
	if ty := byKind[helpdesk.PicklistType]; len(ty.Values) != len(e.world.Queues()[0].Types) {
		t.Fatalf("types = %+v", ty.Values)
	}
	_, err = e.client.CreatePicklistValue(ctx(t), helpdesk.PicklistStatus, "", "Waiting Vendor")
	if !errors.Is(err, helpdesk.ErrUnsupported) {
		t.Fatalf("create picklist value: %v, want ErrUnsupported", err)
	}
}
