package halopsa

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// sink records webhook deliveries and answers status.
type sink struct {
	mu      sync.Mutex
	status  int
	headers []http.Header
	bodies  [][]byte
}

func newSink(t *testing.T, status int) (*sink, *httptest.Server) {
	s := &sink{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.headers, s.bodies = append(s.headers, r.Header.Clone()), append(s.bodies, b)
		st := s.status
		s.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func touch(t *testing.T, w *sandbox.World, id int64) {
	t.Helper()
	if _, err := w.UpdateTicket(id, sandbox.UI(w.Members()[1].ID), func(*sandbox.Ticket) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveryShapeAndAuth(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	sk, srv := newSink(t, 200)
	h.expect("POST", "/api/Webhook", `[{"name":"horizon","url":"`+srv.URL+`","authentication_type":1,
		"basic_username":"horizon","basic_password":"pw","events":[{"name":"Ticket Updated"},{"name":"Ticket Deleted"}]}]`, 200, `"authentication_type":1`)
	all, _ := h.emu.world.QueryTickets(sandbox.TicketQuery{})
	touch(t, h.emu.world, all[0].ID)
	if err := h.emu.world.DeleteTicket(all[1].ID, sandbox.UI(h.emu.world.Members()[1].ID)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 deliveries", func() bool { return sk.count() >= 3 })
	sk.mu.Lock()
	defer sk.mu.Unlock()
	user, pass, ok := (&http.Request{Header: sk.headers[0]}).BasicAuth()
	if !ok || user != "horizon" || pass != "pw" || sk.headers[0].Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", sk.headers[0])
	}
	events := map[string]int{}
	for _, b := range sk.bodies {
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "webhook_id", "notification_id", "escmsg_id", "event", "message", "object_id",
			"agent_id", "timestamp", "ticket"} {
			if _, ok := d[k]; !ok {
				t.Fatalf("delivery lacks %q: %s", k, b)
			}
		}
		events[d["event"].(string)+" "+itoa(int64(d["object_id"].(float64)))]++
	}
	want := map[string]int{EventTicketUpdated + " " + itoa(all[0].ID): 1, EventTicketUpdated + " " + itoa(all[1].ID): 1,
		EventTicketDeleted + " " + itoa(all[1].ID): 1}
	if len(events) != len(want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	for k, n := range want {
		if events[k] != n {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
}

func TestDeliveryEventOnly(t *testing.T) {
	h := newHarness(t, 5, Settings{EventOnlyPayload: true})
	sk, srv := newSink(t, 200)
	h.emu.AddWebhook(Webhook{Name: "other", URL: srv.URL, Active: true, Events: []string{EventTicketUpdated}})
	all, _ := h.emu.world.QueryTickets(sandbox.TicketQuery{})
	touch(t, h.emu.world, all[0].ID)
	waitFor(t, "a delivery", func() bool { return sk.count() == 1 })
	var d map[string]any
	_ = json.Unmarshal(sk.bodies[0], &d)
	if len(d) != 4 || d["event"] != EventTicketUpdated {
		t.Fatalf("event-only delivery %s", sk.bodies[0])
	}
	if sk.headers[0].Get("Authorization") != "" {
		t.Fatal("no authentication was registered")
	}
}

func TestDeliveryAutoDisable(t *testing.T) {
	h := newHarness(t, 5, Settings{WebhookRetry: &sandbox.RetryPolicy{Timeout: time.Second}})
	sk, srv := newSink(t, 500)
	hook := h.emu.AddWebhook(Webhook{Name: "flaky", URL: srv.URL, Active: true, AutoDisableAttempts: 2,
		Events: []string{EventTicketUpdated}})
	all, _ := h.emu.world.QueryTickets(sandbox.TicketQuery{})
	touch(t, h.emu.world, all[0].ID)
	waitFor(t, "first failure", func() bool { return h.emu.Webhooks()[0].Failures == 1 })
	touch(t, h.emu.world, all[0].ID)
	waitFor(t, "auto-disable", func() bool { return !h.emu.Webhooks()[0].Active })
	if subs := h.emu.subscribers(EventTicketUpdated); len(subs) != 0 {
		t.Fatalf("a disabled hook still receives deliveries: %+v", subs)
	}
	if n := sk.count(); n != 2 || h.emu.Webhooks()[0].ID != hook.ID {
		t.Fatalf("%d deliveries, want 2 before the hook disabled itself", n)
	}
}

func TestDeliveryDropped(t *testing.T) {
	h := newHarness(t, 5, Settings{})
	h.emu.faults.Set(sandbox.FaultSettings{DropWebhooks: 1})
	sk, srv := newSink(t, 200)
	h.emu.AddWebhook(Webhook{Name: "x", URL: srv.URL, Active: true, Events: []string{EventTicketUpdated}})
	all, _ := h.emu.world.QueryTickets(sandbox.TicketQuery{})
	touch(t, h.emu.world, all[0].ID)
	waitFor(t, "a dropped record", func() bool {
		r := h.emu.Deliveries()
		return len(r) == 1 && r[0].Dropped
	})
	if sk.count() != 0 {
		t.Fatal("a dropped webhook arrived")
	}
}
