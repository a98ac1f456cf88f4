package zohodesk

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Tickets implements helpdesk.Provider: GET /tickets/search with
// modifiedTimeRange=(since, now+1d] sorted by -modifiedTime (GET /tickets
// has no time filter and may omit modifiedTime). Search indexing lags
// writes by seconds to minutes; the syncer's overlap window covers that.
func (c *Client) Tickets(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Ticket, error] {
	w := c.newWindow("list tickets", "/tickets/search", q.Since, clampPage(q.PageSize, ticketPage))
	return c.withDepartments(ctx, convertPages(w.pages(ctx), "list tickets", skipper(q, helpdesk.EntityTickets), parseTicket))
}

// Contacts implements helpdesk.Provider over GET /contacts/search with the
// same window as Tickets [INF: contacts search takes modifiedTimeRange
// and sortBy=-modifiedTime like tickets search].
func (c *Client) Contacts(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Contact, error] {
	w := c.newWindow("list contacts", "/contacts/search", q.Since, clampPage(q.PageSize, contactPage))
	return convertPages(w.pages(ctx), "list contacts", skipper(q, helpdesk.EntityContacts), parseContact)
}

// Companies implements helpdesk.Provider over GET /accounts/search, as
// Contacts.
func (c *Client) Companies(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Company, error] {
	w := c.newWindow("list companies", "/accounts/search", q.Since, clampPage(q.PageSize, contactPage))
	return convertPages(w.pages(ctx), "list companies", skipper(q, helpdesk.EntityCompanies), parseAccount)
}

// GetTicket implements helpdesk.Provider: GET /tickets/{id}.
func (c *Client) GetTicket(ctx context.Context, id string) (helpdesk.Ticket, error) {
	const op = "get ticket"
	if err := numericID(op, id); err != nil {
		return helpdesk.Ticket{}, err
	}
	return c.ticketCall(ctx, request{op: op, method: http.MethodGet, path: "/tickets/" + id})
}

// CreateTicket implements helpdesk.Provider: POST /tickets. QueueID is the
// departmentId (required by Zoho); StatusID, PriorityID and TypeID are the
// status, priority and classification names (Zoho has no ids for them).
// Without a ContactID Zoho finds or creates a contact named "Horizon". The
// marker is the description's last line; the ticket is created by the
// token's agent (Zoho cannot act as another agent: MemberID is not used).
func (c *Client) CreateTicket(ctx context.Context, t helpdesk.NewTicket) (helpdesk.Ticket, error) {
	const op = "create ticket"
	if err := checkMarker(op, t.Marker); err != nil {
		return helpdesk.Ticket{}, err
	}
	body := map[string]any{"subject": t.Summary, "departmentId": t.QueueID}
	if d := helpdesk.MarkText(t.Description, t.Marker); d != "" {
		body["description"] = d
	}
	if t.ContactID != "" {
		body["contactId"] = t.ContactID
	} else {
		body["contact"] = map[string]string{"lastName": "Horizon"}
	}
	if t.StatusID != "" {
		body["status"] = t.StatusID
	}
	if t.PriorityID != "" {
		body["priority"] = t.PriorityID
	}
	if t.TypeID != "" {
		body["classification"] = t.TypeID
	}
	return c.ticketCall(transport.Unrepeatable(ctx), request{op: op, method: http.MethodPost, path: "/tickets", body: body})
}

// UpdateTicket implements helpdesk.Provider: PATCH /tickets/{id} with the
// status, priority and classification (by name) and the assigneeId; Zoho
// answers with the whole ticket as it now is. An empty update reads the
// ticket. The change is the token's agent's (MemberID is not used).
func (c *Client) UpdateTicket(ctx context.Context, id string, u helpdesk.TicketUpdate) (helpdesk.Ticket, error) {
	const op = "update ticket"
	if err := numericID(op, id); err != nil {
		return helpdesk.Ticket{}, err
	}
	body := map[string]any{}
	if u.StatusID != "" {
		body["status"] = u.StatusID
	}
	if u.AssigneeID != "" {
		body["assigneeId"] = u.AssigneeID
	}
	if u.PriorityID != "" {
		body["priority"] = u.PriorityID
	}
	if u.TypeID != "" {
		body["classification"] = u.TypeID
	}
	if len(body) == 0 {
		return c.GetTicket(ctx, id)
	}
	return c.ticketCall(ctx, request{op: op, method: http.MethodPatch, path: "/tickets/" + id, body: body})
}

func (c *Client) ticketCall(ctx context.Context, r request) (helpdesk.Ticket, error) {
	var raw json.RawMessage
	resp, err := c.call(ctx, r, &raw)
	if err != nil {
		return helpdesk.Ticket{}, err
	}
	if resp.Status == http.StatusNoContent {
		return helpdesk.Ticket{}, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: r.op, Kind: helpdesk.ErrNotFound, Status: resp.Status}
	}
	if len(raw) == 0 {
		// a 200 without a body is a broken answer: "not found" would
		// read as a deleted ticket
		return helpdesk.Ticket{}, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: r.op, Kind: helpdesk.ErrTransient,
			Status: resp.Status, Message: "the answer has an empty body where a ticket is due"}
	}
	t, err := parseTicket(raw)
	if err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("zohodesk: %s: %w", r.op, err)
	}
	ts := []helpdesk.Ticket{t}
	c.nameDepartments(ctx, ts)
	return ts[0], nil
}

// parseTicket maps a Zoho ticket to helpdesk.Ticket. Status, priority and
// type (classification) are referred to by name: Zoho has no ids for them.
func parseTicket(raw json.RawMessage) (helpdesk.Ticket, error) {
	var w wireTicket
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Ticket{}, fmt.Errorf("decode ticket: %w", err)
	}
	if w.ID == "" {
		return helpdesk.Ticket{}, fmt.Errorf("decode ticket: no id")
	}
	t := helpdesk.Ticket{
		ExternalID: string(w.ID), Number: string(w.TicketNumber), Summary: w.Subject,
		Description: str(w.Description),
		Status:      nameRef(w.Status), Closed: strings.EqualFold(w.StatusType, "Closed"),
		Priority: nameRef(str(w.Priority)), Type: nameRef(str(w.Classification)),
		Queue:     helpdesk.Ref{ID: string(w.DepartmentID)},
		CompanyID: string(w.AccountID), ContactID: string(w.ContactID), AssigneeID: string(w.AssigneeID),
		CreatedAt: w.CreatedTime.Time, UpdatedAt: w.ModifiedTime.Time, Deleted: bool(w.IsTrashed),
		Raw: append(json.RawMessage(nil), raw...),
	}
	if w.Department != nil {
		t.Queue.Name = w.Department.Name
	}
	return t, nil
}

func nameRef(name string) helpdesk.Ref {
	if name == "" {
		return helpdesk.Ref{}
	}
	return helpdesk.Ref{ID: name, Name: name}
}

func parseContact(raw json.RawMessage) (helpdesk.Contact, error) {
	var w wireContact
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Contact{}, fmt.Errorf("decode contact: %w", err)
	}
	return helpdesk.Contact{
		ExternalID: string(w.ID), CompanyID: string(w.AccountID),
		FirstName: str(w.FirstName), LastName: str(w.LastName), Email: str(w.Email), Phone: str(w.Phone),
		Active: !bool(w.IsDeleted) && !bool(w.IsTrashed), UpdatedAt: w.ModifiedTime.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

func parseAccount(raw json.RawMessage) (helpdesk.Company, error) {
	var w wireAccount
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Company{}, fmt.Errorf("decode account: %w", err)
	}
	return helpdesk.Company{
		ExternalID: string(w.ID), Name: w.AccountName,
		Active: !bool(w.IsDeleted) && !bool(w.IsTrashed), UpdatedAt: w.ModifiedTime.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}, nil
}
