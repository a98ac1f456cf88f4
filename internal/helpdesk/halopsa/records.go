package halopsa

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// wireTicket is the part of a Halo ticket ("Faults") Horizon reads.
type wireTicket struct {
	ID           flexID   `json:"id"`
	Summary      string   `json:"summary"`
	Details      *string  `json:"details"`
	ClientID     flexID   `json:"client_id"`
	UserID       flexID   `json:"user_id"`
	TicketTypeID flexID   `json:"tickettype_id"`
	StatusID     flexID   `json:"status_id"`
	PriorityID   flexID   `json:"priority_id"`
	Team         string   `json:"team"`
	TeamID       flexID   `json:"team_id"`
	AgentID      flexID   `json:"agent_id"`
	DateOccurred flexTime `json:"dateoccurred"`
	LastUpdate   flexTime `json:"last_update"`
}

// ticket converts one raw ticket; an object without an id is an error.
func (c *Client) ticket(raw rawObject) (helpdesk.Ticket, error) {
	t, _, err := c.decodeTicket(raw)
	return t, err
}

// decodeTicket converts one raw ticket and says whether it carried its
// details (list pages may not): a ticket without them must not blank the
// description the store holds.
func (c *Client) decodeTicket(raw rawObject) (helpdesk.Ticket, bool, error) {
	var w wireTicket
	if err := raw.decode(&w); err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("decode ticket: %w", err)
	}
	if w.ID == "" {
		return helpdesk.Ticket{}, false, fmt.Errorf("decode ticket: no id")
	}
	details := ""
	if w.Details != nil {
		details = *w.Details
	}
	return helpdesk.Ticket{
		ExternalID:  string(w.ID),
		Summary:     w.Summary,
		Description: details,
		Status:      helpdesk.Ref{ID: string(w.StatusID)},
		Closed:      w.StatusID != "" && string(w.StatusID) == c.cfg.ClosedStatusID,
		Priority:    helpdesk.Ref{ID: string(w.PriorityID)},
		Type:        helpdesk.Ref{ID: string(w.TicketTypeID)},
		Queue:       helpdesk.Ref{ID: string(w.TeamID), Name: w.Team},
		CompanyID:   string(w.ClientID),
		ContactID:   string(w.UserID),
		AssigneeID:  string(w.AgentID),
		CreatedAt:   w.DateOccurred.Time(),
		UpdatedAt:   w.LastUpdate.Time(),
		Raw:         json.RawMessage(raw),
	}, w.Details != nil, nil
}

// wireAction is a Halo action: notes, emails and time are all actions.
type wireAction struct {
	ID             flexID    `json:"id"`
	TicketID       flexID    `json:"ticket_id"`
	Outcome        string    `json:"outcome"`
	WhoAgentID     flexID    `json:"who_agentid"`
	DateTime       flexTime  `json:"datetime"`
	DateCreated    flexTime  `json:"actiondatecreated"`
	Note           string    `json:"note"`
	NoteHTML       string    `json:"note_html"`
	TimeTaken      flexFloat `json:"timetaken"`
	ChargeHours    flexFloat `json:"actionchargehours"`
	NonChargeHours flexFloat `json:"actionnonchargehours"`
	Hidden         bool      `json:"hiddenfromuser"`
	ArrivalDate    flexTime  `json:"actionarrivaldate"`
}

func decodeAction(raw rawObject) (wireAction, error) {
	var w wireAction
	if err := raw.decode(&w); err != nil {
		return w, fmt.Errorf("decode action: %w", err)
	}
	if w.ID == "" {
		return w, fmt.Errorf("decode action: no id")
	}
	return w, nil
}

func (w wireAction) created() time.Time {
	if t := w.DateTime.Time(); !t.IsZero() {
		return t
	}
	return w.DateCreated.Time()
}

func (w wireAction) note(raw rawObject) helpdesk.Note {
	text := w.Note
	if text == "" {
		text = w.NoteHTML
	}
	return helpdesk.Note{ExternalID: string(w.ID), TicketID: string(w.TicketID), Text: text,
		Internal: w.Hidden, AuthorID: string(w.WhoAgentID), CreatedAt: w.created(), Raw: json.RawMessage(raw)}
}

func (w wireAction) timeEntry(raw rawObject) helpdesk.TimeEntry {
	start := w.ArrivalDate.Time()
	if start.IsZero() {
		start = w.created()
	}
	updated := w.DateCreated.Time()
	if updated.IsZero() {
		updated = w.created()
	}
	return helpdesk.TimeEntry{ExternalID: string(w.ID), TicketID: string(w.TicketID), MemberID: string(w.WhoAgentID),
		Start: start, Hours: float64(w.TimeTaken), Notes: w.Note, Billable: w.ChargeHours > 0,
		UpdatedAt: updated, Raw: json.RawMessage(raw)}
}

// wireClient is a Halo client (customer company).
type wireClient struct {
	ID       flexID `json:"id"`
	Name     string `json:"name"`
	Inactive bool   `json:"inactive"`
}

func company(raw rawObject) (helpdesk.Company, bool, error) {
	var w wireClient
	if err := raw.decode(&w); err != nil || w.ID == "" {
		return helpdesk.Company{}, false, fmt.Errorf("decode client: %w", orNoID(err))
	}
	return helpdesk.Company{ExternalID: string(w.ID), Name: w.Name, Active: !w.Inactive, Raw: json.RawMessage(raw)}, true, nil
}

// wireUser is a Halo end user (contact).
type wireUser struct {
	ID        flexID `json:"id"`
	Name      string `json:"name"`
	FirstName string `json:"firstname"`
	Surname   string `json:"surname"`
	Email     string `json:"emailaddress"`
	Phone     string `json:"phonenumber"`
	ClientID  flexID `json:"client_id"`
	Inactive  bool   `json:"inactive"`
}

func contact(raw rawObject) (helpdesk.Contact, bool, error) {
	var w wireUser
	if err := raw.decode(&w); err != nil || w.ID == "" {
		return helpdesk.Contact{}, false, fmt.Errorf("decode user: %w", orNoID(err))
	}
	first, last := w.FirstName, w.Surname
	if first == "" && last == "" {
		first, last, _ = strings.Cut(w.Name, " ")
	}
	return helpdesk.Contact{ExternalID: string(w.ID), CompanyID: string(w.ClientID), FirstName: first, LastName: last,
		Email: w.Email, Phone: w.Phone, Active: !w.Inactive, Raw: json.RawMessage(raw)}, true, nil
}

// wireAgent is a Halo agent (member).
type wireAgent struct {
	ID         flexID `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	IsDisabled bool   `json:"isdisabled"`
}

func (w wireAgent) member(raw rawObject) helpdesk.Member {
	return helpdesk.Member{ExternalID: string(w.ID), Name: w.Name, Email: w.Email, Active: !w.IsDisabled,
		Raw: json.RawMessage(raw)}
}

func member(raw rawObject) (helpdesk.Member, bool, error) {
	var w wireAgent
	if err := raw.decode(&w); err != nil || w.ID == "" {
		return helpdesk.Member{}, false, fmt.Errorf("decode agent: %w", orNoID(err))
	}
	return w.member(raw), true, nil
}

// wireValue is a picklist entry: status, ticket type, team or priority
// (priorities may carry their id as priorityid).
type wireValue struct {
	ID         flexID    `json:"id"`
	PriorityID flexID    `json:"priorityid"`
	Name       string    `json:"name"`
	Sequence   flexFloat `json:"sequence"`
	Inactive   bool      `json:"inactive"`
}

func (w wireValue) value() helpdesk.PicklistValue {
	id := w.ID
	if w.PriorityID != "" {
		id = w.PriorityID
	}
	return helpdesk.PicklistValue{ID: string(id), Name: w.Name, Active: !w.Inactive, Sort: int(w.Sequence)}
}

func orNoID(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no id")
}
