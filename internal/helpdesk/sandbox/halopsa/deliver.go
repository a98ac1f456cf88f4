package halopsa

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// delivery is one webhook POST body, as a live tenant sends it (wire
// facts B6, from a recorded payload): the ticket in full and, for action
// events, the action. "Event information only" keeps id, event,
// object_id and webhook_id.
type delivery struct {
	ID             string      `json:"id"`
	WebhookID      string      `json:"webhook_id"`
	NotificationID int         `json:"notification_id,omitempty"`
	EscMsgID       string      `json:"escmsg_id,omitempty"`
	Event          string      `json:"event"`
	Message        string      `json:"message,omitempty"`
	ObjectID       int64       `json:"object_id"`
	AgentID        *int64      `json:"agent_id,omitempty"`
	Timestamp      string      `json:"timestamp,omitempty"`
	Ticket         *haloTicket `json:"ticket,omitempty"`
	Action         *haloAction `json:"action,omitempty"`
}

// batch gathers deliveries to one webhook during Settings.BatchWindow.
type batch struct {
	items []json.RawMessage
	timer *time.Timer
}

// eventFor names the Halo event a World change fires, "" for none.
// Halo documents no echo suppression: changes made through the API fire
// like any other, with agent_id naming the API agent.
func eventFor(c sandbox.Change) string {
	switch {
	case c.Kind == sandbox.KindTicket && c.Action == sandbox.Created:
		return EventNewTicket
	case c.Kind == sandbox.KindTicket && c.Action == sandbox.Updated:
		return EventTicketUpdated
	case c.Kind == sandbox.KindTicket && c.Action == sandbox.Deleted:
		return EventTicketDeleted
	case (c.Kind == sandbox.KindNote || c.Kind == sandbox.KindTimeEntry) && c.Action == sandbox.Created:
		return EventActionAdded
	}
	return ""
}

// onChange is the World listener: it renders the change once and sends it
// to every active registration subscribed to its event.
func (s *Server) onChange(c sandbox.Change) {
	ev := eventFor(c)
	if ev == "" {
		return
	}
	targets := s.subscribers(ev)
	if len(targets) == 0 {
		return
	}
	d := s.render(c, ev)
	for _, h := range targets {
		d.ID, d.WebhookID, d.EscMsgID = newUUID(), h.ID, newUUID()
		b, err := json.Marshal(s.shape(d))
		if err != nil {
			s.log.Error("halopsa sandbox: encode delivery", "err", err)
			continue
		}
		s.enqueue(h, b)
	}
}

func (s *Server) subscribers(ev string) []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var out []Webhook
	for _, h := range s.hooks {
		if h.Active && h.Type == 0 && slices.Contains(h.Events, ev) {
			out = append(out, *h)
		}
	}
	return out
}

func (s *Server) render(c sandbox.Change, ev string) delivery {
	s.mu.Lock()
	s.notifyID++
	nid := s.notifyID
	s.mu.Unlock()
	v := s.view()
	actor := c.Actor
	d := delivery{NotificationID: nid, Event: ev, ObjectID: c.TicketID, AgentID: &actor,
		Message:   fmt.Sprintf("%s for Ticket ID: %07d.", ev, c.TicketID),
		Timestamp: c.At.UTC().Format("2006-01-02T15:04:05.0000000Z")}
	if t, ok := s.world.Ticket(c.TicketID); ok {
		ht := v.ticket(t, true)
		d.Ticket = &ht
	}
	if a, ok := s.changedAction(v, c); ok {
		d.Action = &a
	}
	return d
}

func (s *Server) changedAction(v *view, c sandbox.Change) (haloAction, bool) {
	switch c.Kind {
	case sandbox.KindNote:
		for _, n := range s.world.Notes(c.TicketID) {
			if n.ID == c.ID {
				return v.note(n), true
			}
		}
	case sandbox.KindTimeEntry:
		if te, ok := s.world.TimeEntry(c.ID); ok {
			return v.timeEntry(te), true
		}
	}
	return haloAction{}, false
}

// shape applies the payload option: the full object or event information
// only.
func (s *Server) shape(d delivery) any {
	if !s.set.EventOnlyPayload {
		return d
	}
	return map[string]any{"id": d.ID, "event": d.Event, "object_id": d.ObjectID, "webhook_id": d.WebhookID}
}

// enqueue sends body now, or adds it to the webhook's batch.
func (s *Server) enqueue(h Webhook, body []byte) {
	if s.set.BatchWindow <= 0 {
		s.send(h, body)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	b := s.batches[h.ID]
	if b == nil {
		b = &batch{}
		b.timer = time.AfterFunc(s.set.BatchWindow, func() { s.flush(h) })
		s.batches[h.ID] = b
	}
	b.items = append(b.items, body)
}

func (s *Server) flush(h Webhook) {
	s.mu.Lock()
	b := s.batches[h.ID]
	delete(s.batches, h.ID)
	closed := s.closed
	s.mu.Unlock()
	if b == nil || closed {
		return
	}
	body, err := json.Marshal(b.items)
	if err != nil {
		s.log.Error("halopsa sandbox: encode batch", "err", err)
		return
	}
	s.send(h, body)
}

// send delivers with Basic authentication when the registration asks for
// it (authentication_type 1), and counts consecutive failures to
// auto-disable after auto_disable_attempts.
func (s *Server) send(h Webhook, body []byte) {
	hdr := http.Header{"Content-Type": {h.ContentType}}
	if h.AuthenticationType == 1 {
		cred := base64.StdEncoding.EncodeToString([]byte(h.BasicUsername + ":" + h.BasicPassword))
		hdr.Set("Authorization", "Basic "+cred)
	}
	s.deliver.Send(sandbox.Delivery{URL: h.URL, Header: hdr, Body: body, Policy: *s.set.WebhookRetry,
		OnResult: func(status int, err error) { s.result(h.ID, status, err) }})
}

func (s *Server) result(id string, status int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hook(id)
	if h == nil {
		return
	}
	if err == nil && status >= 200 && status < 300 {
		h.Failures = 0
		return
	}
	h.Failures++
	if h.AutoDisableAttempts > 0 && h.Failures >= h.AutoDisableAttempts {
		h.Active = false
	}
}
