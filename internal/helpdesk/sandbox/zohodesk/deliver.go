package zohodesk

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/horizon/reconciler/internal/helpdesk/sandbox"
)

// eventType maps a World change to Zoho's eventType ("" when Zoho has no
// such event).
func eventType(c sandbox.Change) string {
	kind := map[string]string{sandbox.KindTicket: "Ticket", sandbox.KindNote: "Ticket_Comment",
		sandbox.KindTimeEntry: "TimeEntry", sandbox.KindContact: "Contact", sandbox.KindCompany: "Account",
		sandbox.KindMember: "Agent"}[c.Kind]
	action := map[string]string{sandbox.Created: "Add", sandbox.Updated: "Update", sandbox.Deleted: "Delete"}[c.Action]
	if kind == "" || action == "" {
		return ""
	}
	return kind + "_" + action
}

// onChange turns a World change into deliveries to every enabled,
// subscribed webhook, except echoes: changes made through the API with a
// source id equal to the webhook's ignoreSourceId.
func (e *Emulator) onChange(c sandbox.Change) {
	et := eventType(c)
	if et == "" {
		return
	}
	payload, dept, ok := e.payload(c)
	if !ok {
		return
	}
	for _, h := range e.Webhooks() {
		if e.wants(h, c, et, dept) {
			e.send(h, et, c, payload)
		}
	}
}

func (e *Emulator) wants(h Webhook, c sandbox.Change, et string, dept int64) bool {
	sub, ok := h.Subscriptions[et]
	switch {
	case !h.Enabled || !ok:
		return false
	case c.ViaAPI && c.Source != "" && c.Source == h.IgnoreSourceID:
		return false
	case c.Actor == 0 && !slices.Contains(h.IncludeEventsFrom, "AUTOMATION"):
		return false
	}
	var opts struct {
		DepartmentIDs []string `json:"departmentIds"`
	}
	if json.Unmarshal(sub, &opts) == nil && len(opts.DepartmentIDs) > 0 && dept != 0 {
		return slices.Contains(opts.DepartmentIDs, WireID(dept))
	}
	return true
}

// payload renders the changed record as the GET API would, and its
// department for departmentIds filters.
func (e *Emulator) payload(c sandbox.Change) (map[string]any, int64, bool) {
	l := e.lookups()
	switch c.Kind {
	case sandbox.KindTicket:
		t, ok := e.world.Ticket(c.ID)
		if !ok || (t.Deleted && c.Action != sandbox.Deleted) {
			return nil, 0, false
		}
		if c.Action == sandbox.Deleted {
			return map[string]any{"id": WireID(t.ID), "departmentId": WireID(t.QueueID), "isTrashed": true}, t.QueueID, true
		}
		return e.renderTicket(t, l), t.QueueID, true
	case sandbox.KindNote:
		return e.notePayload(c, l)
	case sandbox.KindTimeEntry:
		t, _ := e.world.Ticket(c.TicketID)
		te, ok := e.world.TimeEntry(c.ID)
		if !ok {
			return nil, 0, false
		}
		return e.renderTimeEntry(te, t, l, false), t.QueueID, true
	case sandbox.KindContact:
		k, ok := l.contacts[c.ID]
		return renderContact(k, l), 0, ok
	case sandbox.KindCompany:
		k, ok := l.companies[c.ID]
		return renderAccount(k), 0, ok
	case sandbox.KindMember:
		m, ok := l.members[c.ID]
		return renderAgent(m, nil), 0, ok
	}
	return nil, 0, false
}

// notePayload renders a comment with its ticketId [INF: the comment GET
// shape has no ticketId; a webhook receiver needs it].
func (e *Emulator) notePayload(c sandbox.Change, l *lookups) (map[string]any, int64, bool) {
	for _, n := range e.world.Notes(c.TicketID) {
		if n.ID == c.ID {
			p := renderComment(n, l)
			p["ticketId"] = WireID(c.TicketID)
			t, _ := e.world.Ticket(c.TicketID)
			return p, t.QueueID, true
		}
	}
	return nil, 0, false
}

func (e *Emulator) send(h Webhook, et string, c sandbox.Change, payload map[string]any) {
	body, _ := json.Marshal([]map[string]any{{
		"eventType": et, "orgId": e.opt.OrgID, "eventTime": strconv.FormatInt(c.At.UnixMilli(), 10), "payload": payload,
	}})
	id := h.ID
	e.deliver.Send(sandbox.Delivery{
		URL: h.URL, Header: http.Header{"Content-Type": {"application/json"}}, Body: body,
		Policy: sandbox.RetryPolicy{Timeout: e.opt.HandshakeTimeout, Delays: e.opt.WebhookRetryDelays,
			RetryOn: func(status int, _ error) bool { return status != http.StatusGone }},
		OnResult: func(status int, _ error) {
			if status == http.StatusGone {
				e.hooks.remove(id)
			}
		},
	})
}
