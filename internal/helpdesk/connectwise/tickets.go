package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Tickets implements helpdesk.Provider: GET /service/tickets with
// conditions=lastUpdated > [since].
func (c *Client) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	s := listSpec{op: "list tickets", path: "/service/tickets", since: q.Since, after: q.After, size: q.PageSize,
		entity: helpdesk.EntityTickets, skip: q.Skip}
	return stream(ctx, c, s, toTicket)
}

// GetTicket implements helpdesk.Provider.
func (c *Client) GetTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	n, err := parseID("ticket", id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("connectwise: get ticket: %w: %w", helpdesk.ErrNotFound, err)
	}
	raw, err := c.getObject(ctx, "get ticket", fmt.Sprintf("/service/tickets/%d", n))
	if err != nil {
		return helpdesk.Ticket{}, wrapErr(fmt.Sprintf("get ticket %d", n), err)
	}
	return ticketResult("get ticket", raw)
}

// ticketCreate is the body of POST /service/tickets.
type ticketCreate struct {
	Summary            string `json:"summary"`
	InitialDescription string `json:"initialDescription,omitempty"`
	Company            *idRef `json:"company,omitempty"`
	Contact            *idRef `json:"contact,omitempty"`
	Board              *idRef `json:"board,omitempty"`
	Status             *idRef `json:"status,omitempty"`
	Priority           *idRef `json:"priority,omitempty"`
	Type               *idRef `json:"type,omitempty"`
	// ExternalXRef carries the write marker: a plain string field that
	// conditions can select on [K], unlike initialDescription, which
	// becomes the first note.
	ExternalXRef string `json:"externalXRef,omitempty"`
}

// CreateTicket implements helpdesk.Provider with POST /service/tickets.
// Summary and CompanyID are required; a ticket without QueueID goes to
// the API member's default board. The marker goes in externalXRef. The
// ticket is entered by the API member whatever MemberID says: API keys
// cannot act as another member.
func (c *Client) CreateTicket(ctx context.Context, t helpdesk.NewTicket) (helpdesk.Ticket, error) {
	if t.Marker != "" {
		if err := helpdesk.CheckMarker(t.Marker); err != nil {
			return helpdesk.Ticket{}, fmt.Errorf("connectwise: create ticket: %w: %w", helpdesk.ErrInvalid, err)
		}
	}
	body := ticketCreate{Summary: t.Summary, InitialDescription: t.Description, ExternalXRef: t.Marker}
	refs := []struct {
		kind, id string
		dst      **idRef
	}{{"company", t.CompanyID, &body.Company}, {"contact", t.ContactID, &body.Contact},
		{"board", t.QueueID, &body.Board}, {"status", t.StatusID, &body.Status}, {"priority", t.PriorityID, &body.Priority},
		{"type", t.TypeID, &body.Type}}
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		n, err := parseID(r.kind, r.id)
		if err != nil {
			return helpdesk.Ticket{}, fmt.Errorf("connectwise: create ticket: %w: %w", helpdesk.ErrInvalid, err)
		}
		*r.dst = &idRef{ID: n}
	}
	var raw json.RawMessage
	if err := c.post(transport.Unrepeatable(ctx), "create ticket", "/service/tickets", body, &raw); err != nil {
		return helpdesk.Ticket{}, wrapErr("create ticket", err)
	}
	return ticketResult("create ticket", raw)
}

// patchOp is one JSON-Patch operation of a ConnectWise PATCH body.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// UpdateTicket implements helpdesk.Provider with a PATCH that replaces the
// status, owner, priority and type references whole [D]. An empty update
// reads the ticket. The change is made as the API member (MemberID is not
// used: API keys cannot act as another member).
func (c *Client) UpdateTicket(ctx context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	n, err := parseID("ticket", id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("connectwise: update ticket: %w: %w", helpdesk.ErrNotFound, err)
	}
	ops, err := ticketPatch(u)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("connectwise: update ticket %d: %w: %w", n, helpdesk.ErrInvalid, err)
	}
	if len(ops) == 0 {
		return c.GetTicket(ctx, id)
	}
	var raw json.RawMessage
	r := request{method: http.MethodPatch, path: fmt.Sprintf("/service/tickets/%d", n), body: ops}
	if _, err := c.call(ctx, "update ticket", r, &raw); err != nil {
		return helpdesk.Ticket{}, wrapErr(fmt.Sprintf("update ticket %d", n), err)
	}
	return ticketResult("update ticket", raw)
}

func ticketPatch(u helpdesk.TicketUpdate) ([]patchOp, error) {
	var ops []patchOp
	for _, f := range []struct{ path, kind, id string }{
		{"status", "status", u.StatusID}, {"owner", "member", u.AssigneeID},
		{"priority", "priority", u.PriorityID}, {"type", "type", u.TypeID},
	} {
		if f.id == "" {
			continue
		}
		n, err := parseID(f.kind, f.id)
		if err != nil {
			return nil, err
		}
		ops = append(ops, patchOp{Op: "replace", Path: f.path, Value: idRef{ID: n}})
	}
	return ops, nil
}

func ticketResult(op string, raw json.RawMessage) (helpdesk.Ticket, error) {
	t, err := toTicket(raw)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("connectwise: %s: %w", op, err)
	}
	return t, nil
}

// toTicket converts a service ticket.
func toTicket(raw json.RawMessage) (helpdesk.Ticket, error) {
	w, err := decode[ticketWire](raw)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("decode ticket: %w", err)
	}
	created := w.Info.DateEntered.Time
	if created.IsZero() {
		created = w.DateEntered.Time
	}
	return helpdesk.Ticket{
		ExternalID: idString(w.ID), Summary: w.Summary, Description: w.InitialDescription,
		Status: toRef(w.Status), Closed: w.ClosedFlag, Priority: toRef(w.Priority), Type: toRef(w.Type),
		Queue: toRef(w.Board), CompanyID: refID(w.Company), ContactID: refID(w.Contact),
		AssigneeID: refID(w.Owner), CreatedAt: created, UpdatedAt: w.Info.LastUpdated.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

func toRef(r *ref) helpdesk.Ref {
	if r == nil {
		return helpdesk.Ref{}
	}
	return helpdesk.Ref{ID: idString(r.ID), Name: r.Name}
}
