// Package helpdesk holds the domain every part of Horizon speaks about a PSA
// (tickets, contacts, companies, time entries, members, picklists, webhook
// registrations, inbound callback events), the Provider interface each PSA
// client implements, and the typed errors callers branch on.
//
// Provider-specific JSON never leaves a provider package: everything above
// it works with the types declared here. All times are UTC.
package helpdesk

import (
	"encoding/json"
	"time"
)

// Provider names, as written in horizon.yaml.
const (
	ConnectWise = "connectwise"
	Autotask    = "autotask"
	ZohoDesk    = "zohodesk"
	HaloPSA     = "halopsa"
)

// Providers lists every supported provider name.
var Providers = []string{ConnectWise, Autotask, ZohoDesk, HaloPSA}

// Entity names a kind of helpdesk record Horizon syncs.
type Entity string

// Entities Horizon syncs. Members and picklists are always synced; the
// others are chosen in horizon.yaml.
const (
	EntityTickets     Entity = "tickets"
	EntityContacts    Entity = "contacts"
	EntityCompanies   Entity = "companies"
	EntityTimeEntries Entity = "timeEntries"
	EntityNotes       Entity = "notes"
	EntityMembers     Entity = "members"
	EntityPicklists   Entity = "picklists"
)

// Ref is a reference to a picklist value or another record: the provider's
// ID and, where the provider sends it, the display name.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// IsZero reports whether the reference is empty.
func (r Ref) IsZero() bool { return r.ID == "" && r.Name == "" }

// Ticket is a helpdesk ticket (ConnectWise service ticket, Autotask ticket,
// Zoho Desk ticket, Halo ticket).
type Ticket struct {
	ExternalID  string    `json:"externalId"`
	Number      string    `json:"number,omitempty"` // display number where it differs from the ID
	Summary     string    `json:"summary"`
	Description string    `json:"description,omitempty"`
	Status      Ref       `json:"status"`
	Closed      bool      `json:"closed"`
	Priority    Ref       `json:"priority"`
	Type        Ref       `json:"type"`
	Queue       Ref       `json:"queue"` // board (CW), queue (AT), department (Zoho), team (Halo)
	CompanyID   string    `json:"companyId,omitempty"`
	ContactID   string    `json:"contactId,omitempty"`
	AssigneeID  string    `json:"assigneeId,omitempty"` // member external ID
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"` // the provider's last-updated time
	Deleted     bool      `json:"deleted,omitempty"`
	// Raw is the provider's JSON for the record, kept beside the
	// normalised fields.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Contact is an end-user contact at a customer company.
type Contact struct {
	ExternalID string          `json:"externalId"`
	CompanyID  string          `json:"companyId,omitempty"`
	FirstName  string          `json:"firstName,omitempty"`
	LastName   string          `json:"lastName,omitempty"`
	Email      string          `json:"email,omitempty"`
	Phone      string          `json:"phone,omitempty"`
	Active     bool            `json:"active"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// Company is a customer company (CW company, AT company, Zoho account,
// Halo client).
type Company struct {
	ExternalID string          `json:"externalId"`
	Name       string          `json:"name"`
	Identifier string          `json:"identifier,omitempty"`
	Active     bool            `json:"active"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// TimeEntry is time worked against a ticket.
type TimeEntry struct {
	ExternalID string          `json:"externalId"`
	TicketID   string          `json:"ticketId"`
	MemberID   string          `json:"memberId,omitempty"`
	Start      time.Time       `json:"start"`
	Hours      float64         `json:"hours"`
	Notes      string          `json:"notes,omitempty"`
	Billable   bool            `json:"billable"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// Member is a helpdesk user: a ConnectWise member, Autotask resource,
// Zoho Desk agent or Halo agent.
type Member struct {
	ExternalID string          `json:"externalId"`
	Identifier string          `json:"identifier,omitempty"` // login name where the PSA has one
	Name       string          `json:"name"`
	Email      string          `json:"email,omitempty"`
	Active     bool            `json:"active"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// Note is a note on a ticket (CW ticket note, AT ticket note, Zoho
// comment, Halo action).
type Note struct {
	ExternalID string          `json:"externalId"`
	TicketID   string          `json:"ticketId"`
	Text       string          `json:"text"`
	Internal   bool            `json:"internal"`
	AuthorID   string          `json:"authorId,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}

// PicklistKind names a picklist Horizon mirrors.
type PicklistKind string

// Picklist kinds. Which exist depends on the provider (Capabilities).
const (
	PicklistStatus     PicklistKind = "statuses"
	PicklistType       PicklistKind = "types"
	PicklistPriority   PicklistKind = "priorities"
	PicklistQueue      PicklistKind = "queues"
	PicklistDepartment PicklistKind = "departments"
)

// Picklist is one picklist as the PSA defines it. Statuses and types are
// scoped to a board in ConnectWise; Scope names that board ("" when the
// picklist is global).
type Picklist struct {
	Kind    PicklistKind    `json:"kind"`
	Scope   string          `json:"scope,omitempty"`
	ScopeID string          `json:"scopeId,omitempty"`
	Values  []PicklistValue `json:"values"`
}

// PicklistValue is one value of a picklist.
type PicklistValue struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Active  bool   `json:"active"`
	Closed  bool   `json:"closed,omitempty"` // statuses only: the status closes the ticket
	Default bool   `json:"default,omitempty"`
	Sort    int    `json:"sort,omitempty"`
}

// Query selects the records a stream returns.
type Query struct {
	// Since returns records the PSA last updated strictly after this time;
	// zero means all records.
	Since time.Time
	// Until, when not zero, returns only records updated at or before this
	// time (backfilling a widened ingest window fetches only the gap).
	// Providers whose API cannot filter by it filter the stream
	// themselves.
	Until time.Time
	// PageSize asks for this many records per page; zero or more than the
	// provider's maximum means the maximum.
	PageSize int
	// After, when not empty, resumes a listing after the record with this
	// ID: only providers that page the entity by ascending ID and say so
	// (syncer.Resumer) honour it.
	After string
	// Skip, when not nil, is told of every record a page held that the
	// client could not use (a field of the wrong type, an oversized
	// field): the record is left out of the page and the stream goes on,
	// so one bad record never fails the entity. Without Skip such records
	// are left out silently.
	Skip func(Skipped)
}

// Skipped is a record a listing left out.
type Skipped struct {
	Entity Entity
	// ID is the record's ID as the PSA sent it, when it could be read.
	ID     string
	Reason string
}

// NewTicket is a ticket to create (write-back and smoke tests). Empty
// fields take the PSA's defaults.
type NewTicket struct {
	Summary     string
	Description string
	CompanyID   string
	ContactID   string
	QueueID     string
	StatusID    string
	PriorityID  string
	TypeID      string
	// MemberID is the helpdesk user the write is made as, where the PSA
	// lets the API act as someone (Autotask impersonation); empty: the
	// API user.
	MemberID string
	// Marker is a token unique to this write. The client stores it where
	// FindTicket can see it, so that a create whose answer was lost can be
	// found instead of made twice.
	Marker string
}

// TicketUpdate changes a ticket. Empty fields are left as they are.
type TicketUpdate struct {
	StatusID   string
	AssigneeID string
	PriorityID string
	TypeID     string
	// MemberID is the helpdesk user the change is made as, where the PSA
	// allows it; empty: the API user.
	MemberID string
}

// NewNote is a note to add to a ticket.
type NewNote struct {
	Text     string
	Internal bool
	MemberID string // author where the PSA allows choosing one
	// AuthorName is the author's display name. A PSA that cannot attribute
	// a note to MemberID (Zoho Desk writes as the token's agent) puts it in
	// the text instead.
	AuthorName string
	// Marker is a token unique to this write, stored where FindNote can
	// see it (see NewTicket.Marker).
	Marker string
}

// NewTimeEntry is time to log against a ticket.
type NewTimeEntry struct {
	TicketID string
	MemberID string
	Start    time.Time
	Hours    float64
	Notes    string
	Billable bool
	// Marker is a token unique to this write, stored where FindTimeEntry
	// can see it (see NewTicket.Marker).
	Marker string
}
