package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Find operations' metric labels.
const (
	opFindTicket = "tickets.find"
	opFindNote   = "notes.find"
	opFindTime   = "timeentries.find"
)

// FindTicket implements helpdesk.Provider: Tickets/query on externalID eq
// marker [K: externalID is a queryable ticket field]. The marker is
// unique to one write, so since is not needed to narrow the query; the
// answer is checked against the marker again, so a server that ignored
// the filter cannot make another ticket look found.
func (c *Client) FindTicket(ctx context.Context, marker string, _ time.Time) (helpdesk.Ticket, bool, error) {
	if err := findMarker(opFindTicket, marker); err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("autotask: find ticket: %w", err)
	}
	found, err := collect(c, ctx, opFindTicket, "Tickets",
		[]condition{{Op: "eq", Field: "externalID", Value: marker}}, decodeTicket)
	if err != nil {
		return helpdesk.Ticket{}, false, fmt.Errorf("autotask: find ticket: %w", err)
	}
	for _, t := range found {
		var x struct {
			ExternalID string `json:"externalID"`
		}
		if json.Unmarshal(t.Raw, &x) == nil && x.ExternalID == marker {
			return t, true, nil
		}
	}
	return helpdesk.Ticket{}, false, nil
}

// FindNote implements helpdesk.Provider: TicketNotes/query on ticketID eq
// N and description contains marker [K: the contains operator], checked
// against the marker line.
func (c *Client) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	n, err := findArgs(opFindNote, ticketID, marker)
	if err != nil {
		return helpdesk.Note{}, false, fmt.Errorf("autotask: find note: %w", err)
	}
	pub, err := c.publishValues(ctx)
	if err != nil {
		return helpdesk.Note{}, false, fmt.Errorf("autotask: find note on ticket %d: %w", n, err)
	}
	decode := func(raw json.RawMessage) (helpdesk.Note, int64, error) { return decodeNote(raw, pub) }
	notes, err := collect(c, ctx, opFindNote, "TicketNotes", []condition{eq("ticketID", n),
		{Op: "contains", Field: "description", Value: marker}}, decode)
	if err != nil {
		return helpdesk.Note{}, false, fmt.Errorf("autotask: find note on ticket %d: %w", n, err)
	}
	for _, note := range notes {
		if note.TicketID == idString(n) && helpdesk.HasMarker(note.Text, marker) {
			return note, true, nil
		}
	}
	return helpdesk.Note{}, false, nil
}

// FindTimeEntry implements helpdesk.Provider: TimeEntries/query on
// ticketID eq N and summaryNotes contains marker.
func (c *Client) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	n, err := findArgs(opFindTime, ticketID, marker)
	if err != nil {
		return helpdesk.TimeEntry{}, false, fmt.Errorf("autotask: find time entry: %w", err)
	}
	entries, err := collect(c, ctx, opFindTime, "TimeEntries", []condition{eq("ticketID", n),
		{Op: "contains", Field: "summaryNotes", Value: marker}}, decodeTimeEntry)
	if err != nil {
		return helpdesk.TimeEntry{}, false, fmt.Errorf("autotask: find time entry on ticket %d: %w", n, err)
	}
	for _, te := range entries {
		if te.TicketID == idString(n) && helpdesk.HasMarker(te.Notes, marker) {
			return te, true, nil
		}
	}
	return helpdesk.TimeEntry{}, false, nil
}

// findMarker refuses an empty or malformed marker: it can match nothing.
func findMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.Autotask, op, marker, true)
}

func findArgs(op, ticketID, marker string) (int64, error) {
	if err := findMarker(op, marker); err != nil {
		return 0, err
	}
	n, err := parseID(ticketID)
	if err != nil {
		return 0, notFound(op, err)
	}
	return n, nil
}
