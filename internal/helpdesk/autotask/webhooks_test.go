package autotask_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/autotask"
	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// receiver is Horizon's callback endpoint in miniature: verify, parse,
// keep the events.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	events   []helpdesk.CallbackEvent
	rejected []string
}

func newReceiver(t *testing.T, c *autotask.Client, secret helpdesk.Secret) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := c.VerifyCallback(r.Context(), r, body, secret); err != nil {
			rc.reject(w, err)
			return
		}
		evs, err := c.ParseCallback(r.Header, body)
		if err != nil {
			rc.reject(w, err)
			return
		}
		rc.mu.Lock()
		rc.events = append(rc.events, evs...)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) reject(w http.ResponseWriter, err error) {
	var ce *helpdesk.CallbackError
	status := 500
	if errors.As(err, &ce) {
		status = ce.Status
	}
	rc.mu.Lock()
	rc.rejected = append(rc.rejected, err.Error())
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) find(entity helpdesk.Entity, id int64, action helpdesk.Action) (helpdesk.CallbackEvent, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ev := range rc.events {
		if ev.Entity == entity && ev.ExternalID == strconv.FormatInt(id, 10) && ev.Action == action {
			return ev, true
		}
	}
	return helpdesk.CallbackEvent{}, false
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.events)
}

var allEvents = helpdesk.WebhookSpec{Events: helpdesk.AllEvents, Account: "acme msp"}

func TestDesiredWebhooks(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 5})
	spec := allEvents
	spec.URL, spec.Secret = "https://horizon.example/callbacks/autotask", "s3cr3t-0123456789"
	hooks := e.client.DesiredWebhooks(spec)
	keys := make([]string, len(hooks))
	for i, h := range hooks {
		keys[i] = h.Key
		if !helpdesk.IsManagedName(h.Name) || len(h.Name) > 50 || h.Fingerprint == "" || !strings.Contains(h.Name, h.Fingerprint) {
			t.Errorf("hook %+v: name must carry the marker and fingerprint within 50 chars", h)
		}
		if strings.Contains(h.Name, string(spec.Secret)) {
			t.Errorf("name leaks the secret: %q", h.Name)
		}
	}
	if !slices.Equal(keys, []string{"tickets", "notes", "contacts", "companies"}) {
		t.Fatalf("keys = %v", keys)
	}
	for _, h := range hooks {
		for _, ev := range h.Events {
			if strings.HasPrefix(string(ev), "timeEntry") {
				t.Errorf("time entry events have no Autotask webhook: %v", h.Events)
			}
		}
	}
	spec.Secret = "rotated-secret-value"
	if again := e.client.DesiredWebhooks(spec); again[0].Fingerprint == hooks[0].Fingerprint || again[0].Name == hooks[0].Name {
		t.Fatal("a rotated secret must change the fingerprint and name")
	}
	long := spec
	long.Account = strings.Repeat("very long account name ", 5)
	for _, h := range e.client.DesiredWebhooks(long) {
		if len(h.Name) > 50 {
			t.Errorf("name %q longer than 50", h.Name)
		}
	}
}

func TestWebhookCRUD(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 5})
	secret := helpdesk.Secret("first-secret-123")
	spec := allEvents
	spec.URL, spec.Secret = "https://horizon.example/callbacks/autotask", secret
	for _, w := range e.client.DesiredWebhooks(spec) {
		got, err := e.client.CreateWebhook(ctx(t), w, secret)
		if err != nil {
			t.Fatalf("create %s: %v", w.Key, err)
		}
		if !got.Active || !got.Managed || got.Fingerprint != w.Fingerprint || got.ID == "" || got.Key != w.Key ||
			!slices.Equal(got.SortedEvents(), w.SortedEvents()) {
			t.Fatalf("created = %+v, want like %+v", got, w)
		}
	}
	for _, h := range e.emu.Webhooks() {
		if !h.Ready || h.Fields == 0 || !slices.Contains(h.Excluded, e.emu.APIResourceID()) {
			t.Fatalf("emulator hook %+v: want ready, with fields and the API user excluded", h)
		}
	}
	listed, err := e.client.Webhooks(ctx(t))
	if err != nil || len(listed) != 4 {
		t.Fatalf("webhooks = %+v, %v", listed, err)
	}
	// Rotate the secret: the name (and so the fingerprint) changes.
	rotated := helpdesk.Secret("second-secret-456")
	spec.Secret = rotated
	want := e.client.DesiredWebhooks(spec)[0]
	want.ID = listed[0].ID
	up, err := e.client.UpdateWebhook(ctx(t), want, rotated)
	if err != nil || up.Fingerprint != want.Fingerprint || up.Name != want.Name {
		t.Fatalf("update = %+v, %v", up, err)
	}
	for _, h := range listed {
		if err := e.client.DeleteWebhook(ctx(t), h.ID); err != nil {
			t.Fatalf("delete %s: %v", h.ID, err)
		}
	}
	if err := e.client.DeleteWebhook(ctx(t), listed[0].ID); err != nil {
		t.Fatalf("deleting a missing webhook must succeed: %v", err)
	}
	if left, _ := e.client.Webhooks(ctx(t)); len(left) != 0 {
		t.Fatalf("left = %+v", left)
	}
}

func TestWebhookValidation(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 5})
	w := helpdesk.Webhook{Key: "tickets", Name: "horizon x tickets", URL: "https://h.example/cb",
		Events: []helpdesk.Event{helpdesk.EventTicketUpdated}, Active: true}
	if _, err := e.client.CreateWebhook(ctx(t), w, helpdesk.Secret(strings.Repeat("k", 65))); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("65-char secret: %v", err)
	}
	bad := w
	bad.Key = "timeEntries"
	if _, err := e.client.CreateWebhook(ctx(t), bad, "secret"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("unknown key: %v", err)
	}
	bad = w
	bad.URL = "not a url"
	_, err := e.client.CreateWebhook(ctx(t), bad, "secret-value")
	if !errors.Is(err, helpdesk.ErrInvalid) || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("bad URL: %v", err)
	}
	if _, err := e.client.UpdateWebhook(ctx(t), helpdesk.Webhook{ID: "tickets:1", Key: "notes"}, "secret"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Errorf("key change: %v", err)
	}
}

// Another tool's webhook is listed, unmanaged.
func TestWebhooksListsOtherTools(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 5})
	body := `{"IsActive":true,"Name":"n8n tickets","WebhookUrl":"https://n8n.example/hook","DeactivationUrl":"https://n8n.example/off","SecretKey":"x","IsSubscribedToUpdateEvents":true}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/ATServicesRest/V1.0/TicketWebhooks", strings.NewReader(body))
	req.Header.Set("ApiIntegrationCode", e.cfg.IntegrationCode.Reveal())
	req.Header.Set("UserName", e.cfg.Username)
	req.Header.Set("Secret", e.cfg.Secret.Reveal())
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("raw create: %v %v", res, err)
	}
	res.Body.Close()
	hooks, err := e.client.Webhooks(ctx(t))
	if err != nil || len(hooks) != 1 || hooks[0].Managed || hooks[0].Fingerprint != "" || hooks[0].Active {
		t.Fatalf("hooks = %+v, %v (not ready: no fields, so not active)", hooks, err)
	}
	// Horizon never changes or removes another tool's registration.
	if err := e.client.DeleteWebhook(ctx(t), hooks[0].ID); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("delete of a foreign webhook: %v", err)
	}
	w := hooks[0]
	w.Name, w.Active = "horizon takeover [00000000]", true
	if _, err := e.client.UpdateWebhook(ctx(t), w, "secret"); !errors.Is(err, helpdesk.ErrInvalid) {
		t.Fatalf("update of a foreign webhook: %v", err)
	}
	if left := e.emu.Webhooks(); len(left) != 1 || left[0].Name != "n8n tickets" {
		t.Fatalf("foreign webhook changed: %+v", left)
	}
}

func registerAll(t *testing.T, e *env, url string, secret helpdesk.Secret) {
	t.Helper()
	spec := allEvents
	spec.URL, spec.Secret = url, secret
	for _, w := range e.client.DesiredWebhooks(spec) {
		if _, err := e.client.CreateWebhook(ctx(t), w, secret); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWebhookDeliveredAfterUIEdit(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	secret := helpdesk.Secret("delivery-secret-1")
	rc := newReceiver(t, e.client, secret)
	registerAll(t, e, rc.srv.URL, secret)
	agent := e.world.Members()[2].ID
	target := e.liveTickets()[3]
	if _, err := e.world.UpdateTicket(target.ID, sandbox.UI(agent), func(tk *sandbox.Ticket) error {
		tk.Summary = "changed in the UI"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var ev helpdesk.CallbackEvent
	eventually(t, "ticket update delivery", func() (ok bool) {
		ev, ok = rc.find(helpdesk.EntityTickets, target.ID, helpdesk.ActionUpdated)
		return ok
	})
	if ev.Actor != strconv.FormatInt(agent, 10) || ev.DeliveryID == "" || ev.OccurredAt.IsZero() {
		t.Fatalf("event = %+v", ev)
	}
	// A note added in the UI names its ticket.
	n, err := e.world.AddNote(sandbox.Note{TicketID: target.ID, Text: "UI note"}, sandbox.UI(agent))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "note delivery", func() (ok bool) {
		ev, ok = rc.find(helpdesk.EntityNotes, n.ID, helpdesk.ActionCreated)
		return ok
	})
	if ev.TicketID != strconv.FormatInt(target.ID, 10) {
		t.Fatalf("note event ticket = %q, want %d", ev.TicketID, target.ID)
	}
	// The re-fetch the receiver would do.
	if got, err := e.client.GetTicket(ctx(t), strconv.FormatInt(target.ID, 10)); err != nil || got.Summary != "changed in the UI" {
		t.Fatalf("re-fetch = %+v, %v", got, err)
	}
	if len(rc.rejected) != 0 {
		t.Fatalf("rejected deliveries: %v", rc.rejected)
	}
}

// Writes made through the API by Horizon's own resource are excluded
// from its webhooks; the same edit made by an agent is delivered.
func TestEchoSuppression(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 20})
	secret := helpdesk.Secret("echo-secret-1")
	rc := newReceiver(t, e.client, secret)
	registerAll(t, e, rc.srv.URL, secret)
	own := e.liveTickets()[1]
	if _, err := e.client.UpdateTicket(ctx(t), strconv.FormatInt(own.ID, 10), helpdesk.TicketUpdate{StatusID: "5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddNote(ctx(t), strconv.FormatInt(own.ID, 10), helpdesk.NewNote{Text: "from Horizon"}); err != nil {
		t.Fatal(err)
	}
	other := e.liveTickets()[2]
	if _, err := e.world.UpdateTicket(other.ID, sandbox.UI(e.world.Members()[3].ID), func(tk *sandbox.Ticket) error {
		tk.Summary = "agent edit"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "agent edit delivery", func() bool {
		_, ok := rc.find(helpdesk.EntityTickets, other.ID, helpdesk.ActionUpdated)
		return ok
	})
	eventually(t, "deliveries settle", func() bool { return len(e.emu.Deliveries()) == rc.count() })
	if _, ok := rc.find(helpdesk.EntityTickets, own.ID, helpdesk.ActionUpdated); ok {
		t.Fatal("Horizon's own update echoed back")
	}
	if rc.count() != 1 {
		t.Fatalf("deliveries = %d, want only the agent's edit", rc.count())
	}
}

// Deliveries carry Autotask's documented shape.
func TestDeliveryShape(t *testing.T) {
	e := newEnv(t, envOpts{tickets: 10})
	secret := helpdesk.Secret("shape-secret")
	rc := newReceiver(t, e.client, secret)
	registerAll(t, e, rc.srv.URL, secret)
	target := e.liveTickets()[0]
	e.world.UpdateTicket(target.ID, sandbox.UI(e.world.Members()[1].ID), func(tk *sandbox.Ticket) error {
		tk.Summary = "shape"
		return nil
	})
	eventually(t, "delivery", func() bool { return len(e.emu.Deliveries()) > 0 })
	d := e.emu.Deliveries()[0]
	var body map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Action", "Guid", "EntityType", "Id", "Fields", "EventTime", "SequenceNumber", "PersonID"} {
		if _, ok := body[k]; !ok {
			t.Errorf("delivery lacks %s: %s", k, d.Body)
		}
	}
	if !bytes.Contains(d.Body, []byte(`"Title":"shape"`)) {
		t.Errorf("changed subscribed field missing: %s", d.Body)
	}
}
