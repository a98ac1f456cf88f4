package entity

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Rows converts the records of a batch to rows in Spec column order.
func Rows(b *store.Batch) (*Spec, [][]any, error) {
	s, err := For(b.Entity)
	if err != nil {
		return nil, nil, err
	}
	var rows [][]any
	switch b.Entity {
	case helpdesk.EntityTickets:
		rows = mapRows(b.Tickets, ticketRow)
	case helpdesk.EntityContacts:
		rows = mapRows(b.Contacts, contactRow)
	case helpdesk.EntityCompanies:
		rows = mapRows(b.Companies, companyRow)
	case helpdesk.EntityTimeEntries:
		rows = mapRows(b.TimeEntries, timeEntryRow)
	case helpdesk.EntityMembers:
		rows = mapRows(b.Members, memberRow)
	}
	for i, r := range rows {
		if r[0] == "" {
			return nil, nil, fmt.Errorf("%s record %d has no external ID", b.Entity, i)
		}
	}
	return s, rows, nil
}

func mapRows[T any](recs []T, f func(*T) []any) [][]any {
	rows := make([][]any, len(recs))
	for i := range recs {
		rows[i] = f(&recs[i])
	}
	return rows
}

func ticketRow(t *helpdesk.Ticket) []any {
	return []any{t.ExternalID, t.Number, t.Summary, t.Description,
		t.Status.ID, t.Status.Name, t.Closed,
		t.Priority.ID, t.Priority.Name, t.Type.ID, t.Type.Name,
		t.Queue.ID, t.Queue.Name, t.CompanyID, t.ContactID,
		t.AssigneeID, ts(t.CreatedAt), ts(t.UpdatedAt), t.Deleted, raw(t.Raw)}
}

func contactRow(c *helpdesk.Contact) []any {
	return []any{c.ExternalID, c.CompanyID, c.FirstName, c.LastName,
		c.Email, c.Phone, c.Active, ts(c.UpdatedAt), raw(c.Raw)}
}

func companyRow(c *helpdesk.Company) []any {
	return []any{c.ExternalID, c.Name, c.Identifier, c.Active, ts(c.UpdatedAt), raw(c.Raw)}
}

func timeEntryRow(e *helpdesk.TimeEntry) []any {
	return []any{e.ExternalID, e.TicketID, e.MemberID, ts(e.Start),
		e.Hours, e.Notes, e.Billable, ts(e.UpdatedAt), raw(e.Raw)}
}

func memberRow(m *helpdesk.Member) []any {
	return []any{m.ExternalID, m.Identifier, m.Name, m.Email, m.Active, ts(m.UpdatedAt), raw(m.Raw)}
}

// Dedupe keeps one row per external ID: the one with the newest
// updated_at, the later one on a tie (the order a PSA returned them in).
// It returns the rows kept, in first-seen order, and how many were
// dropped; a dropped row changes nothing, so it counts as unchanged.
func (s *Spec) Dedupe(rows [][]any) ([][]any, int) {
	idx := make(map[string]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		id := r[0].(string)
		i, seen := idx[id]
		if !seen {
			idx[id] = len(out)
			out = append(out, r)
			continue
		}
		if !r[s.Updated].(time.Time).Before(out[i][s.Updated].(time.Time)) {
			out[i] = r
		}
	}
	return out, len(rows) - len(out)
}

// Ticket builds a ticket from a row in Tickets column order.
func Ticket(v []any) helpdesk.Ticket {
	return helpdesk.Ticket{
		ExternalID: str(v[0]), Number: str(v[1]), Summary: str(v[2]), Description: str(v[3]),
		Status:    helpdesk.Ref{ID: str(v[4]), Name: str(v[5])},
		Closed:    v[6].(bool),
		Priority:  helpdesk.Ref{ID: str(v[7]), Name: str(v[8])},
		Type:      helpdesk.Ref{ID: str(v[9]), Name: str(v[10])},
		Queue:     helpdesk.Ref{ID: str(v[11]), Name: str(v[12])},
		CompanyID: str(v[13]), ContactID: str(v[14]), AssigneeID: str(v[15]),
		CreatedAt: v[16].(time.Time), UpdatedAt: v[17].(time.Time),
		Deleted: v[18].(bool), Raw: js(v[19]),
	}
}

// Member builds a helpdesk user from a row in Members column order.
func Member(v []any) helpdesk.Member {
	return helpdesk.Member{
		ExternalID: str(v[0]), Identifier: str(v[1]), Name: str(v[2]), Email: str(v[3]),
		Active: v[4].(bool), UpdatedAt: v[5].(time.Time), Raw: js(v[6]),
	}
}

func str(v any) string { return v.(string) }

func js(v any) json.RawMessage {
	b, _ := v.([]byte)
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// TimeScanner is a backend's scan destination for a time column.
type TimeScanner interface{ Time() time.Time }

// Scan scans one row of the spec's columns, in order, into row values.
// newTime returns the backend's destination for a time column.
func (s *Spec) Scan(row interface{ Scan(...any) error }, newTime func() TimeScanner) ([]any, error) {
	dest := make([]any, len(s.Columns))
	for i, c := range s.Columns {
		switch c.Kind {
		case Text:
			dest[i] = new(string)
		case Bool:
			dest[i] = new(bool)
		case Float:
			dest[i] = new(float64)
		case Time:
			dest[i] = newTime()
		case JSON:
			dest[i] = new([]byte)
		}
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			dest[i] = *d
		case *bool:
			dest[i] = *d
		case *float64:
			dest[i] = *d
		case *[]byte:
			dest[i] = *d
		case TimeScanner:
			dest[i] = d.Time()
		}
	}
	return dest, nil
}
