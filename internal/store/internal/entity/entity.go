// Package entity describes the synced-record tables (tickets, contacts,
// companies, time entries, helpdesk users) once for both store backends:
// their columns, how a helpdesk record becomes a row of Go values and back,
// and how a batch is de-duplicated before an upsert.
//
// Row values are plain Go values: string, bool, float64, time.Time (UTC,
// truncated to store.TimePrecision) and, for JSON columns, []byte or nil
// (SQL NULL). Each backend maps time and JSON values to its own encoding.
package entity

import (
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// Kind is the Go type of a column's values.
type Kind int

// Column kinds.
const (
	Text  Kind = iota // string
	Bool              // bool
	Float             // float64
	Time              // time.Time, NOT NULL, zero stored as year 1
	JSON              // []byte or nil for NULL
)

// Column is one column of a synced-record table, besides the account and
// provider every table starts with.
type Column struct {
	Name string
	Kind Kind
}

// Spec describes one synced-record table.
type Spec struct {
	Entity  helpdesk.Entity
	Table   string
	Columns []Column // Columns[0] is external_id
	// Updated is the index of updated_at in Columns.
	Updated int
}

// Names returns the column names in order.
func (s *Spec) Names() []string {
	n := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		n[i] = c.Name
	}
	return n
}

func cols(kv ...any) []Column {
	c := make([]Column, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		c = append(c, Column{kv[i].(string), kv[i+1].(Kind)})
	}
	return c
}

func spec(e helpdesk.Entity, table string, c []Column) *Spec {
	s := &Spec{Entity: e, Table: table, Columns: c, Updated: -1}
	for i, col := range c {
		if col.Name == "updated_at" {
			s.Updated = i
		}
	}
	return s
}

// The synced-record tables.
var (
	Tickets = spec(helpdesk.EntityTickets, "tickets", cols(
		"external_id", Text, "number", Text, "summary", Text, "description", Text,
		"status_id", Text, "status_name", Text, "closed", Bool,
		"priority_id", Text, "priority_name", Text, "type_id", Text, "type_name", Text,
		"queue_id", Text, "queue_name", Text, "company_id", Text, "contact_id", Text,
		"assignee_id", Text, "created_at", Time, "updated_at", Time, "deleted", Bool,
		"raw", JSON))
	Contacts = spec(helpdesk.EntityContacts, "contacts", cols(
		"external_id", Text, "company_id", Text, "first_name", Text, "last_name", Text,
		"email", Text, "phone", Text, "active", Bool, "updated_at", Time, "raw", JSON))
	Companies = spec(helpdesk.EntityCompanies, "companies", cols(
		"external_id", Text, "name", Text, "identifier", Text, "active", Bool,
		"updated_at", Time, "raw", JSON))
	TimeEntries = spec(helpdesk.EntityTimeEntries, "time_entries", cols(
		"external_id", Text, "ticket_id", Text, "member_id", Text, "start_at", Time,
		"hours", Float, "notes", Text, "billable", Bool, "updated_at", Time, "raw", JSON))
	Members = spec(helpdesk.EntityMembers, "helpdesk_users", cols(
		"external_id", Text, "identifier", Text, "name", Text, "email", Text,
		"active", Bool, "updated_at", Time, "raw", JSON))
)

// All lists every synced-record table.
var All = []*Spec{Tickets, Contacts, Companies, TimeEntries, Members}

// For returns the table of an entity.
func For(e helpdesk.Entity) (*Spec, error) {
	for _, s := range All {
		if s.Entity == e {
			return s, nil
		}
	}
	return nil, fmt.Errorf("entity %q is not a synced-record table", e)
}

// ts normalises a time for storage.
func ts(t time.Time) time.Time { return store.NormalizeTime(t) }

// raw returns a JSON value for storage: nil (NULL) when empty.
func raw(r []byte) any {
	if len(r) == 0 {
		return nil
	}
	return []byte(r)
}
