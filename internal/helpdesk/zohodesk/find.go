package zohodesk

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// checkMarker refuses a marker that could not be stored and found again.
func checkMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.ZohoDesk, op, marker, false)
}

// findMarker refuses an empty or malformed marker: it can match nothing.
func findMarker(op, marker string) error {
	return helpdesk.MarkerError(helpdesk.ZohoDesk, op, marker, true)
}

// noteContent is a comment's text: the author's name first (Zoho writes
// every comment as the token's agent), the marker line last.
func noteContent(n helpdesk.NewNote) string {
	text := n.Text
	if name := strings.TrimSpace(n.AuthorName); name != "" {
		text = name + ": " + text
	}
	return helpdesk.MarkText(text, n.Marker)
}

// timeDescription fits notes and the marker line into the 100 characters
// a time entry's description holds: the notes are cut, never the marker.
func timeDescription(notes, marker string) string {
	if marker == "" {
		return truncateRunes(notes, maxTimeEntryDescription)
	}
	room := maxTimeEntryDescription - len(helpdesk.MarkerLine(marker)) - 2
	return helpdesk.MarkText(truncateRunes(notes, max(room, 0)), marker)
}

// FindTicket implements helpdesk.Provider. Search is behind an index that
// lags writes [3P R7], so a just-created ticket could look absent there;
// this reads GET /tickets sorted by -createdTime instead (no index), page
// by page down to since (less helpdesk.FindSkew), and reads each ticket of that
// window whole, because the list view leaves the description out [3P R8].
// Its cost is one list call per 100 tickets created since, plus one read
// per such ticket.
func (c *Client) FindTicket(ctx context.Context, marker string, since time.Time) (helpdesk.Ticket, bool, error) {
	const op = "find ticket"
	if err := findMarker(op, marker); err != nil {
		return helpdesk.Ticket{}, false, err
	}
	floor := since.Add(-helpdesk.FindSkew)
	q := url.Values{"sortBy": {"-createdTime"}}
	for page, err := range c.listPages(ctx, op, "/tickets", q, ticketPage) {
		if err != nil {
			return helpdesk.Ticket{}, false, err
		}
		for _, raw := range page {
			var h struct {
				ID          flexID   `json:"id"`
				CreatedTime flexTime `json:"createdTime"`
			}
			if err := json.Unmarshal(raw, &h); err != nil || h.ID == "" {
				return helpdesk.Ticket{}, false, &helpdesk.Error{Provider: helpdesk.ZohoDesk, Op: op,
					Kind: helpdesk.ErrTransient, Message: "unreadable ticket in the list", Err: err}
			}
			if !since.IsZero() && h.CreatedTime.Before(floor) {
				return helpdesk.Ticket{}, false, nil
			}
			t, err := c.ticketCall(ctx, request{op: op, method: http.MethodGet, path: "/tickets/" + string(h.ID)})
			if err != nil {
				return helpdesk.Ticket{}, false, err
			}
			if helpdesk.HasMarker(t.Description, marker) {
				return t, true, nil
			}
		}
	}
	return helpdesk.Ticket{}, false, nil
}

// FindNote implements helpdesk.Provider: the ticket's comments (no
// filter exists on them), searched for the marker line.
func (c *Client) FindNote(ctx context.Context, ticketID, marker string) (helpdesk.Note, bool, error) {
	if err := findMarker("find note", marker); err != nil {
		return helpdesk.Note{}, false, err
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

// FindTimeEntry implements helpdesk.Provider: the ticket's time entries
// (GET /tickets/{id}/timeEntry), searched for the marker line.
func (c *Client) FindTimeEntry(ctx context.Context, ticketID, marker string) (helpdesk.TimeEntry, bool, error) {
	const op = "find time entry"
	if err := findMarker(op, marker); err != nil {
		return helpdesk.TimeEntry{}, false, err
	}
	if err := numericID(op, ticketID); err != nil {
		return helpdesk.TimeEntry{}, false, err
	}
	entries, err := collect(convertPages(c.listPages(ctx, op, "/tickets/"+ticketID+"/timeEntry", nil, ticketPage), op, nil,
		func(raw json.RawMessage) (helpdesk.TimeEntry, error) { return parseTimeEntry(raw, ticketID) }))
	if err != nil {
		return helpdesk.TimeEntry{}, false, err
	}
	for _, te := range entries {
		if helpdesk.HasMarker(te.Notes, marker) {
			return te, true, nil
		}
	}
	return helpdesk.TimeEntry{}, false, nil
}
