// Package sandbox is the base of Horizon's PSA emulators: a World holding a
// deterministic generated helpdesk dataset in a neutral form, a change feed
// the emulators turn into webhooks, a Go API tests use to act "in the PSA
// UI", fault injection, and webhook delivery with retry schedules.
//
// Fault injection is shared: an emulator serving through Faults.Wrap gets
// the throttling, server errors, cut connections and page faults
// (PageFault: a chosen answer of a list endpoint sent empty, null,
// truncated, as HTML, oversized, with a huge field or a wrong-typed
// record) without code of its own; page faults find the records of a
// page in a top-level array or the first array of objects in a top-level
// object, whatever the PSA calls it.
//
// Emulators built with New date every answer (the Date header) with the
// World's clock, which World.SetClockSkew sets ahead of or behind the
// clock the World was made with, as a PSA whose clock is off.
//
// Each PSA's emulator lives in a subpackage (sandbox/connectwise, ...) and
// renders the World in that PSA's wire format. The emulators share no wire
// code with the clients in internal/helpdesk/<provider>: each side is
// written from the wire facts, so a misreading fails a test.
package sandbox

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoSuchRecord is returned by World edits naming a missing record.
var ErrNoSuchRecord = errors.New("sandbox: no such record")

// Company is a customer company.
type Company struct {
	ID         int64
	Name       string
	Identifier string
	Active     bool
	Created    time.Time
	Updated    time.Time
}

// Contact is an end-user contact.
type Contact struct {
	ID        int64
	CompanyID int64
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Active    bool
	Created   time.Time
	Updated   time.Time
}

// Member is a helpdesk user (agent, resource, member).
type Member struct {
	ID         int64
	Identifier string // login name
	FirstName  string
	LastName   string
	Email      string
	Active     bool
	// APIUser marks the integration's own API member: changes it makes
	// are echoes the PSA may suppress.
	APIUser bool
	Created time.Time
	Updated time.Time
}

// Value is a picklist value (priority, type, department).
type Value struct {
	ID       int64
	Name     string
	Default  bool
	Inactive bool
	Sort     int
}

// Status is a ticket status within a queue.
type Status struct {
	ID       int64
	Name     string
	Closed   bool
	Default  bool
	Inactive bool
	Sort     int
}

// Queue is a board (ConnectWise), queue (Autotask), department (Zoho) or
// team (Halo), with its statuses and types.
type Queue struct {
	ID       int64
	Name     string
	Statuses []Status
	Types    []Value
	Inactive bool
}

// Ticket is a helpdesk ticket.
type Ticket struct {
	ID          int64
	Summary     string
	Description string
	QueueID     int64
	StatusID    int64
	PriorityID  int64
	TypeID      int64
	CompanyID   int64
	ContactID   int64
	AssigneeID  int64 // 0 when unassigned
	Created     time.Time
	Updated     time.Time
	UpdatedBy   int64 // member ID of the last change
	Deleted     bool
	// ExternalRef is the external reference an API client stored on the
	// ticket (ConnectWise externalXRef, Autotask externalID).
	ExternalRef string
}

// Note is a note on a ticket.
type Note struct {
	ID       int64
	TicketID int64
	Text     string
	Internal bool
	AuthorID int64
	Created  time.Time
	Updated  time.Time
}

// TimeEntry is time logged against a ticket.
type TimeEntry struct {
	ID       int64
	TicketID int64
	MemberID int64
	Start    time.Time
	Hours    float64
	Notes    string
	Billable bool
	Created  time.Time
	Updated  time.Time
}

// World is one PSA tenant's data. All methods are safe for concurrent use.
// Records are returned by value; edits go through the methods so that
// every change reaches the change feed.
type World struct {
	mu         sync.RWMutex
	now        func() time.Time
	skew       atomic.Int64 // SetClockSkew, in nanoseconds
	nextID     int64
	companies  []Company // sorted by ID
	contacts   []Contact
	members    []Member
	queues     []Queue
	priorities []Value
	tickets    []Ticket
	ticketIdx  map[int64]int
	notes      map[int64][]Note // by ticket
	times      map[int64][]TimeEntry
	timeIdx    map[int64]int64 // time entry ID → ticket ID
	listeners  []func(Change)
	lmu        sync.Mutex
}

// Record kinds in a Change.
const (
	KindTicket    = "ticket"
	KindNote      = "note"
	KindTimeEntry = "timeEntry"
	KindContact   = "contact"
	KindCompany   = "company"
	KindMember    = "member"
	KindPicklist  = "picklist"
)

// Change actions.
const (
	Created = "created"
	Updated = "updated"
	Deleted = "deleted"
)

// Change is one edit to the World, fed to listeners after the edit is
// visible.
type Change struct {
	Kind     string
	Action   string
	ID       int64
	TicketID int64 // for notes and time entries
	// Actor is the member who made the change (0: the PSA itself).
	Actor int64
	// ViaAPI is true for changes made through an emulator's API, false for
	// changes made "in the PSA UI" through the Go API.
	ViaAPI bool
	// Source is the source tag an API call carried (Zoho ignoreSourceId).
	Source string
	At     time.Time
}

// NewWorld returns an empty World on the given clock (nil: time.Now).
func NewWorld(now func() time.Time) *World {
	if now == nil {
		now = time.Now
	}
	return &World{
		now:       now,
		nextID:    1000,
		ticketIdx: map[int64]int{},
		notes:     map[int64][]Note{},
		times:     map[int64][]TimeEntry{},
		timeIdx:   map[int64]int64{},
	}
}

// Now returns the World's current time, UTC, truncated to milliseconds:
// the PSA's clock, which stamps its records and its answers' Date header.
func (w *World) Now() time.Time {
	return w.now().Add(time.Duration(w.skew.Load())).UTC().Truncate(time.Millisecond)
}

// SetClockSkew sets the PSA's clock d ahead of the clock the World was
// made with (negative: behind), as a PSA whose clock is off from the
// reconciler's is: records are stamped, and answers dated, with it.
func (w *World) SetClockSkew(d time.Duration) { w.skew.Store(int64(d)) }

// Subscribe registers f to receive every change. f runs synchronously
// after the edit; it must not call back into World edits.
func (w *World) Subscribe(f func(Change)) {
	w.lmu.Lock()
	defer w.lmu.Unlock()
	w.listeners = append(w.listeners, f)
}

func (w *World) emit(c Change) {
	w.lmu.Lock()
	ls := slices.Clone(w.listeners)
	w.lmu.Unlock()
	for _, f := range ls {
		f(c)
	}
}

func (w *World) id() int64 {
	w.nextID++
	return w.nextID
}
