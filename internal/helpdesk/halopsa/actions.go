package halopsa

import (
	"context"
	"fmt"
	"iter"
	"math"
	"net/url"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Notes implements helpdesk.Provider: every non-system action of the
// ticket (GET /Actions?ticket_id=&excludesys=true), time entries included
// since they carry a note too.
func (c *Client) Notes(ctx context.Context, ticketID string) ([]helpdesk.Note, error) {
	raws, err := c.actions(ctx, "list notes", ticketID)
	if err != nil {
		return nil, fmt.Errorf("halopsa: list notes of ticket %s: %w", ticketID, err)
	}
	out := make([]helpdesk.Note, 0, len(raws))
	for _, r := range raws {
		a, err := decodeAction(r)
		if err != nil {
			return nil, fmt.Errorf("halopsa: list notes of ticket %s: %w", ticketID, err)
		}
		if a.TicketID == "" {
			a.TicketID = flexID(ticketID)
		}
		out = append(out, a.note(r))
	}
	return out, nil
}

// actions lists a ticket's actions. The list is not paged: Halo documents
// no paging for /Actions. The answer may be the {"record_count",
// "actions"} envelope or a bare array.
func (c *Client) actions(ctx context.Context, op, ticketID string) ([]rawObject, error) {
	if _, err := intID(op, "ticket id", ticketID); err != nil {
		return nil, err
	}
	p := &page{key: "actions"}
	q := url.Values{"ticket_id": {ticketID}, "excludesys": {"true"}}
	if err := c.getList(ctx, op, "/Actions", q, p); err != nil {
		return nil, err
	}
	return p.records, nil
}

// AddNote implements helpdesk.Provider: POST /Actions with one action of
// the configured outcome, hiddenfromuser for internal notes and
// sendemail false (a public note must not email the end user). The
// action's agent (who_agentid) is MemberID, so Halo shows the note as
// that agent's; the marker is the note's last line.
func (c *Client) AddNote(ctx context.Context, ticketID string, n helpdesk.NewNote) (helpdesk.Note, error) {
	if err := checkMarker("add note", n.Marker); err != nil {
		return helpdesk.Note{}, fmt.Errorf("halopsa: add note to ticket %s: %w", ticketID, err)
	}
	item := map[string]any{"outcome": c.cfg.NoteOutcome, "note": helpdesk.MarkText(n.Text, n.Marker), "hiddenfromuser": n.Internal,
		"timetaken": 0, "sendemail": false}
	a, raw, err := c.saveAction(ctx, "add note", item, ticketID, n.MemberID)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("halopsa: add note to ticket %s: %w", ticketID, err)
	}
	return a.note(raw), nil
}

// AddTimeEntry implements helpdesk.Provider: POST /Actions with timetaken
// in decimal hours, split into chargeable or non-chargeable hours, by the
// agent MemberID (who_agentid); the marker is the note's last line.
func (c *Client) AddTimeEntry(ctx context.Context, e helpdesk.NewTimeEntry) (helpdesk.TimeEntry, error) {
	if e.Hours <= 0 || math.IsNaN(e.Hours) || math.IsInf(e.Hours, 0) {
		return helpdesk.TimeEntry{}, fmt.Errorf("halopsa: add time entry: %w", &helpdesk.Error{Provider: helpdesk.HaloPSA,
			Op: "add time entry", Kind: helpdesk.ErrInvalid, Message: "hours must be positive"})
	}
	if err := checkMarker("add time entry", e.Marker); err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("halopsa: add time entry: %w", err)
	}
	item := map[string]any{"outcome": c.cfg.NoteOutcome, "note": helpdesk.MarkText(e.Notes, e.Marker), "hiddenfromuser": true,
		"timetaken": e.Hours, "sendemail": false}
	if e.Billable {
		item["actionchargehours"], item["actionnonchargehours"] = e.Hours, 0
	} else {
		item["actionchargehours"], item["actionnonchargehours"] = 0, e.Hours
	}
	if !e.Start.IsZero() {
		end := e.Start.Add(time.Duration(e.Hours * float64(time.Hour)))
		item["actionarrivaldate"], item["actioncompletiondate"] = formatTime(e.Start), formatTime(end)
	}
	a, raw, err := c.saveAction(ctx, "add time entry", item, e.TicketID, e.MemberID)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("halopsa: add time entry to ticket %s: %w", e.TicketID, err)
	}
	return a.timeEntry(raw), nil
}

func (c *Client) saveAction(ctx context.Context, op string, item map[string]any, ticketID, agentID string) (wireAction, rawObject, error) {
	if _, err := intID(op, "ticket id", ticketID); err != nil {
		return wireAction{}, nil, err
	}
	if err := setIDs(item, op, map[string]string{"ticket_id": ticketID, "who_agentid": agentID}); err != nil {
		return wireAction{}, nil, err
	}
	saved, err := c.post(transport.Unrepeatable(ctx), op, "/Actions", item)
	if err != nil {
		return wireAction{}, nil, err
	}
	a, err := decodeAction(saved[0])
	if a.TicketID == "" {
		a.TicketID = flexID(ticketID)
	}
	return a, saved[0], err
}

// TimeEntries implements helpdesk.Provider. Halo keeps time on actions
// and has no last-updated filter on them, so this walks the tickets
// updated after q.Since and yields, per page of tickets, every action
// with timetaken > 0 (a superset of the entries changed since then). It
// costs one request per ticket.
func (c *Client) TimeEntries(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.TimeEntry, error] {
	return func(yield func([]helpdesk.TimeEntry, error) bool) {
		for tickets, err := range c.tickets(ctx, q, false) {
			if err != nil {
				yield(nil, err)
				return
			}
			entries, err := c.ticketTimeEntries(ctx, tickets, q)
			if err != nil {
				yield(nil, fmt.Errorf("halopsa: list time entries: %w", err))
				return
			}
			if len(entries) > 0 && !yield(entries, nil) {
				return
			}
		}
	}
}

func (c *Client) ticketTimeEntries(ctx context.Context, tickets []helpdesk.Ticket, q helpdesk.Query) ([]helpdesk.TimeEntry, error) {
	var out []helpdesk.TimeEntry
	for _, t := range tickets {
		raws, err := c.actions(ctx, "list time entries", t.ExternalID)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.ExternalID, err)
		}
		for _, r := range raws {
			a, err := decodeAction(r)
			if err != nil {
				skip(q, helpdesk.EntityTimeEntries, r, fmt.Errorf("ticket %s: %w", t.ExternalID, err))
				continue
			}
			if a.TimeTaken > 0 {
				if a.TicketID == "" {
					a.TicketID = flexID(t.ExternalID)
				}
				out = append(out, a.timeEntry(r))
			}
		}
	}
	return out, nil
}
