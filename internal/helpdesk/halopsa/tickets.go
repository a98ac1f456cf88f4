package halopsa

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Tickets implements helpdesk.Provider: GET /Tickets ordered by id with
// lastupdatefromdate (second precision, UTC) and includedetails, so that
// list syncs carry descriptions. Records not updated strictly after
// q.Since are dropped client-side, so an inclusive server filter and the
// truncation to the second cost nothing. A listed ticket that still comes
// without details (an instance that ignores includedetails on lists) is
// read on its own: a listing never blanks a description. Status,
// priority, type and team names are resolved from the picklists.
func (c *Client) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	return c.tickets(ctx, q, true)
}

// tickets lists tickets; whole asks for details and names (TimeEntries
// needs neither).
func (c *Client) tickets(ctx context.Context, q helpdesk.Query, whole bool) iter.Seq2[[]helpdesk.Ticket, error] {
	v := url.Values{"order": {"id"}, "orderdesc": {"false"}}
	if whole {
		v.Set("includedetails", "true")
	}
	if !q.Since.IsZero() {
		v.Set("lastupdatefromdate", formatTime(q.Since.Truncate(time.Second)))
	}
	l := list{op: "list tickets", path: "/Tickets", key: "tickets", query: v, size: c.pageSize(q)}
	return func(yield func([]helpdesk.Ticket, error) bool) {
		for raws, err := range c.pages(ctx, l) {
			if err != nil {
				yield(nil, fmt.Errorf("halopsa: %s: %w", l.op, err))
				return
			}
			page, err := c.ticketPage(ctx, raws, q, whole)
			if err != nil {
				yield(nil, fmt.Errorf("halopsa: %s: %w", l.op, err))
				return
			}
			if len(page) > 0 && !yield(page, nil) {
				return
			}
		}
	}
}

// ticketPage converts a page of listed tickets: records that do not
// decode are reported to q.Skip and left out, tickets listed without
// details are read whole, names are resolved.
func (c *Client) ticketPage(ctx context.Context, raws []rawObject, q helpdesk.Query, whole bool) ([]helpdesk.Ticket, error) {
	out := make([]helpdesk.Ticket, 0, len(raws))
	for _, r := range raws {
		if oversized(q, helpdesk.EntityTickets, r) {
			continue
		}
		t, full, err := c.decodeTicket(r)
		if err != nil {
			skip(q, helpdesk.EntityTickets, r, err)
			continue
		}
		if !q.Since.IsZero() && !t.UpdatedAt.IsZero() && !t.UpdatedAt.After(q.Since) {
			continue
		}
		if whole && !full {
			if t, err = c.getTicket(ctx, "get ticket", t.ExternalID); err != nil {
				return nil, err
			}
		}
		out = append(out, t)
	}
	if whole {
		c.resolveNames(ctx, out)
	}
	return out, nil
}

// GetTicket implements helpdesk.Provider: GET /Tickets/{id}.
func (c *Client) GetTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	t, err := c.getTicket(ctx, "get ticket", id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("halopsa: get ticket %s: %w", id, err)
	}
	return t, nil
}

func (c *Client) getTicket(ctx context.Context, op, id string) (helpdesk.Ticket, error) {
	if _, err := intID(op, "ticket id", id); err != nil {
		return helpdesk.Ticket{}, err
	}
	var raw rawObject
	q := url.Values{"includedetails": {"true"}}
	if _, err := c.get(ctx, op, "/Tickets/"+id, q, &raw); err != nil {
		return helpdesk.Ticket{}, err
	}
	t, err := c.ticket(raw)
	if err != nil {
		return t, err
	}
	ts := []helpdesk.Ticket{t}
	c.resolveNames(ctx, ts)
	return ts[0], nil
}

// CreateTicket implements helpdesk.Provider: POST /Tickets with a
// one-item array and no id. The marker is the last line of details. The
// ticket is logged by the API application's agent: Halo has no per-request
// "act as" (MemberID is not used).
func (c *Client) CreateTicket(ctx context.Context, t helpdesk.NewTicket) (helpdesk.Ticket, error) {
	err := checkMarker("create ticket", t.Marker)
	item := map[string]any{"summary": t.Summary, "details": helpdesk.MarkText(t.Description, t.Marker)}
	if err == nil {
		err = setIDs(item, "create ticket", map[string]string{"client_id": t.CompanyID, "user_id": t.ContactID,
			"team_id": t.QueueID, "status_id": t.StatusID, "priority_id": t.PriorityID, "tickettype_id": t.TypeID})
	}
	if err == nil {
		var saved helpdesk.Ticket
		if saved, err = c.saveTicket(transport.Unrepeatable(ctx), "create ticket", item); err == nil {
			return saved, nil
		}
	}
	return helpdesk.Ticket{}, fmt.Errorf("halopsa: create ticket: %w", err)
}

// UpdateTicket implements helpdesk.Provider. Halo's POST /Tickets is an
// upsert, and an unknown id may create a ticket instead of failing, so the
// ticket is read first (ErrNotFound when missing), then only the changed
// fields (status_id, agent_id, priority_id, tickettype_id) are posted with
// its id. The change is the API application's agent's (MemberID is not
// used).
func (c *Client) UpdateTicket(ctx context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	cur, err := c.getTicket(ctx, "update ticket", id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("halopsa: update ticket %s: %w", id, err)
	}
	if u.StatusID == "" && u.AssigneeID == "" && u.PriorityID == "" && u.TypeID == "" {
		return cur, nil
	}
	item := map[string]any{}
	err = setIDs(item, "update ticket", map[string]string{"id": id, "status_id": u.StatusID, "agent_id": u.AssigneeID,
		"priority_id": u.PriorityID, "tickettype_id": u.TypeID})
	if err == nil {
		if cur, err = c.saveTicket(ctx, "update ticket", item); err == nil {
			return cur, nil
		}
	}
	return helpdesk.Ticket{}, fmt.Errorf("halopsa: update ticket %s: %w", id, err)
}

func (c *Client) saveTicket(ctx context.Context, op string, item map[string]any) (helpdesk.Ticket, error) {
	saved, err := c.post(ctx, op, "/Tickets", item)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	return c.ticket(saved[0])
}

// setIDs copies the non-empty IDs into item as JSON numbers (Halo's IDs
// are integers).
func setIDs(item map[string]any, op string, ids map[string]string) error {
	for field, s := range ids {
		if s == "" {
			continue
		}
		n, err := intID(op, field, s)
		if err != nil {
			return err
		}
		item[field] = n
	}
	return nil
}

// intID parses a Halo integer ID; a malformed one is ErrInvalid (Halo
// would answer 400 or 404 for it anyway).
func intID(op, field, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &helpdesk.Error{Provider: helpdesk.HaloPSA, Op: op, Kind: helpdesk.ErrInvalid,
			Message: fmt.Sprintf("%s %q is not a Halo id (a positive integer)", field, s)}
	}
	return n, nil
}
