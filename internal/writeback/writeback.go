// Package writeback is the write half of the integration: it turns a
// request from Horizon (the HTTP API or the CLI) into a write in the
// outbox, durably and before it is acknowledged, and delivers outbox
// writes to the PSA on the account's leader: in order per ticket,
// concurrently across tickets, through the same rate-limited client as
// sync, attributed to the author's mapped helpdesk member.
//
// No PSA accepts idempotency keys, so every create carries a marker. A
// write whose outcome is unknown (the connection dropped after the
// request went out, a timeout, a crash before the answer was recorded)
// is looked up by its marker before it is sent again; a PSA that cannot
// be searched leaves it "unknown" for an admin rather than risk a
// duplicate. On success the store takes the PSA's answer at once.
package writeback

import (
	"errors"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/store"
)

// Request is one write Horizon asks for. Exactly the part matching Op is
// read.
type Request struct {
	Op string
	// TicketID is the ticket written to; empty for a create.
	TicketID string
	// Author is the Horizon user the write is made for (an email).
	Author string
	// IdempotencyKey makes a repeated request return the first write;
	// empty: a new key.
	IdempotencyKey string

	Create *CreateTicket
	Update *UpdateTicket
	Note   *AddNote
	Time   *AddTime
}

// CreateTicket is a ticket to create. Empty fields take writeback.defaults;
// picklist fields are names as the PSA shows them, or IDs.
type CreateTicket struct {
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
	Company     string `json:"company,omitempty"`
	Contact     string `json:"contact,omitempty"`
	Queue       string `json:"queue,omitempty"`
	Type        string `json:"type,omitempty"`
	Priority    string `json:"priority,omitempty"`
	Status      string `json:"status,omitempty"`
}

// UpdateTicket changes a ticket; empty fields are left alone. Status,
// priority and type are names (resolved on the ticket's board) or IDs;
// Assignee is a Horizon user.
type UpdateTicket struct {
	Status   string `json:"status,omitempty"`
	Assignee string `json:"assignee,omitempty"`
	Priority string `json:"priority,omitempty"`
	Type     string `json:"type,omitempty"`
}

// AddNote is a note to add to a ticket.
type AddNote struct {
	Text     string `json:"text"`
	Internal bool   `json:"internal"`
}

// AddTime is time to log against a ticket for the author.
type AddTime struct {
	Hours float64 `json:"hours"`
	// Start is when the work started; zero: now.
	Start    time.Time `json:"start,omitzero"`
	Notes    string    `json:"notes,omitempty"`
	Billable bool      `json:"billable"`
}

// Ops lists the write operations.
var Ops = []string{store.OpCreateTicket, store.OpUpdateTicket, store.OpAddNote, store.OpAddTime}

// Errors callers branch on (the API maps them to statuses, the CLI to
// exit codes).
var (
	// ErrDisabled: writeback.enabled is false or the file has no
	// writeback section.
	ErrDisabled = errors.New("write-back is disabled: set writeback.enabled: true in horizon.yaml to accept writes")
	// ErrUnmapped: the author has no user mapping and unmappedAuthor is
	// refuse.
	ErrUnmapped = errors.New("no helpdesk user is mapped to this Horizon user")
	// ErrUnknownTicket: the ticket is not in Horizon's store.
	ErrUnknownTicket = errors.New("ticket not found")
)

// InvalidError is a request Horizon refuses before it reaches the outbox:
// Field names what is wrong (as the API's JSON names it).
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// UnmappedError is ErrUnmapped for one user.
type UnmappedError struct {
	Field string // author, or assignee
	User  string
}

func (e *UnmappedError) Error() string {
	return fmt.Sprintf("%s: %s: %v; map it under userMappings in horizon.yaml", e.Field, e.User, ErrUnmapped)
}

// Unwrap makes errors.Is(err, ErrUnmapped) hold.
func (e *UnmappedError) Unwrap() error { return ErrUnmapped }
