package halopsa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// VerifyCallback implements helpdesk.Provider. Halo does not sign
// deliveries: it sends the Basic credential Horizon registered
// (BasicUsername and the callback secret). Both parts are compared in
// constant time, as digests so that lengths do not leak either.
func (c *Client) VerifyCallback(_ context.Context, r *http.Request, _ []byte, secret helpdesk.Secret) error {
	if secret.Reveal() == "" {
		return helpdesk.ErrBadSignature("no callback secret configured")
	}
	if r.Header.Get("Authorization") == "" {
		return helpdesk.ErrBadSignature("missing authorization header")
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return helpdesk.ErrBadSignature("authorization is not basic")
	}
	userOK := equalDigest(user, BasicUsername)
	passOK := equalDigest(pass, secret.Reveal())
	if userOK&passOK != 1 {
		return helpdesk.ErrBadSignature("credential mismatch")
	}
	return nil
}

func equalDigest(a, b string) int {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:])
}

// wireDelivery is one Halo webhook delivery. "Event information only"
// payloads carry id, event, object_id and webhook_id alone.
type wireDelivery struct {
	ID        string          `json:"id"`
	WebhookID string          `json:"webhook_id"`
	Event     string          `json:"event"`
	ObjectID  flexID          `json:"object_id"`
	AgentID   flexID          `json:"agent_id"`
	Timestamp flexTime        `json:"timestamp"`
	Ticket    json.RawMessage `json:"ticket"`
	Action    json.RawMessage `json:"action"`
}

// ParseCallback implements helpdesk.Provider. A body is one delivery
// object or, with batching on, an array of them. Each becomes one event:
// a delivery with an action (or an action event) is a note, or a time
// entry when the action has timetaken > 0; any other is a ticket event.
// Actor is the delivery's agent_id: the agent the API application acts as
// for Horizon's own writes, which is how echoes are recognised (Halo
// documents no echo suppression).
func (c *Client) ParseCallback(_ http.Header, body []byte) ([]helpdesk.CallbackEvent, error) {
	items, err := splitDeliveries(body)
	if err != nil {
		return nil, err
	}
	out := make([]helpdesk.CallbackEvent, 0, len(items))
	for _, item := range items {
		ev, err := c.parseDelivery(item)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func splitDeliveries(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, helpdesk.ErrMalformed("empty body")
	}
	if !json.Valid(body) {
		return nil, helpdesk.ErrMalformed("body is not JSON")
	}
	switch body[0] {
	case '{':
		return []json.RawMessage{body}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil || len(items) == 0 {
			return nil, helpdesk.ErrMalformed("empty or invalid batch")
		}
		return items, nil
	}
	return nil, helpdesk.ErrMalformed("body is neither an object nor an array")
}

func (c *Client) parseDelivery(item json.RawMessage) (helpdesk.CallbackEvent, error) {
	var d wireDelivery
	if len(item) == 0 || item[0] != '{' || json.Unmarshal(item, &d) != nil {
		return helpdesk.CallbackEvent{}, helpdesk.ErrMalformed("delivery is not a Halo webhook object")
	}
	if strings.TrimSpace(d.Event) == "" {
		return helpdesk.CallbackEvent{}, helpdesk.ErrMalformed("delivery has no event")
	}
	ev := helpdesk.CallbackEvent{DeliveryID: d.ID, OccurredAt: d.Timestamp.Time(), Actor: string(d.AgentID)}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(item)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	var err error
	if isActionDelivery(d) {
		err = c.actionEvent(d, &ev)
	} else {
		err = c.ticketEvent(d, &ev)
	}
	return ev, err
}

func isActionDelivery(d wireDelivery) bool {
	if present(d.Action) {
		return true
	}
	e := strings.ToLower(d.Event)
	return strings.Contains(e, "action") || strings.Contains(e, "note")
}

func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

func (c *Client) actionEvent(d wireDelivery, ev *helpdesk.CallbackEvent) error {
	ev.Entity, ev.Action = helpdesk.EntityNotes, actionOf(d.Event, helpdesk.ActionCreated)
	ev.TicketID = string(d.ObjectID)
	if present(d.Action) {
		var a wireAction
		if bytes.TrimSpace(d.Action)[0] != '{' || json.Unmarshal(d.Action, &a) != nil {
			return helpdesk.ErrMalformed("action is not an object")
		}
		ev.ExternalID = string(a.ID)
		if a.TicketID != "" {
			ev.TicketID = string(a.TicketID)
		}
		if a.TimeTaken > 0 {
			ev.Entity = helpdesk.EntityTimeEntries
		}
	}
	if ev.TicketID == "" && present(d.Ticket) {
		t, err := c.deliveryTicket(d.Ticket)
		if err != nil {
			return err
		}
		ev.TicketID = t.ExternalID
	}
	if ev.TicketID == "" {
		return helpdesk.ErrMalformed("action delivery names no ticket")
	}
	return nil
}

func (c *Client) ticketEvent(d wireDelivery, ev *helpdesk.CallbackEvent) error {
	ev.Entity, ev.Action = helpdesk.EntityTickets, actionOf(d.Event, helpdesk.ActionUpdated)
	ev.ExternalID = string(d.ObjectID)
	if present(d.Ticket) {
		t, err := c.deliveryTicket(d.Ticket)
		if err != nil {
			return err
		}
		ev.Ticket = &t
		if ev.ExternalID == "" {
			ev.ExternalID = t.ExternalID
		}
	}
	if ev.ExternalID == "" {
		return helpdesk.ErrMalformed("delivery has no object_id")
	}
	ev.TicketID = ev.ExternalID
	return nil
}

func (c *Client) deliveryTicket(raw json.RawMessage) (helpdesk.Ticket, error) {
	var obj rawObject
	if json.Unmarshal(raw, &obj) != nil {
		return helpdesk.Ticket{}, helpdesk.ErrMalformed("ticket is not an object")
	}
	t, err := c.ticket(obj)
	if err != nil {
		return helpdesk.Ticket{}, helpdesk.ErrMalformed("ticket has no id")
	}
	return t, nil
}

// actionOf reads the action from Halo's free-text event names ("New
// Ticket Logged", "Ticket Status Changed", "Action Added", ...).
func actionOf(event string, def helpdesk.Action) helpdesk.Action {
	e := strings.ToLower(event)
	switch {
	case strings.Contains(e, "delete"):
		return helpdesk.ActionDeleted
	case strings.Contains(e, "new ") || strings.Contains(e, "logged") || strings.Contains(e, "created") ||
		strings.Contains(e, "added"):
		return helpdesk.ActionCreated
	}
	return def
}
