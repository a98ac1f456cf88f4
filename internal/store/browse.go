package store

import (
	"context"
	"errors"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Cursor is a position in a newest-first list (sync runs, the callback
// log, the outbox): the time and ID of the last row of a page. The zero
// Cursor is the start of the list.
type Cursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether c is the start of the list.
func (c Cursor) IsZero() bool { return c.ID == 0 && c.At.IsZero() }

// OutboxFilter selects outbox items, the write-back log; zero fields
// select all.
type OutboxFilter struct {
	State string // pending, inflight, done or dead
	Kind  string
	// TicketID selects items whose JSON payload names the ticket in a
	// top-level "ticketId" string.
	TicketID string
	Before   Cursor // items after this one (by creation, newest first)
	Limit    int    // 0 means 100
}

// Browse is what the status pages and `reconciler trace` read beyond the
// audit trails' own methods.
type Browse interface {
	// TicketByNumber returns the stored ticket whose display number
	// (Autotask's ticketNumber, Zoho Desk's ticketNumber) is number;
	// ErrNotFound when none.
	TicketByNumber(ctx context.Context, s Scope, number string) (helpdesk.Ticket, error)
	// OutboxItems lists outbox items newest first (by creation, then
	// ID).
	OutboxItems(ctx context.Context, s Scope, f OutboxFilter) ([]OutboxItem, error)
}

// LookupTicket finds a stored ticket by its API id or, failing that, by
// the display number agents see; ErrNotFound when neither matches.
func LookupTicket(ctx context.Context, st Store, s Scope, idOrNumber string) (helpdesk.Ticket, error) {
	t, err := st.Ticket(ctx, s, idOrNumber)
	if !errors.Is(err, ErrNotFound) {
		return t, err
	}
	return st.TicketByNumber(ctx, s, idOrNumber)
}
