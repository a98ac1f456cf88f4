package halopsa_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

func TestPingAndMe(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.client.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	me, err := e.client.Me(ctx)
	if err != nil || me.ExternalID != idStr(e.world.APIUser().ID) {
		t.Fatalf("Me = %+v, %v; want the API agent %d", me, err, e.world.APIUser().ID)
	}
}

func TestGetTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	var wt sandbox.Ticket
	for _, tk := range all {
		if tk.AssigneeID != 0 && tk.ContactID != 0 {
			wt = tk
			break
		}
	}
	got, err := e.client.GetTicket(ctx, idStr(wt.ID))
	if err != nil {
		t.Fatal(err)
	}
	q := queueOf(e.world, wt.QueueID)
	if got.ExternalID != idStr(wt.ID) || got.Summary != wt.Summary || got.Description != wt.Description ||
		got.CompanyID != idStr(wt.CompanyID) || got.ContactID != idStr(wt.ContactID) ||
		got.AssigneeID != idStr(wt.AssigneeID) || got.Queue != (helpdesk.Ref{ID: idStr(q.ID), Name: q.Name}) ||
		got.Priority.ID != idStr(wt.PriorityID) || !got.UpdatedAt.Equal(wt.Updated) || !got.CreatedAt.Equal(wt.Created) {
		t.Fatalf("GetTicket = %+v\nworld: %+v", got, wt)
	}
	if len(got.Raw) == 0 {
		t.Fatal("Raw not kept")
	}
	_, err = e.client.GetTicket(ctx, "999999")
	if !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("missing ticket: %v, want ErrNotFound", err)
	}
	if _, err = e.client.GetTicket(ctx, "abc"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("malformed id: %v, want ErrInvalid", err)
	}
}

func queueOf(w *sandbox.World, id int64) sandbox.Queue {
	for _, q := range w.Queues() {
		if q.ID == id {
			return q
		}
	}
	return sandbox.Queue{}
}

// haloStatusID finds the Halo id of a status name through the client's
// own picklists.
func haloStatusID(t *testing.T, e *env, name string) string {
	t.Helper()
	pls, err := e.client.Picklists(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range pls {
		if pl.Kind != helpdesk.PicklistStatus {
			continue
		}
		for _, v := range pl.Values {
			if v.Name == name {
				return v.ID
			}
		}
	}
	t.Fatalf("no status %q", name)
	return ""
}

func TestCreateTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	co, ct := e.world.Companies()[1], e.world.Contacts()[0]
	q := e.world.Queues()[2]
	got, err := e.client.CreateTicket(ctx, helpdesk.NewTicket{Summary: "Smoke test", Description: "From Horizon",
		CompanyID: idStr(co.ID), ContactID: idStr(ct.ID), QueueID: idStr(q.ID),
		StatusID: haloStatusID(t, e, "In Progress"), PriorityID: idStr(e.world.Priorities()[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	wt, ok := e.world.Ticket(mustInt(t, got.ExternalID))
	if !ok || wt.Summary != "Smoke test" || wt.Description != "From Horizon" || wt.CompanyID != co.ID ||
		wt.ContactID != ct.ID || wt.QueueID != q.ID || wt.PriorityID != e.world.Priorities()[0].ID {
		t.Fatalf("world ticket %+v after create", wt)
	}
	if st, _, _ := e.world.Status(wt.StatusID); st.Name != "In Progress" {
		t.Fatalf("status %q, want In Progress", st.Name)
	}
	if got.Summary != "Smoke test" || got.Queue.ID != idStr(q.ID) {
		t.Fatalf("returned %+v", got)
	}
}

func TestUpdateTicket(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	wt := all[5]
	agent := e.world.Members()[3]
	closed := haloStatusID(t, e, "Closed")
	got, err := e.client.UpdateTicket(ctx, idStr(wt.ID), helpdesk.TicketUpdate{StatusID: closed, AssigneeID: idStr(agent.ID)})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.world.Ticket(wt.ID)
	st, _, _ := e.world.Status(after.StatusID)
	if st.Name != "Closed" || after.AssigneeID != agent.ID || after.Summary != wt.Summary || after.QueueID != wt.QueueID {
		t.Fatalf("world after update: %+v (status %q)", after, st.Name)
	}
	if !got.Closed || got.Status.ID != closed || got.AssigneeID != idStr(agent.ID) {
		t.Fatalf("returned %+v", got)
	}
	if after.UpdatedBy != e.world.APIUser().ID {
		t.Fatalf("updated by %d, want the API agent", after.UpdatedBy)
	}
}

func TestUpdateTicketErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	before, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	_, err := e.client.UpdateTicket(ctx, "999999", helpdesk.TicketUpdate{StatusID: haloStatusID(t, e, "Closed")})
	if !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("unknown ticket: %v, want ErrNotFound", err)
	}
	if after, _ := e.world.QueryTickets(sandbox.TicketQuery{}); len(after) != len(before) {
		t.Fatal("updating an unknown ticket created one (Halo's upsert)")
	}
	posts := e.emu.Requests("POST", "tickets")
	_, err = e.client.UpdateTicket(ctx, idStr(before[0].ID), helpdesk.TicketUpdate{StatusID: "424242"})
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "status_id") {
		t.Fatalf("bad status: %v, want ErrInvalid naming status_id", err)
	}
	if n := e.emu.Requests("POST", "tickets") - posts; n != 1 {
		t.Fatalf("a 400 was tried %d times, want once", n)
	}
}

func TestNotes(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	tk := all[9]
	agent := e.world.Members()[4]
	n, err := e.client.AddNote(ctx, idStr(tk.ID), helpdesk.NewNote{Text: "Called the user [horizon:abc]",
		Internal: true, MemberID: idStr(agent.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if n.Text != "Called the user [horizon:abc]" || !n.Internal || n.AuthorID != idStr(agent.ID) || n.TicketID != idStr(tk.ID) {
		t.Fatalf("AddNote returned %+v", n)
	}
	notes, err := e.client.Notes(ctx, idStr(tk.ID))
	if err != nil {
		t.Fatal(err)
	}
	wantN := len(e.world.Notes(tk.ID)) + len(e.world.TimeEntries(tk.ID))
	i := slices.IndexFunc(notes, func(x helpdesk.Note) bool { return x.ExternalID == n.ExternalID })
	if len(notes) != wantN || i < 0 || notes[i].Text != n.Text || !notes[i].Internal {
		t.Fatalf("Notes = %d (%+v), want %d including the new one", len(notes), notes, wantN)
	}
	pub, err := e.client.AddNote(ctx, idStr(tk.ID), helpdesk.NewNote{Text: "Public"})
	if err != nil || pub.Internal {
		t.Fatalf("public note: %+v, %v", pub, err)
	}
	if _, err := e.client.Notes(ctx, "999999"); !errors.Is(err, helpdesk.ErrNotFound) {
		t.Fatalf("notes of a missing ticket: %v", err)
	}
}

func TestAddTimeEntry(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	tk, agent := all[11], e.world.Members()[5]
	start := anchor.Add(-2 * time.Hour)
	te, err := e.client.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: idStr(tk.ID), MemberID: idStr(agent.ID),
		Start: start, Hours: 1.5, Notes: "Remote fix", Billable: true})
	if err != nil {
		t.Fatal(err)
	}
	wte, ok := e.world.TimeEntry(mustInt(t, te.ExternalID))
	if !ok || wte.Hours != 1.5 || !wte.Billable || wte.MemberID != agent.ID || !wte.Start.Equal(start) || wte.Notes != "Remote fix" {
		t.Fatalf("world time entry %+v", wte)
	}
	if te.Hours != 1.5 || !te.Billable || !te.Start.Equal(start) || te.TicketID != idStr(tk.ID) {
		t.Fatalf("returned %+v", te)
	}
	nb, err := e.client.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: idStr(tk.ID), Hours: 0.25})
	if err != nil || nb.Billable {
		t.Fatalf("non-billable entry: %+v, %v", nb, err)
	}
	if _, err := e.client.AddTimeEntry(ctx, helpdesk.NewTimeEntry{TicketID: idStr(tk.ID)}); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("zero hours: %v, want ErrInvalid", err)
	}
}

func TestPicklists(t *testing.T) {
	for _, field := range []string{"priorityid", "id"} {
		t.Run("priority key "+field, func(t *testing.T) {
			e := newEnv(t, envOptions{settings: haloemu.Settings{PriorityIDField: field, SLAs: 2}})
			pls, err := e.client.Picklists(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			byKind := map[helpdesk.PicklistKind]helpdesk.Picklist{}
			for _, pl := range pls {
				byKind[pl.Kind] = pl
			}
			checkNames(t, byKind[helpdesk.PicklistStatus], "New", "In Progress", "Waiting Customer", "Scheduled", "Completed", "Closed")
			checkNames(t, byKind[helpdesk.PicklistType], "Incident", "Service Request", "Problem", "Change")
			checkNames(t, byKind[helpdesk.PicklistQueue], "Help Desk", "Projects", "Alerts", "Onboarding")
			pr := byKind[helpdesk.PicklistPriority]
			if len(pr.Values) != len(e.world.Priorities()) || pr.Values[0].ID != idStr(e.world.Priorities()[0].ID) {
				t.Fatalf("priorities %+v", pr.Values)
			}
			for _, v := range byKind[helpdesk.PicklistStatus].Values {
				if v.Closed != (v.Name == "Closed") || (v.Closed && v.ID != "9") {
					t.Fatalf("status %+v: only Closed (9) closes", v)
				}
			}
		})
	}
}

func checkNames(t *testing.T, pl helpdesk.Picklist, names ...string) {
	t.Helper()
	var got []string
	for _, v := range pl.Values {
		got = append(got, v.Name)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("%s: got %v, want %v", pl.Kind, got, names)
	}
}

func TestCreatePicklistValueUnsupported(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, k := range []helpdesk.PicklistKind{helpdesk.PicklistStatus, helpdesk.PicklistType, helpdesk.PicklistQueue} {
		if _, err := e.client.CreatePicklistValue(context.Background(), k, "", "Waiting Vendor"); !errors.Is(err, helpdesk.ErrUnsupported) {
			t.Fatalf("%s: %v, want ErrUnsupported", k, err)
		}
	}
	if len(e.client.Capabilities().CreatablePicklists) != 0 {
		t.Fatal("capabilities claim creatable picklists")
	}
}
