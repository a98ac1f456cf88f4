package zohodesk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
	zdsandbox "github.com/horizon/reconciler/internal/helpdesk/sandbox/zohodesk"
	"github.com/horizon/reconciler/internal/helpdesk/zohodesk"
)

const callbackSecret = helpdesk.Secret("cb-secret-0123456789")

func spec(url string, secret helpdesk.Secret) helpdesk.WebhookSpec {
	return helpdesk.WebhookSpec{URL: url, Secret: secret, Account: "acme",
		Events: []helpdesk.Event{helpdesk.EventTicketCreated, helpdesk.EventTicketUpdated, helpdesk.EventNoteCreated}}
}

func TestWebhookCRUD(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	ctx := context.Background()
	rc := newReceiver(t)
	desired := c.DesiredWebhooks(spec(rc.srv.URL+"/callbacks/zohodesk", callbackSecret))
	if len(desired) != 1 || !helpdesk.IsManagedName(desired[0].Name) || desired[0].Fingerprint == "" {
		t.Fatalf("DesiredWebhooks = %+v", desired)
	}
	created, err := c.CreateWebhook(ctx, desired[0], callbackSecret)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Webhooks(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Webhooks = %+v, %v", list, err)
	}
	got := list[0]
	if got.ID != created.ID || got.URL != desired[0].URL || got.Fingerprint != desired[0].Fingerprint || !got.Managed ||
		got.Key != desired[0].Key || len(got.Events) != 3 || strings.Contains(got.URL, callbackSecret.Reveal()) {
		t.Fatalf("observed %+v, desired %+v", got, desired[0])
	}
	if hooks := e.emu.Webhooks(); hooks[0].IgnoreSourceID != c.SourceID() || !strings.Contains(hooks[0].URL, "token=") {
		t.Fatalf("registration = %+v", hooks[0])
	}
	rotated := helpdesk.Secret("rotated-secret")
	want := c.DesiredWebhooks(spec(rc.srv.URL+"/callbacks/zohodesk", rotated))[0]
	want.ID = created.ID
	if want.Fingerprint == got.Fingerprint {
		t.Fatal("a rotated secret must change the fingerprint")
	}
	upd, err := c.UpdateWebhook(ctx, want, rotated)
	if err != nil || upd.Fingerprint != want.Fingerprint {
		t.Fatalf("UpdateWebhook = %+v, %v", upd, err)
	}
	if err := c.DeleteWebhook(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, created.ID); err != nil {
		t.Fatalf("deleting a missing webhook: %v", err)
	}
	if list, err := c.Webhooks(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after delete: %+v, %v (204 must read as empty)", list, err)
	}
}

func TestWebhookHandshakeFailure(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	deaf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	defer deaf.Close()
	_, err := c.CreateWebhook(context.Background(), c.DesiredWebhooks(spec(deaf.URL, callbackSecret))[0], callbackSecret)
	if !errors.Is(err, helpdesk.ErrInvalid) || !strings.Contains(err.Error(), "/url") {
		t.Fatalf("handshake failure: %v", err)
	}
}

// register creates Horizon's webhook for client c at a fresh receiver.
func register(t *testing.T, c *zohodesk.Client, events ...helpdesk.Event) *receiver {
	t.Helper()
	rc := newReceiver(t)
	s := spec(rc.srv.URL+"/callbacks/zohodesk", callbackSecret)
	if len(events) > 0 {
		s.Events = events
	}
	if _, err := c.CreateWebhook(context.Background(), c.DesiredWebhooks(s)[0], callbackSecret); err != nil {
		t.Fatal(err)
	}
	return rc
}

// events verifies and parses every delivery the receiver got.
func events(t *testing.T, c *zohodesk.Client, rc *receiver) []helpdesk.CallbackEvent {
	t.Helper()
	reqs, bodies := rc.snapshot()
	var out []helpdesk.CallbackEvent
	for i, r := range reqs {
		if err := c.VerifyCallback(context.Background(), r, bodies[i], callbackSecret); err != nil {
			t.Fatalf("delivery %d does not verify: %v", i, err)
		}
		evs, err := c.ParseCallback(r.Header, bodies[i])
		if err != nil {
			t.Fatalf("delivery %d does not parse: %v\n%s", i, err, bodies[i])
		}
		out = append(out, evs...)
	}
	return out
}

func hasEvent(evs []helpdesk.CallbackEvent, entity helpdesk.Entity, action helpdesk.Action, id string) bool {
	for _, ev := range evs {
		if ev.Entity == entity && ev.Action == action && ev.ExternalID == id {
			return true
		}
	}
	return false
}

func TestWebhookDeliveredAfterUIEdit(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	rc := register(t, c)
	tk := liveTickets(e.world)[4]
	member := e.world.Members()[3].ID
	if _, err := e.world.UpdateTicket(tk.ID, sandbox.UI(member), func(t *sandbox.Ticket) error { t.Summary = "from the UI"; return nil }); err != nil {
		t.Fatal(err)
	}
	note, err := e.world.AddNote(sandbox.Note{TicketID: tk.ID, Text: "note from the UI"}, sandbox.UI(member))
	if err != nil {
		t.Fatal(err)
	}
	id := zdsandbox.WireID(tk.ID)
	eventually(t, "ticket and note deliveries", func() bool {
		evs := events(t, c, rc)
		return hasEvent(evs, helpdesk.EntityTickets, helpdesk.ActionUpdated, id) &&
			hasEvent(evs, helpdesk.EntityNotes, helpdesk.ActionCreated, zdsandbox.WireID(note.ID))
	})
	for _, ev := range events(t, c, rc) {
		if ev.Entity == helpdesk.EntityTickets && ev.Ticket == nil {
			t.Fatalf("ticket event without the ticket: %+v", ev)
		}
		if ev.Entity == helpdesk.EntityNotes && ev.TicketID != id {
			t.Fatalf("note event parent = %q, want %q", ev.TicketID, id)
		}
		if ev.Entity == helpdesk.EntityTickets && ev.Ticket.Summary != "from the UI" {
			t.Fatalf("ticket payload summary = %q", ev.Ticket.Summary)
		}
	}
}

func TestEchoSuppression(t *testing.T) {
	e := newEnv(t, envOpts{})
	horizon := e.client(t)
	rc := register(t, horizon)
	live := liveTickets(e.world)
	own, other := zdsandbox.WireID(live[1].ID), zdsandbox.WireID(live[2].ID)
	status := e.world.Queues()[0].Statuses[1].Name
	if _, err := horizon.UpdateTicket(context.Background(), own, helpdesk.TicketUpdate{StatusID: status}); err != nil {
		t.Fatal(err)
	}
	// Another integration's write (a different source id) is not an echo.
	cfg := e.config()
	cfg.SourceID = "0d5c8a4e-1111-4222-8333-944455556666"
	if _, err := newClient(t, cfg).UpdateTicket(context.Background(), other, helpdesk.TicketUpdate{StatusID: status}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other integration's change", func() bool {
		return hasEvent(events(t, horizon, rc), helpdesk.EntityTickets, helpdesk.ActionUpdated, other)
	})
	if hasEvent(events(t, horizon, rc), helpdesk.EntityTickets, helpdesk.ActionUpdated, own) {
		t.Fatal("Horizon's own write was echoed back")
	}
}

func TestWebhookGoneDeletesRegistration(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client(t)
	rc := register(t, c)
	rc.mu.Lock()
	rc.status = http.StatusGone
	rc.mu.Unlock()
	tk := liveTickets(e.world)[0]
	if _, err := e.world.UpdateTicket(tk.ID, sandbox.UI(e.world.Members()[1].ID), func(*sandbox.Ticket) error { return nil }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the registration to be deleted", func() bool { return len(e.emu.Webhooks()) == 0 })
}
