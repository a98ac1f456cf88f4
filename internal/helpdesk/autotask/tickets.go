package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// statusComplete is the system "Complete" status value [K]; the only
// status the client treats as closed.
const statusComplete = 5

// Ticket operations' metric labels.
const (
	opTicketsQuery  = "tickets.query"
	opTicketsGet    = "tickets.get"
	opTicketsCreate = "tickets.create"
	opTicketsUpdate = "tickets.update"
)

// ticketWire is a Tickets entity [K] (camelCase keys; the client reads
// them case-insensitively).
type ticketWire struct {
	ID                 flexInt `json:"id"`
	TicketNumber       string  `json:"ticketNumber"`
	Title              string  `json:"title"`
	Description        string  `json:"description"`
	Status             flexInt `json:"status"`
	Priority           flexInt `json:"priority"`
	QueueID            flexInt `json:"queueID"`
	TicketType         flexInt `json:"ticketType"`
	CompanyID          flexInt `json:"companyID"`
	ContactID          flexInt `json:"contactID"`
	AssignedResourceID flexInt `json:"assignedResourceID"`
	CreateDate         atTime  `json:"createDate"`
	LastActivityDate   atTime  `json:"lastActivityDate"`
}

func decodeTicket(raw json.RawMessage) (helpdesk.Ticket, int64, error) {
	var w ticketWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Ticket{}, 0, fmt.Errorf("ticket: %w", err)
	}
	if !w.ID.Valid {
		return helpdesk.Ticket{}, 0, fmt.Errorf("ticket without id")
	}
	return helpdesk.Ticket{
		ExternalID: w.ID.String(), Number: w.TicketNumber, Summary: w.Title, Description: w.Description,
		Status: ref(w.Status), Closed: w.Status.Valid && w.Status.V == statusComplete,
		Priority: ref(w.Priority), Type: ref(w.TicketType), Queue: ref(w.QueueID),
		CompanyID: w.CompanyID.String(), ContactID: w.ContactID.String(), AssigneeID: w.AssignedResourceID.String(),
		CreatedAt: w.CreateDate.Time, UpdatedAt: w.LastActivityDate.Time, Raw: raw,
	}, w.ID.V, nil
}

// ref is a picklist reference: Autotask entities carry the value only,
// labels come from Picklists.
func ref(v flexInt) helpdesk.Ref { return helpdesk.Ref{ID: v.String()} }

// Tickets implements helpdesk.Provider: POST /Tickets/query with
// lastActivityDate > q.Since [K].
func (c *Client) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	body, err := listQuery(since("lastActivityDate", q.Since), q)
	if err != nil {
		return failed[helpdesk.Ticket]("Tickets", err)
	}
	return func(yield func([]helpdesk.Ticket, error) bool) {
		for page, err := range stream(c, ctx, opTicketsQuery, "Tickets", body, decodeTicket, q.Skip) {
			if err == nil {
				if err = c.nameTickets(ctx, page); err != nil {
					err = fmt.Errorf("autotask: list Tickets: %w", err)
				}
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) {
				return
			}
		}
	}
}

// GetTicket implements helpdesk.Provider: GET /Tickets/{id}; a missing id
// answers 200 {"item":null} [K], returned as ErrNotFound.
func (c *Client) GetTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	n, err := parseID(id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: get ticket: %w", notFound(opTicketsGet, err))
	}
	var raw json.RawMessage
	if err := c.getItem(ctx, opTicketsGet, "Tickets/"+idString(n), &raw); err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: get ticket %d: %w", n, err)
	}
	t, _, err := decodeTicket(raw)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: get ticket %d: %w", n, wireError(opTicketsGet, err))
	}
	ts := []helpdesk.Ticket{t}
	if err := c.nameTickets(ctx, ts); err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: get ticket %d: %w", n, err)
	}
	return ts[0], nil
}

// notFound reports an ID Autotask cannot hold (not a positive integer).
func notFound(op string, err error) error {
	return &helpdesk.Error{Provider: helpdesk.Autotask, Op: op, Kind: helpdesk.ErrNotFound, Err: err}
}

// ticketCreate is the POST /Tickets body. companyID, title, status,
// priority and dueDateTime are required [K].
type ticketCreate struct {
	CompanyID   int64  `json:"companyID"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Status      int64  `json:"status"`
	Priority    int64  `json:"priority"`
	QueueID     *int64 `json:"queueID,omitempty"`
	ContactID   *int64 `json:"contactID,omitempty"`
	TicketType  *int64 `json:"ticketType,omitempty"`
	DueDateTime string `json:"dueDateTime"`
	// ExternalID carries the write marker: a queryable string of up to 50
	// characters [K] that FindTicket selects on.
	ExternalID string `json:"externalID,omitempty"`
}

// CreateTicket implements helpdesk.Provider: POST /Tickets answers
// {"itemId":N} [K], then the ticket is read back. Status and priority
// default to the picklists' default values; the due date to a day ahead.
// The marker goes in externalID; MemberID is impersonated, so the ticket
// shows as created by that resource.
func (c *Client) CreateTicket(ctx context.Context, nt helpdesk.NewTicket) (helpdesk.Ticket, error) {
	if err := checkMarker(opTicketsCreate, nt.Marker); err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: create ticket: %w", err)
	}
	body, err := c.ticketCreateBody(ctx, nt)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: create ticket: %w", err)
	}
	wctx, err := actingAs(ctx, opTicketsCreate, nt.MemberID)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: create ticket: %w", err)
	}
	id, err := c.write(transport.Unrepeatable(wctx), opTicketsCreate, http.MethodPost, "Tickets", body)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: create ticket: %w", err)
	}
	return c.GetTicket(ctx, idString(id))
}

func (c *Client) ticketCreateBody(ctx context.Context, nt helpdesk.NewTicket) (ticketCreate, error) {
	company, err := requiredID(opTicketsCreate, "companyId", nt.CompanyID)
	if err != nil {
		return ticketCreate{}, err
	}
	b := ticketCreate{CompanyID: company, Title: nt.Summary, Description: nt.Description,
		DueDateTime: formatTime(time.Now().Add(24 * time.Hour)), ExternalID: nt.Marker}
	if b.TicketType, err = optionalID(opTicketsCreate, "typeId", nt.TypeID); err != nil {
		return b, err
	}
	if b.Status, err = c.valueOrDefault(ctx, "status", nt.StatusID); err != nil {
		return b, err
	}
	if b.Priority, err = c.valueOrDefault(ctx, "priority", nt.PriorityID); err != nil {
		return b, err
	}
	if b.QueueID, err = optionalID(opTicketsCreate, "queueId", nt.QueueID); err != nil {
		return b, err
	}
	b.ContactID, err = optionalID(opTicketsCreate, "contactId", nt.ContactID)
	return b, err
}

// requiredID parses an ID the caller must give.
func requiredID(op, name, v string) (int64, error) {
	n, err := parseID(v)
	if err != nil {
		return 0, &helpdesk.Error{Provider: helpdesk.Autotask, Op: op, Kind: helpdesk.ErrInvalid,
			Message: name + " must be an Autotask id", Err: err}
	}
	return n, nil
}

// optionalID parses an ID that may be empty.
func optionalID(op, name, v string) (*int64, error) {
	if v == "" {
		return nil, nil
	}
	n, err := requiredID(op, name, v)
	return &n, err
}

// ticketPatch is the PATCH /Tickets body: the id plus changed fields only
// [D][K]. An assignee is sent with a role: Autotask refuses one without
// the other [K].
type ticketPatch struct {
	ID                     int64  `json:"id"`
	Status                 *int64 `json:"status,omitempty"`
	Priority               *int64 `json:"priority,omitempty"`
	TicketType             *int64 `json:"ticketType,omitempty"`
	AssignedResourceID     *int64 `json:"assignedResourceID,omitempty"`
	AssignedResourceRoleID *int64 `json:"assignedResourceRoleID,omitempty"`
}

// UpdateTicket implements helpdesk.Provider: PATCH /Tickets with the id in
// the body answers {"itemId":N} [D][K]; the ticket is then read back.
// MemberID is impersonated: the change shows as that resource's.
func (c *Client) UpdateTicket(ctx context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	n, err := parseID(id)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: update ticket: %w", notFound(opTicketsUpdate, err))
	}
	patch, err := c.ticketPatch(ctx, n, u)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: update ticket %d: %w", n, err)
	}
	wctx, err := actingAs(ctx, opTicketsUpdate, u.MemberID)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("autotask: update ticket %d: %w", n, err)
	}
	if patch.Status != nil || patch.AssignedResourceID != nil || patch.Priority != nil || patch.TicketType != nil {
		if _, err := c.write(wctx, opTicketsUpdate, http.MethodPatch, "Tickets", patch); err != nil {
			return helpdesk.Ticket{}, fmt.Errorf("autotask: update ticket %d: %w", n, err)
		}
	}
	return c.GetTicket(ctx, id)
}

func (c *Client) ticketPatch(ctx context.Context, id int64, u helpdesk.TicketUpdate) (ticketPatch, error) {
	p := ticketPatch{ID: id}
	var err error
	if p.Status, err = optionalID(opTicketsUpdate, "statusId", u.StatusID); err != nil {
		return p, err
	}
	if p.Priority, err = optionalID(opTicketsUpdate, "priorityId", u.PriorityID); err != nil {
		return p, err
	}
	if p.TicketType, err = optionalID(opTicketsUpdate, "typeId", u.TypeID); err != nil {
		return p, err
	}
	if p.AssignedResourceID, err = optionalID(opTicketsUpdate, "assigneeId", u.AssigneeID); err != nil || p.AssignedResourceID == nil {
		return p, err
	}
	res, err := c.resource(ctx, *p.AssignedResourceID)
	if err != nil {
		return p, err
	}
	if res.DefaultServiceDeskRoleID.Valid {
		role := res.DefaultServiceDeskRoleID.V
		p.AssignedResourceRoleID = &role
	}
	return p, nil
}
