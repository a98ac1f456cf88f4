package halopsa

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// checkMarker refuses a marker that could not be stored and found again.
func checkMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.HaloPSA, op, marker, false)
}

// findMarker refuses an empty or malformed marker: it can match nothing.
func findMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.HaloPSA, op, marker, true)
}

// FindTicket implements helpdesk.Provider: GET /Tickets updated since
// (less helpdesk.FindSkew; a ticket created since was last updated since too),
// newest first, with includedetails=true, searched for the marker line in
// details. Halo's free-text search is not used: what it matches is not
// documented.
func (c *Client) FindTicket(ctx context.Context, marker string, since time.Time) (helpdesk.Ticket, bool, error) {
	const op = "find ticket"
	if err := findMarker(op, marker); err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("halopsa: %s: %w", op, err)
	}
	v := url.Values{"order": {"id"}, "orderdesc": {"true"}, "includedetails": {"true"}}
	if !since.IsZero() {
		v.Set("lastupdatefromdate", formatTime(since.Add(-helpdesk.FindSkew).Truncate(time.Second)))
	}
	l := list{op: op, path: "/Tickets", key: "tickets", query: v, size: c.cfg.MaxPageSize}
	for page, err := range c.pages(ctx, l) {
		if err != nil {
			return helpdesk.Ticket{}, false, fmt.Errorf("halopsa: %s: %w", op, err)
		}
		for _, raw := range page {
			t, err := c.ticket(raw)
			if err != nil {
				return helpdesk.Ticket{}, false, fmt.Errorf("halopsa: %s: %w", op, err)
			}
			if helpdesk.HasMarker(t.Description, marker) {
				return t, true, nil
			}
		}
	}
	return helpdesk.Ticket{}, false, nil
}

// FindNote implements helpdesk.Provider: the ticket's actions, searched
// for the marker line in their note.
func (c *Client) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	if err := findMarker("find note", marker); err != nil {
		return helpdesk.Note{}, false, fmt.Errorf("halopsa: find note: %w", err)
	}
	notes, err := c.Notes(ctx, ticketID)
	if err != nil {
		return helpdesk.Note{}, false, err
	}
	for _, n := range notes {
		if helpdesk.HasMarker(n.Text, marker) {
			return n, true, nil
		}
	}
	return helpdesk.Note{}, false, nil
}

// FindTimeEntry implements helpdesk.Provider: the ticket's actions with
// time taken, searched for the marker line in their note.
func (c *Client) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	const op = "find time entry"
	if err := findMarker(op, marker); err != nil {
		return helpdesk.TimeEntry{}, false, fmt.Errorf("halopsa: %s: %w", op, err)
	}
	raws, err := c.actions(ctx, op, ticketID)
	if err != nil {
		return helpdesk.TimeEntry{}, false, fmt.Errorf("halopsa: %s on ticket %s: %w", op, ticketID, err)
	}
	for _, r := range raws {
		a, err := decodeAction(r)
		if err != nil {
			return helpdesk.TimeEntry{}, false, fmt.Errorf("halopsa: %s on ticket %s: %w", op, ticketID, err)
		}
		if a.TimeTaken > 0 && helpdesk.HasMarker(a.Note, marker) {
			if a.TicketID == "" {
				a.TicketID = flexID(ticketID)
			}
			return a.timeEntry(r), true, nil
		}
	}
	return helpdesk.TimeEntry{}, false, nil
}
