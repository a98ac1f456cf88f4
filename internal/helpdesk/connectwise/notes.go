package connectwise

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// chargeServiceTicket is the chargeToType of time logged on a service
// ticket.
const chargeServiceTicket = "ServiceTicket"

// Notes implements helpdesk.Provider: every page of
// GET /service/tickets/{id}/notes.
func (c *Client) Notes(ctx context.Context, ticketID string) ([]helpdesk.Note, error) {
	n, err := parseID("ticket", ticketID)
	if err != nil {
		return nil, fmt.Errorf("connectwise: list notes: %w: %w", helpdesk.ErrNotFound, err)
	}
	s := listSpec{op: "list notes", path: fmt.Sprintf("/service/tickets/%d/notes", n), entity: helpdesk.EntityNotes, small: true}
	var out []helpdesk.Note
	for page, err := range stream(ctx, c, s, toNote) {
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// noteCreate is the body of POST /service/tickets/{id}/notes. One of the
// three flags must be set: discussion (detail description) or internal
// analysis.
type noteCreate struct {
	Text                  string `json:"text"`
	DetailDescriptionFlag bool   `json:"detailDescriptionFlag"`
	InternalAnalysisFlag  bool   `json:"internalAnalysisFlag"`
	Member                *idRef `json:"member,omitempty"`
}

// AddNote implements helpdesk.Provider. Internal notes are internal
// analysis notes, others discussion notes. The note's member is MemberID
// (ConnectWise records it as the note's author); the marker is the text's
// last line, which ConnectWise keeps as written (notes are plain text).
func (c *Client) AddNote(ctx context.Context, ticketID string, nn helpdesk.NewNote) (helpdesk.Note, error) {
	n, err := parseID("ticket", ticketID)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("connectwise: add note: %w: %w", helpdesk.ErrNotFound, err)
	}
	if nn.Marker != "" {
		if err := helpdesk.CheckMarker(nn.Marker); err != nil {
			return helpdesk.Note{}, fmt.Errorf("connectwise: add note: %w: %w", helpdesk.ErrInvalid, err)
		}
	}
	body := noteCreate{Text: helpdesk.MarkText(nn.Text, nn.Marker), DetailDescriptionFlag: !nn.Internal, InternalAnalysisFlag: nn.Internal}
	if nn.MemberID != "" {
		m, err := parseID("member", nn.MemberID)
		if err != nil {
			return helpdesk.Note{}, fmt.Errorf("connectwise: add note: %w: %w", helpdesk.ErrInvalid, err)
		}
		body.Member = &idRef{ID: m}
	}
	var raw json.RawMessage
	if err := c.post(transport.Unrepeatable(ctx), "add note", fmt.Sprintf("/service/tickets/%d/notes", n), body, &raw); err != nil {
		return helpdesk.Note{}, wrapErr(fmt.Sprintf("add note to ticket %d", n), err)
	}
	note, err := toNote(raw)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("connectwise: add note: %w", err)
	}
	if note.TicketID == "" {
		note.TicketID = idString(n)
	}
	return note, nil
}

func toNote(raw json.RawMessage) (helpdesk.Note, error) {
	w, err := decode[noteWire](raw)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("decode note: %w", err)
	}
	created := w.DateCreated.Time
	if created.IsZero() {
		created = w.Info.DateEntered.Time
	}
	return helpdesk.Note{
		ExternalID: idString(w.ID), TicketID: idString(w.TicketID), Text: w.Text,
		Internal: w.InternalAnalysisFlag || w.InternalFlag, AuthorID: refID(w.Member),
		CreatedAt: created, Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

// TimeEntries implements helpdesk.Provider: GET /time/entries of service
// tickets updated after q.Since.
func (c *Client) TimeEntries(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.TimeEntry, error] {
	s := listSpec{op: "list time entries", path: "/time/entries", since: q.Since, after: q.After, size: q.PageSize,
		conds: []string{`chargeToType="` + chargeServiceTicket + `"`}, entity: helpdesk.EntityTimeEntries, skip: q.Skip}
	return stream(ctx, c, s, toTimeEntry)
}

// timeCreate is the body of POST /time/entries.
type timeCreate struct {
	ChargeToID     int64  `json:"chargeToId"`
	ChargeToType   string `json:"chargeToType"`
	Member         *idRef `json:"member,omitempty"`
	TimeStart      string `json:"timeStart"`
	TimeEnd        string `json:"timeEnd"`
	Notes          string `json:"notes,omitempty"`
	BillableOption string `json:"billableOption"`
}

// AddTimeEntry implements helpdesk.Provider with POST /time/entries
// charged to the service ticket; timeEnd is timeStart plus Hours. The
// entry's member is MemberID (the API member when empty); the marker is
// the last line of its notes.
func (c *Client) AddTimeEntry(ctx context.Context, e helpdesk.NewTimeEntry) (helpdesk.TimeEntry, error) {
	body, err := timeBody(e)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("connectwise: add time entry: %w: %w", helpdesk.ErrInvalid, err)
	}
	var raw json.RawMessage
	if err := c.post(transport.Unrepeatable(ctx), "add time entry", "/time/entries", body, &raw); err != nil {
		return helpdesk.TimeEntry{}, wrapErr(fmt.Sprintf("add time entry to ticket %d", body.ChargeToID), err)
	}
	te, err := toTimeEntry(raw)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("connectwise: add time entry: %w", err)
	}
	return te, nil
}

func timeBody(e helpdesk.NewTimeEntry) (timeCreate, error) {
	t, err := parseID("ticket", e.TicketID)
	if err != nil {
		return timeCreate{}, err
	}
	if e.Hours <= 0 || e.Hours > 24 || e.Start.IsZero() {
		return timeCreate{}, fmt.Errorf("time entry needs a start and 0 < hours <= 24")
	}
	if e.Marker != "" {
		if err := helpdesk.CheckMarker(e.Marker); err != nil {
			return timeCreate{}, err
		}
	}
	start := e.Start.UTC().Truncate(time.Second)
	end := start.Add(time.Duration(e.Hours * float64(time.Hour))).Round(time.Second)
	body := timeCreate{ChargeToID: t, ChargeToType: chargeServiceTicket, Notes: e.Notes,
		TimeStart: start.Format(time.RFC3339), TimeEnd: end.Format(time.RFC3339), BillableOption: "DoNotBill"}
	body.Notes = helpdesk.MarkText(e.Notes, e.Marker)
	if e.Billable {
		body.BillableOption = "Billable"
	}
	if e.MemberID != "" {
		m, err := parseID("member", e.MemberID)
		if err != nil {
			return timeCreate{}, err
		}
		body.Member = &idRef{ID: m}
	}
	return body, nil
}

func toTimeEntry(raw json.RawMessage) (helpdesk.TimeEntry, error) {
	w, err := decode[timeWire](raw)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("decode time entry: %w", err)
	}
	hours := w.ActualHours
	if hours == 0 && !w.TimeEnd.IsZero() && w.TimeEnd.After(w.TimeStart.Time) {
		hours = w.TimeEnd.Sub(w.TimeStart.Time).Hours()
	}
	te := helpdesk.TimeEntry{
		ExternalID: idString(w.ID), MemberID: refID(w.Member), Start: w.TimeStart.Time, Hours: hours,
		Notes: w.Notes, Billable: w.BillableOption == "Billable", UpdatedAt: w.Info.LastUpdated.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}
	if w.ChargeToType == "" || w.ChargeToType == chargeServiceTicket {
		te.TicketID = idString(w.ChargeToID)
	}
	return te, nil
}
