package halopsa_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/halopsa"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	haloemu "github.com/horizon/reconciler/internal/helpdesk/sandbox/halopsa"
)

var allEvents = []helpdesk.Event{helpdesk.EventTicketCreated, helpdesk.EventTicketUpdated, helpdesk.EventNoteCreated,
	helpdesk.EventTimeEntryCreated, helpdesk.EventContactUpdated}

func TestWebhookCRUD(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	other := e.emu.AddWebhook(haloemu.Webhook{Name: "Zapier tickets", URL: "https://hooks.example/z", Active: true,
		Events: []string{haloemu.EventNewTicket}})
	spec := helpdesk.WebhookSpec{URL: "https://horizon.example/callbacks/halopsa", Events: allEvents,
		Secret: "s3cret-one", Account: "acme"}
	desired := e.client.DesiredWebhooks(spec)
	if len(desired) != 1 || !desired[0].Managed || !helpdesk.IsManagedName(desired[0].Name) || desired[0].Fingerprint == "" {
		t.Fatalf("desired %+v", desired)
	}
	wantEvents := []helpdesk.Event{helpdesk.EventNoteCreated, helpdesk.EventTicketCreated, helpdesk.EventTicketUpdated}
	if !slices.Equal(desired[0].SortedEvents(), wantEvents) {
		t.Fatalf("desired events %v, want the supported %v", desired[0].Events, wantEvents)
	}
	created, err := e.client.CreateWebhook(ctx, desired[0], spec.Secret)
	if err != nil {
		t.Fatal(err)
	}
	stored := e.emu.Webhooks()[1]
	if stored.ID != created.ID || stored.AuthenticationType != 1 || stored.BasicUsername != halopsa.BasicUsername ||
		stored.BasicPassword != "s3cret-one" || stored.URL != spec.URL || !stored.Active || len(stored.Events) != 3 {
		t.Fatalf("stored registration %+v", stored)
	}
	observed := listWebhooks(t, e)
	if len(observed) != 2 || observed[0].Managed || observed[0].ID != other.ID {
		t.Fatalf("observed %+v: the other tool's webhook must be listed unmanaged", observed)
	}
	got := observed[1]
	if got.Key != desired[0].Key || got.Name != desired[0].Name || got.Fingerprint != desired[0].Fingerprint ||
		!slices.Equal(got.SortedEvents(), wantEvents) || got.URL != spec.URL || !got.Active {
		t.Fatalf("read back %+v, want %+v", got, desired[0])
	}
	rotated := spec
	rotated.Secret = "s3cret-two"
	want := e.client.DesiredWebhooks(rotated)[0]
	if want.Fingerprint == got.Fingerprint {
		t.Fatal("a rotated secret must change the fingerprint")
	}
	want.ID = got.ID
	if _, err := e.client.UpdateWebhook(ctx, want, rotated.Secret); err != nil {
		t.Fatal(err)
	}
	if s := e.emu.Webhooks()[1]; s.BasicPassword != "s3cret-two" || parseFP(listWebhooks(t, e)[1]) != want.Fingerprint {
		t.Fatalf("after rotation: %+v", s)
	}
	if err := e.client.DeleteWebhook(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteWebhook(ctx, got.ID); err != nil {
		t.Fatalf("deleting a deleted webhook: %v", err)
	}
	if left := listWebhooks(t, e); len(left) != 1 || left[0].ID != other.ID {
		t.Fatalf("after delete: %+v", left)
	}
}

func parseFP(w helpdesk.Webhook) string { return w.Fingerprint }

func listWebhooks(t *testing.T, e *env) []helpdesk.Webhook {
	t.Helper()
	ws, err := e.client.Webhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// register points a Horizon webhook at a receiver that verifies and parses
// with the client.
func register(t *testing.T, e *env, secret helpdesk.Secret, events ...helpdesk.Event) *receiver {
	t.Helper()
	rc, srv := newReceiver(t, e.client, secret)
	spec := helpdesk.WebhookSpec{URL: srv.URL + "/callbacks/halopsa", Events: events, Secret: secret, Account: "acme"}
	if _, err := e.client.CreateWebhook(context.Background(), e.client.DesiredWebhooks(spec)[0], secret); err != nil {
		t.Fatal(err)
	}
	return rc
}

func waitEvents(t *testing.T, rc *receiver, n int) []helpdesk.CallbackEvent {
	t.Helper()
	var evs []helpdesk.CallbackEvent
	eventually(t, "callbacks", func() bool {
		evs, _, _ = rc.snapshot()
		return len(evs) >= n
	})
	return evs
}

// TestWebhookAfterUIEdit edits in the "PSA UI" and expects the delivery to
// pass the client's VerifyCallback and ParseCallback.
func TestWebhookAfterUIEdit(t *testing.T) {
	e := newEnv(t, envOptions{})
	rc := register(t, e, "cb-secret", helpdesk.EventTicketUpdated, helpdesk.EventNoteCreated)
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	agent := e.world.Members()[2].ID
	e.clock.Advance(time.Minute)
	if _, err := e.world.UpdateTicket(all[1].ID, sandbox.UI(agent), func(tk *sandbox.Ticket) error {
		tk.Summary = "UI edit"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvents(t, rc, 1)[0]
	if ev.Entity != helpdesk.EntityTickets || ev.Action != helpdesk.ActionUpdated || ev.ExternalID != idStr(all[1].ID) ||
		ev.Actor != idStr(agent) || ev.DeliveryID == "" || ev.Ticket == nil || ev.Ticket.Summary != "UI edit" ||
		!ev.OccurredAt.Equal(e.clock.Now()) {
		t.Fatalf("event %+v", ev)
	}
	n, err := e.world.AddNote(sandbox.Note{TicketID: all[2].ID, Text: "UI note"}, sandbox.UI(agent))
	if err != nil {
		t.Fatal(err)
	}
	te, err := e.world.AddTimeEntry(sandbox.TimeEntry{TicketID: all[2].ID, Hours: 0.5, Start: anchor}, sandbox.UI(agent))
	if err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, rc, 3)
	byID := map[string]helpdesk.CallbackEvent{}
	for _, ev := range evs {
		byID[ev.ExternalID] = ev
	}
	if ne := byID[idStr(n.ID)]; ne.Entity != helpdesk.EntityNotes || ne.Action != helpdesk.ActionCreated || ne.TicketID != idStr(all[2].ID) {
		t.Fatalf("note event %+v", ne)
	}
	if tee := byID[idStr(te.ID)]; tee.Entity != helpdesk.EntityTimeEntries || tee.TicketID != idStr(all[2].ID) {
		t.Fatalf("time entry event %+v", tee)
	}
	if _, rejected, _ := rc.snapshot(); rejected != 0 {
		t.Fatalf("%d deliveries rejected", rejected)
	}
}

// TestWebhookEchoes: Halo suppresses no echoes. A change Horizon makes
// through the API is delivered with agent_id = the API agent (Me), which
// is what the callback layer drops; a UI change carries its agent.
func TestWebhookEchoes(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	rc := register(t, e, "cb-secret", helpdesk.EventTicketUpdated)
	me, err := e.client.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	if _, err := e.client.UpdateTicket(ctx, idStr(all[0].ID), helpdesk.TicketUpdate{AssigneeID: idStr(e.world.Members()[3].ID)}); err != nil {
		t.Fatal(err)
	}
	ui := e.world.Members()[4].ID
	if _, err := e.world.UpdateTicket(all[1].ID, sandbox.UI(ui), func(*sandbox.Ticket) error { return nil }); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, rc, 2)
	actors := map[string]string{}
	for _, ev := range evs {
		actors[ev.ExternalID] = ev.Actor
	}
	if actors[idStr(all[0].ID)] != me.ExternalID {
		t.Fatalf("API edit delivered with actor %q, want the API agent %s", actors[idStr(all[0].ID)], me.ExternalID)
	}
	if actors[idStr(all[1].ID)] != idStr(ui) {
		t.Fatalf("UI edit delivered with actor %q, want %d", actors[idStr(all[1].ID)], ui)
	}
}

// TestWebhookBatched parses array deliveries when the emulator batches.
func TestWebhookBatched(t *testing.T) {
	e := newEnv(t, envOptions{settings: haloemu.Settings{BatchWindow: 100 * time.Millisecond}})
	rc := register(t, e, "cb-secret", helpdesk.EventTicketUpdated)
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	for i := range 3 {
		if _, err := e.world.UpdateTicket(all[i].ID, sandbox.UI(e.world.Members()[1].ID), func(*sandbox.Ticket) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	evs := waitEvents(t, rc, 3)
	if _, _, bodies := rc.snapshot(); bodies != 1 || len(evs) != 3 {
		t.Fatalf("%d events in %d bodies, want 3 in one batch", len(evs), bodies)
	}
}

// TestWebhookWrongSecretRejected: deliveries authenticated with another
// secret are refused by VerifyCallback.
func TestWebhookWrongSecretRejected(t *testing.T) {
	e := newEnv(t, envOptions{})
	rc, srv := newReceiver(t, e.client, "the-receivers-secret")
	spec := helpdesk.WebhookSpec{URL: srv.URL, Events: []helpdesk.Event{helpdesk.EventTicketUpdated}, Secret: "registered-secret"}
	if _, err := e.client.CreateWebhook(context.Background(), e.client.DesiredWebhooks(spec)[0], spec.Secret); err != nil {
		t.Fatal(err)
	}
	all, _ := e.world.QueryTickets(sandbox.TicketQuery{})
	if _, err := e.world.UpdateTicket(all[0].ID, sandbox.UI(e.world.Members()[1].ID), func(*sandbox.Ticket) error { return nil }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a rejected delivery", func() bool { _, rejected, _ := rc.snapshot(); return rejected > 0 })
	if evs, _, _ := rc.snapshot(); len(evs) != 0 {
		t.Fatalf("accepted %d events with the wrong secret", len(evs))
	}
}
