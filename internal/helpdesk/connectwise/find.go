package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// FindTicket implements helpdesk.Provider: GET /service/tickets with
// conditions=externalXRef="marker" (externalXRef is queryable [K]). The
// marker is unique to one write, so since is not needed to narrow the
// read. Every answer is checked against the marker again, so a server
// that ignored the condition cannot make a wrong ticket look found.
func (c *Client) FindTicket(ctx context.Context, marker string, _ time.Time) (helpdesk.Ticket, bool, error) {
	const op = "find ticket"
	if err := helpdesk.CheckMarker(marker); err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("connectwise: %s: %w: %w", op, helpdesk.ErrInvalid, err)
	}
	s := listSpec{op: op, path: "/service/tickets", conds: []string{`externalXRef="` + marker + `"`}}
	for page, err := range stream(ctx, c, s, toTicket) {
		if err != nil {
			return helpdesk.Ticket{}, false, err
		}
		for _, t := range page {
			var x struct {
				ExternalXRef string `json:"externalXRef"`
			}
			if json.Unmarshal(t.Raw, &x) == nil && x.ExternalXRef == marker {
				return t, true, nil
			}
		}
	}
	return helpdesk.Ticket{}, false, nil
}

// FindNote implements helpdesk.Provider: the ticket's notes (one page of
// up to 1,000 in practice), searched for the marker line. Conditions on a
// note's text are not documented, so the client does not rely on them. A
// missing ticket is an error (ErrNotFound), never "absent".
func (c *Client) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	const op = "find note"
	n, err := findArgs(op, ticketID, marker)
	if err != nil {
		return helpdesk.Note{}, false, err
	}
	s := listSpec{op: op, path: fmt.Sprintf("/service/tickets/%d/notes", n)}
	for page, err := range stream(ctx, c, s, toNote) {
		if err != nil {
			return helpdesk.Note{}, false, wrapErr(fmt.Sprintf("find note on ticket %d", n), err)
		}
		for _, note := range page {
			if helpdesk.HasMarker(note.Text, marker) {
				if note.TicketID == "" {
					note.TicketID = idString(n)
				}
				return note, true, nil
			}
		}
	}
	return helpdesk.Note{}, false, nil
}

// FindTimeEntry implements helpdesk.Provider: GET /time/entries with the
// documented conditions chargeToType="ServiceTicket" AND chargeToId=N
// [K], searched for the marker line in their notes.
func (c *Client) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	const op = "find time entry"
	n, err := findArgs(op, ticketID, marker)
	if err != nil {
		return helpdesk.TimeEntry{}, false, err
	}
	s := listSpec{op: op, path: "/time/entries", conds: []string{
		`chargeToType="` + chargeServiceTicket + `"`, fmt.Sprintf("chargeToId=%d", n)}}
	for page, err := range stream(ctx, c, s, toTimeEntry) {
		if err != nil {
			return helpdesk.TimeEntry{}, false, wrapErr(fmt.Sprintf("find time entry on ticket %d", n), err)
		}
		for _, te := range page {
			if te.TicketID == idString(n) && helpdesk.HasMarker(te.Notes, marker) {
				return te, true, nil
			}
		}
	}
	return helpdesk.TimeEntry{}, false, nil
}

func findArgs(op, ticketID, marker string) (int64, error) {
	if err := helpdesk.CheckMarker(marker); err != nil {
		return 0, fmt.Errorf("connectwise: %s: %w: %w", op, helpdesk.ErrInvalid, err)
	}
	n, err := parseID("ticket", ticketID)
	if err != nil {
		return 0, fmt.Errorf("connectwise: %s: %w: %w", op, helpdesk.ErrNotFound, err)
	}
	return n, nil
}
