package zohodesk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// VerifyCallback implements helpdesk.Provider. Zoho Desk signs nothing
// (the X-ZDesk-JWT header some write-ups mention is unconfirmed and does
// not cover the body, so it is ignored): the registered URL carries
// Horizon's secret as ?token=, or as the last path segment for receivers
// routed that way, and it is compared in constant time. The body is not
// covered; the receiver re-fetches every record by id.
func (c *Client) VerifyCallback(_ context.Context, r *http.Request, _ []byte, secret helpdesk.Secret) error {
	if secret == "" {
		return helpdesk.ErrBadSignature("no callback secret configured")
	}
	if r == nil || r.URL == nil {
		return helpdesk.ErrBadSignature("missing token")
	}
	want := []byte(secret.Reveal())
	if token := r.URL.Query().Get(TokenParam); token != "" {
		if subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			return helpdesk.ErrBadSignature("token mismatch")
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(path.Base(r.URL.Path)), want) == 1 {
		return nil
	}
	return helpdesk.ErrBadSignature("missing token")
}

// wireEvent is one element of a delivery: Zoho posts a JSON array of
// them, several events per delivery at times.
type wireEvent struct {
	EventType string          `json:"eventType"`
	OrgID     flexID          `json:"orgId"`
	EventTime flexTime        `json:"eventTime"`
	Payload   json.RawMessage `json:"payload"`
}

// eventPayload is what parsing needs of any payload.
type eventPayload struct {
	ID           flexID   `json:"id"`
	TicketID     flexID   `json:"ticketId"`
	ModifiedTime flexTime `json:"modifiedTime"`
	ModifiedBy   flexID   `json:"modifiedBy"`
	Parent       *struct {
		ID flexID `json:"id"`
	} `json:"parent"`
}

// ParseCallback implements helpdesk.Provider. The body is a JSON array
// of {eventType, orgId, eventTime, payload[, prevState]} (a lone object is
// read as a one-element array). Event types Horizon does not follow are
// skipped. DeliveryID is a digest of the element: Zoho sends no event id.
func (c *Client) ParseCallback(_ http.Header, body []byte) ([]helpdesk.CallbackEvent, error) {
	elems, err := splitElements(body)
	if err != nil {
		return nil, err
	}
	out := make([]helpdesk.CallbackEvent, 0, len(elems))
	for _, raw := range elems {
		ev, ok, err := parseElement(raw)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

func splitElements(body []byte) ([]json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, helpdesk.ErrMalformed("empty body")
	}
	var elems []json.RawMessage
	switch b[0] {
	case '[':
		if err := json.Unmarshal(b, &elems); err != nil {
			return nil, helpdesk.ErrMalformed("body is not a JSON array of events")
		}
	case '{':
		elems = []json.RawMessage{json.RawMessage(b)}
	default:
		return nil, helpdesk.ErrMalformed("body is not JSON")
	}
	return elems, nil
}

func parseElement(raw json.RawMessage) (helpdesk.CallbackEvent, bool, error) {
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.CallbackEvent{}, false, helpdesk.ErrMalformed("event is not an object")
	}
	if w.EventType == "" {
		return helpdesk.CallbackEvent{}, false, helpdesk.ErrMalformed("event without eventType")
	}
	entity, action, ok := classify(w.EventType)
	if !ok {
		return helpdesk.CallbackEvent{}, false, nil
	}
	var p eventPayload
	if len(w.Payload) == 0 || json.Unmarshal(w.Payload, &p) != nil || p.ID == "" {
		return helpdesk.CallbackEvent{}, false, helpdesk.ErrMalformed("event payload without id")
	}
	sum := sha256.Sum256(raw)
	ev := helpdesk.CallbackEvent{
		DeliveryID: "zd-" + hex.EncodeToString(sum[:16]), Entity: entity, Action: action,
		ExternalID: string(p.ID), OccurredAt: w.EventTime.Time, Actor: string(p.ModifiedBy),
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = p.ModifiedTime.Time
	}
	fillParent(&ev, p, w.Payload)
	return ev, true, nil
}

// fillParent sets the parent ticket of notes and time entries, and the
// whole ticket for ticket add/update events.
func fillParent(ev *helpdesk.CallbackEvent, p eventPayload, payload json.RawMessage) {
	switch ev.Entity {
	case helpdesk.EntityNotes:
		ev.TicketID = string(p.TicketID)
	case helpdesk.EntityTimeEntries:
		ev.TicketID = string(p.TicketID)
		if ev.TicketID == "" && p.Parent != nil {
			ev.TicketID = string(p.Parent.ID)
		}
	case helpdesk.EntityTickets:
		if ev.Action != helpdesk.ActionDeleted {
			if t, err := parseTicket(payload); err == nil {
				ev.Ticket = &t
			}
		}
	}
}

// classify maps a Zoho eventType ("Ticket_Comment_Add") to an entity and
// action.
func classify(eventType string) (helpdesk.Entity, helpdesk.Action, bool) {
	i := strings.LastIndexByte(eventType, '_')
	if i <= 0 {
		return "", "", false
	}
	var action helpdesk.Action
	switch eventType[i+1:] {
	case "Add":
		action = helpdesk.ActionCreated
	case "Update":
		action = helpdesk.ActionUpdated
	case "Delete":
		action = helpdesk.ActionDeleted
	default:
		return "", "", false
	}
	entity, ok := map[string]helpdesk.Entity{
		"Ticket": helpdesk.EntityTickets, "Ticket_Comment": helpdesk.EntityNotes,
		"Contact": helpdesk.EntityContacts, "Account": helpdesk.EntityCompanies,
		"TimeEntry": helpdesk.EntityTimeEntries,
	}[eventType[:i]]
	return entity, action, ok
}
