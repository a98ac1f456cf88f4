package autotask

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// Time entry operations' metric labels.
const (
	opTimeQuery  = "timeentries.query"
	opTimeCreate = "timeentries.create"
	opTimeGet    = "timeentries.get"
)

// timeEntryWire is a TimeEntries entity [K]. isNonBillable is [I].
type timeEntryWire struct {
	ID                   flexInt  `json:"id"`
	TicketID             flexInt  `json:"ticketID"`
	ResourceID           flexInt  `json:"resourceID"`
	DateWorked           atTime   `json:"dateWorked"`
	StartDateTime        atTime   `json:"startDateTime"`
	HoursWorked          float64  `json:"hoursWorked"`
	SummaryNotes         string   `json:"summaryNotes"`
	IsNonBillable        flexBool `json:"isNonBillable"`
	LastModifiedDateTime atTime   `json:"lastModifiedDateTime"`
}

func decodeTimeEntry(raw json.RawMessage) (helpdesk.TimeEntry, int64, error) {
	var w timeEntryWire
	if err := json.Unmarshal(raw, &w); err != nil || !w.ID.Valid {
		return helpdesk.TimeEntry{}, 0, fmt.Errorf("time entry: %w", orNoID(err))
	}
	start := w.StartDateTime.Time
	if start.IsZero() {
		start = w.DateWorked.Time
	}
	return helpdesk.TimeEntry{ExternalID: w.ID.String(), TicketID: w.TicketID.String(),
		MemberID: w.ResourceID.String(), Start: start, Hours: w.HoursWorked, Notes: w.SummaryNotes,
		Billable: !bool(w.IsNonBillable), UpdatedAt: w.LastModifiedDateTime.Time, Raw: raw}, w.ID.V, nil
}

// TimeEntries implements helpdesk.Provider: lastModifiedDateTime >
// q.Since [K].
func (c *Client) TimeEntries(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.TimeEntry, error] {
	body, err := listQuery(since("lastModifiedDateTime", q.Since), q)
	if err != nil {
		return failed[helpdesk.TimeEntry]("TimeEntries", err)
	}
	return stream(c, ctx, opTimeQuery, "TimeEntries", body, decodeTimeEntry, q.Skip)
}

// timeEntryCreate is the POST /TimeEntries body [D][K]. roleID is sent
// when the resource has a default service desk role [I].
type timeEntryCreate struct {
	TicketID      int64   `json:"ticketID"`
	ResourceID    int64   `json:"resourceID"`
	RoleID        *int64  `json:"roleID,omitempty"`
	DateWorked    string  `json:"dateWorked"`
	StartDateTime string  `json:"startDateTime"`
	EndDateTime   string  `json:"endDateTime"`
	HoursWorked   float64 `json:"hoursWorked"`
	SummaryNotes  string  `json:"summaryNotes,omitempty"`
	IsNonBillable bool    `json:"isNonBillable"`
}

// AddTimeEntry implements helpdesk.Provider: POST /TimeEntries, then the
// entry is read back. Without a MemberID the time is logged as the API
// user's resource; with one it is logged as that resource (resourceID)
// and the write is made impersonating it. The marker is the last line of
// summaryNotes.
func (c *Client) AddTimeEntry(ctx context.Context, e helpdesk.NewTimeEntry) (helpdesk.TimeEntry, error) {
	if err := checkMarker(opTimeCreate, e.Marker); err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: add time entry: %w", err)
	}
	body, err := c.timeEntryBody(ctx, e)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: add time entry: %w", err)
	}
	wctx, err := actingAs(ctx, opTimeCreate, e.MemberID)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: add time entry: %w", err)
	}
	id, err := c.write(transport.Unrepeatable(wctx), opTimeCreate, http.MethodPost, "TimeEntries", body)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: add time entry to ticket %d: %w", body.TicketID, err)
	}
	var raw json.RawMessage
	if err := c.getItem(ctx, opTimeGet, "TimeEntries/"+idString(id), &raw); err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: read time entry %d: %w", id, err)
	}
	te, _, err := decodeTimeEntry(raw)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("autotask: read time entry %d: %w", id, wireError(opTimeGet, err))
	}
	return te, nil
}

func (c *Client) timeEntryBody(ctx context.Context, e helpdesk.NewTimeEntry) (timeEntryCreate, error) {
	ticket, err := requiredID(opTimeCreate, "ticketId", e.TicketID)
	if err != nil {
		return timeEntryCreate{}, err
	}
	member, err := c.timeEntryResource(ctx, e.MemberID)
	if err != nil {
		return timeEntryCreate{}, err
	}
	start := e.Start.UTC()
	if start.IsZero() {
		start = time.Now().UTC().Add(-time.Duration(e.Hours * float64(time.Hour)))
	}
	end := start.Add(time.Duration(e.Hours * float64(time.Hour)))
	b := timeEntryCreate{TicketID: ticket, ResourceID: member, DateWorked: formatTime(start.Truncate(24 * time.Hour)),
		StartDateTime: formatTime(start), EndDateTime: formatTime(end), HoursWorked: e.Hours,
		SummaryNotes: helpdesk.MarkText(e.Notes, e.Marker), IsNonBillable: !e.Billable}
	if res, err := c.resource(ctx, member); err == nil && res.DefaultServiceDeskRoleID.Valid {
		role := res.DefaultServiceDeskRoleID.V
		b.RoleID = &role
	} else if err != nil {
		return b, err
	}
	return b, nil
}

// timeEntryResource is memberID, or the API user's resource when empty.
func (c *Client) timeEntryResource(ctx context.Context, memberID string) (int64, error) {
	if memberID != "" {
		return requiredID(opTimeCreate, "memberId", memberID)
	}
	id, err := c.apiResourceID(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, &helpdesk.Error{Provider: helpdesk.Autotask, Op: opTimeCreate, Kind: helpdesk.ErrInvalid,
			Message: "no memberId given and no resource matches the API username"}
	}
	return id, nil
}
