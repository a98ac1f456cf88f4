package zohodesk

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/helpdesk/transport"
)

// maxTimeEntryDescription is the OAS maxLength of a time entry's
// description.
const maxTimeEntryDescription = 100

// Notes implements helpdesk.Provider: GET /tickets/{id}/comments, oldest
// first. Private comments (isPublic false) are internal notes.
func (c *Client) Notes(ctx context.Context, ticketID string) ([]helpdesk.Note, error) {
	const op = "list notes"
	if err := numericID(op, ticketID); err != nil {
		return nil, err
	}
	q := url.Values{"sortBy": {"commentedTime"}}
	pages := c.listPages(ctx, op, "/tickets/"+ticketID+"/comments", q, ticketPage)
	return collect(convertPages(pages, op, nil, func(raw json.RawMessage) (helpdesk.Note, error) {
		return parseComment(raw, ticketID)
	}))
}

// AddNote implements helpdesk.Provider: POST /tickets/{id}/comments as
// plain text, always sending isPublic (its default is undocumented). Zoho
// sets the commenter from the token and offers no way to comment as
// another agent, so MemberID is not used: the author's name opens the
// text ("Jane Doe: ...") instead. The marker is the text's last line.
func (c *Client) AddNote(ctx context.Context, ticketID string, n helpdesk.NewNote) (helpdesk.Note, error) {
	const op = "add note"
	if err := numericID(op, ticketID); err != nil {
		return helpdesk.Note{}, err
	}
	if err := checkMarker(op, n.Marker); err != nil {
		return helpdesk.Note{}, err
	}
	body := map[string]any{"content": noteContent(n), "contentType": "plainText", "isPublic": !n.Internal}
	var raw json.RawMessage
	if _, err := c.call(transport.Unrepeatable(ctx), request{op: op, method: http.MethodPost, path: "/tickets/" + ticketID + "/comments", body: body}, &raw); err != nil {
		return helpdesk.Note{}, err
	}
	note, err := parseComment(raw, ticketID)
	if err != nil {
		return helpdesk.Note{}, fmt.Errorf("zohodesk: %s: %w", op, err)
	}
	return note, nil
}

func parseComment(raw json.RawMessage, ticketID string) (helpdesk.Note, error) {
	var w wireComment
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Note{}, fmt.Errorf("decode comment: %w", err)
	}
	if w.TicketID != "" {
		ticketID = string(w.TicketID)
	}
	return helpdesk.Note{
		ExternalID: string(w.ID), TicketID: ticketID, Text: w.Content, Internal: !w.IsPublic,
		AuthorID: string(w.CommenterID), CreatedAt: w.CommentedTime.Time,
		Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

// TimeEntries implements helpdesk.Provider. Zoho Desk has no org-wide
// time entry list, so this walks the tickets modified after q.Since (as
// Tickets) and lists each one's GET /tickets/{id}/timeEntry, filtered by
// modifiedTimeRange when q.Since is set. Cost: one search call per 100
// modified tickets plus at least one call per modified ticket; a time
// entry whose change did not touch its ticket's modifiedTime is only seen
// by a full (Since zero) sweep [INF: Zoho does not document whether it
// does]. One page is yielded per ticket with entries.
func (c *Client) TimeEntries(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.TimeEntry, error] {
	const op = "list time entries"
	return func(yield func([]helpdesk.TimeEntry, error) bool) {
		w := c.newWindow(op, "/tickets/search", q.Since, ticketPage)
		for raws, err := range w.pages(ctx) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, raw := range raws {
				var h recordHead
				_ = json.Unmarshal(raw, &h)
				if !c.ticketTimeEntries(ctx, string(h.ID), q, yield) {
					return
				}
			}
		}
	}
}

// ticketTimeEntries yields one ticket's entries; false stops the stream.
func (c *Client) ticketTimeEntries(ctx context.Context, ticketID string, q helpdesk.Query,
	yield func([]helpdesk.TimeEntry, error) bool) bool {
	const op = "list time entries"
	if numericID(op, ticketID) != nil {
		return true
	}
	v := url.Values{}
	if !q.Since.IsZero() {
		lower := q.Since.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
		v.Set("modifiedTimeRange", formatTime(lower)+","+formatTime(c.cfg.Now().UTC().Add(24*time.Hour)))
	}
	entries, err := collect(convertPages(c.listPages(ctx, op, "/tickets/"+ticketID+"/timeEntry", v, ticketPage), op,
		skipper(q, helpdesk.EntityTimeEntries),
		func(raw json.RawMessage) (helpdesk.TimeEntry, error) { return parseTimeEntry(raw, ticketID) }))
	if err != nil {
		yield(nil, err)
		return false
	}
	kept := entries[:0]
	for _, e := range entries {
		if q.Since.IsZero() || !hasModifiedTime(e.Raw) || e.UpdatedAt.After(q.Since) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return true
	}
	return yield(kept, nil)
}

// hasModifiedTime reports whether a record carries modifiedTime (time
// entries usually do not; then the server's modifiedTimeRange is trusted).
func hasModifiedTime(raw json.RawMessage) bool {
	var h struct {
		M *json.RawMessage `json:"modifiedTime"`
	}
	return json.Unmarshal(raw, &h) == nil && h.M != nil && string(*h.M) != "null"
}

// AddTimeEntry implements helpdesk.Provider: POST /tickets/{id}/timeEntry
// with executedTime and hours/minutes/seconds, owned by MemberID (ownerId:
// Zoho attributes time to any agent, unlike comments). The description is
// cut to the OAS maximum of 100 characters, keeping the marker line whole
// at its end.
func (c *Client) AddTimeEntry(ctx context.Context, e helpdesk.NewTimeEntry) (helpdesk.TimeEntry, error) {
	const op = "add time entry"
	if err := numericID(op, e.TicketID); err != nil {
		return helpdesk.TimeEntry{}, err
	}
	if e.Hours < 0 || e.Hours > 999 {
		return helpdesk.TimeEntry{}, invalid(op, "hours must be between 0 and 999")
	}
	if err := checkMarker(op, e.Marker); err != nil {
		return helpdesk.TimeEntry{}, err
	}
	secs := int64(math.Round(e.Hours * 3600))
	body := map[string]any{
		"executedTime": formatTime(e.Start), "isBillable": e.Billable,
		"hoursSpent": secs / 3600, "minutesSpent": secs % 3600 / 60, "secondsSpent": secs % 60,
	}
	if e.MemberID != "" {
		body["ownerId"] = e.MemberID
	}
	if d := timeDescription(e.Notes, e.Marker); d != "" {
		body["description"] = d
	}
	var raw json.RawMessage
	if _, err := c.call(transport.Unrepeatable(ctx), request{op: op, method: http.MethodPost, path: "/tickets/" + e.TicketID + "/timeEntry", body: body}, &raw); err != nil {
		return helpdesk.TimeEntry{}, err
	}
	te, err := parseTimeEntry(raw, e.TicketID)
	if err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("zohodesk: %s: %w", op, err)
	}
	return te, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func parseTimeEntry(raw json.RawMessage, ticketID string) (helpdesk.TimeEntry, error) {
	var w wireTimeEntry
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.TimeEntry{}, fmt.Errorf("decode time entry: %w", err)
	}
	if w.Parent != nil && w.Parent.ID != "" {
		ticketID = string(w.Parent.ID)
	}
	updated := w.ModifiedTime.Time
	if updated.IsZero() {
		updated = w.CreatedTime.Time
	}
	secs := int64(w.HoursSpent)*3600 + int64(w.MinutesSpent)*60 + int64(w.SecondsSpent)
	return helpdesk.TimeEntry{
		ExternalID: string(w.ID), TicketID: ticketID, MemberID: string(w.OwnerID),
		Start: w.ExecutedTime.Time, Hours: float64(secs) / 3600, Notes: str(w.Description),
		Billable: bool(w.IsBillable), UpdatedAt: updated, Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

// Members implements helpdesk.Provider: GET /agents, once with
// status=ACTIVE and once with status=DISABLED, so that disabled agents are
// listed whether or not an unfiltered list includes them. Agents have no
// modifiedTime: q.Since is ignored (Capabilities.IncrementalMembers).
func (c *Client) Members(ctx context.Context, q helpdesk.Query) iter.Seq2[[]helpdesk.Member, error] {
	const op = "list members"
	limit := clampPage(q.PageSize, agentPage)
	return func(yield func([]helpdesk.Member, error) bool) {
		seen := map[string]bool{}
		for _, status := range []string{"ACTIVE", "DISABLED"} {
			pages := c.listPages(ctx, op, "/agents", url.Values{"status": {status}}, limit)
			for page, err := range convertPages(pages, op, skipper(q, helpdesk.EntityMembers), parseAgent) {
				if err != nil {
					yield(nil, err)
					return
				}
				page = unseenMembers(page, seen)
				if len(page) > 0 && !yield(page, nil) {
					return
				}
			}
		}
	}
}

func unseenMembers(page []helpdesk.Member, seen map[string]bool) []helpdesk.Member {
	out := page[:0]
	for _, m := range page {
		if !seen[m.ExternalID] {
			seen[m.ExternalID] = true
			out = append(out, m)
		}
	}
	return out
}

func parseAgent(raw json.RawMessage) (helpdesk.Member, error) {
	var w wireAgent
	if err := json.Unmarshal(raw, &w); err != nil {
		return helpdesk.Member{}, fmt.Errorf("decode agent: %w", err)
	}
	name := str(w.Name)
	if name == "" {
		name = joinName(str(w.FirstName), str(w.LastName))
	}
	return helpdesk.Member{
		ExternalID: string(w.ID), Identifier: str(w.EmailID), Name: name, Email: str(w.EmailID),
		Active: w.Status == "" || w.Status == "ACTIVE", Raw: append(json.RawMessage(nil), raw...),
	}, nil
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}
