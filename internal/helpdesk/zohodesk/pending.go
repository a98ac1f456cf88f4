package zohodesk

import (
	"context"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// The marker look-ups and the API user are not implemented yet for this
// provider: they report ErrUnsupported, which callers treat as "cannot
// tell" (never as "absent").

// FindTicket implements helpdesk.Provider.
func (c *Client) FindTicket(ctx context.Context, marker string, since time.Time) (helpdesk.Ticket, bool, error) {
	return helpdesk.Ticket{}, false, fmt.Errorf("zohodesk: find ticket: %w", helpdesk.ErrUnsupported)
}

// FindNote implements helpdesk.Provider.
func (c *Client) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	return helpdesk.Note{}, false, fmt.Errorf("zohodesk: find note: %w", helpdesk.ErrUnsupported)
}

// FindTimeEntry implements helpdesk.Provider.
func (c *Client) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	return helpdesk.TimeEntry{}, false, fmt.Errorf("zohodesk: find time entry: %w", helpdesk.ErrUnsupported)
}

// APIUser implements helpdesk.Provider.
func (c *Client) APIUser(ctx context.Context) (helpdesk.Member, error) {
	return helpdesk.Member{}, fmt.Errorf("zohodesk: api user: %w", helpdesk.ErrUnsupported)
}
