// Package store holds Horizon's local copy of the helpdesk and its audit
// trails (sync runs, callback log, outbox, widget checks), behind one Store
// interface with two backends: SQLite in one file (package sqlite, the
// embedded default) and PostgreSQL (package postgres). Both pass the
// conformance suite in package storetest.
//
// Backends register themselves by URL scheme; Open picks one from
// HORIZON_DATABASE_URL (sqlite:PATH, postgres://...).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrLeaseHeld means another holder owns an unexpired lease.
	ErrLeaseHeld = errors.New("lease held by another holder")
	// ErrLeaseLost means the caller's lease expired or was taken over
	// (its epoch is no longer current).
	ErrLeaseLost = errors.New("lease lost")
	// ErrTooNew means the database was migrated by a newer binary.
	ErrTooNew = errors.New("database schema is newer than this binary understands")
)

// Scope keys every row: one Horizon account on one provider.
type Scope struct {
	Account  string
	Provider string
}

// UpsertResult counts what a bulk upsert did.
type UpsertResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// Add sums two results.
func (r UpsertResult) Add(o UpsertResult) UpsertResult {
	return UpsertResult{r.Created + o.Created, r.Updated + o.Updated, r.Unchanged + o.Unchanged}
}

// Batch is one page of synced records of a single entity. Exactly the
// slice matching Entity is read.
type Batch struct {
	Entity      helpdesk.Entity
	Tickets     []helpdesk.Ticket
	Contacts    []helpdesk.Contact
	Companies   []helpdesk.Company
	TimeEntries []helpdesk.TimeEntry
	Members     []helpdesk.Member
	// Watermark, when not nil, is stored for Entity in the same
	// transaction as the rows.
	Watermark *Watermark
	// Authoritative records are the PSA's current state, asked for
	// explicitly (a manual full or one-ticket sync): each replaces the
	// stored record whenever they differ, even one with a newer
	// UpdatedAt (a record once dated in the future would never change
	// again otherwise).
	Authoritative bool
}

// Watermark is the sync position of one entity.
type Watermark struct {
	// UpdatedThrough: every record the PSA updated at or before this
	// time is in the store.
	UpdatedThrough time.Time `json:"updatedThrough"`
	// BackfilledFrom: the ingest window has been backfilled back to this
	// time (zero before the first backfill completes).
	BackfilledFrom time.Time `json:"backfilledFrom"`
	// Cursor is an opaque resume point for an unfinished backfill.
	Cursor string `json:"cursor,omitempty"`
}

// Sync run triggers.
const (
	TriggerBackfill = "backfill"
	TriggerPoll     = "poll"
	TriggerCallback = "callback"
	TriggerManual   = "manual"
	// TriggerReconcile: work a reconcile pass applied (apply, or the
	// daemon's pass), such as a picklist refresh.
	TriggerReconcile = "reconcile"
)

// SyncRun is one row of the sync run log.
type SyncRun struct {
	ID         int64           `json:"id"`
	Trigger    string          `json:"trigger"`
	Entity     helpdesk.Entity `json:"entity"`
	TicketID   string          `json:"ticketId,omitempty"` // one-ticket syncs
	StartedAt  time.Time       `json:"startedAt"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"` // zero while running
	Created    int             `json:"created"`
	Updated    int             `json:"updated"`
	Unchanged  int             `json:"unchanged"`
	Failed     int             `json:"failed"`
	Error      string          `json:"error,omitempty"`
	// Outcome is one of the Run* outcomes once the run ended; empty
	// while it runs (and for runs recorded by older versions).
	Outcome string `json:"outcome,omitempty"`
	// Skipped counts records the PSA sent that could not be used
	// (Skips names the first MaxSkips of them); they do not fail the run.
	Skipped int             `json:"skipped"`
	Skips   []SkippedRecord `json:"skips,omitempty"`
	// Requests the run made to the PSA, and the time it was held back at
	// the API budget's reserve (sync.budgetReserve).
	Requests int           `json:"requests"`
	Paused   time.Duration `json:"pausedNanos,omitempty"`
}

// SyncRunFilter selects sync runs; zero fields select all.
type SyncRunFilter struct {
	Entity     helpdesk.Entity
	Trigger    string
	Since      time.Time
	FailedOnly bool
	Limit      int    // 0 means 100
	TicketID   string // one-ticket syncs of this ticket
	Before     Cursor // rows after this one in list order (the next page)
}

// Callback results, as recorded in the callback log.
const (
	CallbackAccepted  = "accepted"  // verified and logged, not yet processed
	CallbackProcessed = "processed" // the change was fetched and stored
	CallbackRejected  = "rejected"  // failed verification or parsing
	CallbackDuplicate = "duplicate" // a repeated delivery
	CallbackFailed    = "failed"    // processing failed
)

// CallbackRecord is one row of the callback log.
type CallbackRecord struct {
	ID          int64     `json:"id"`
	ReceivedAt  time.Time `json:"receivedAt"`
	Provider    string    `json:"provider"`
	Event       string    `json:"event"`      // normalised event, "" when unparseable
	DeliveryID  string    `json:"deliveryId"` // de-duplication key; may be ""
	ExternalIDs []string  `json:"externalIds,omitempty"`
	Verified    bool      `json:"verified"`
	Result      string    `json:"result"`
	Reason      string    `json:"reason,omitempty"` // why rejected or failed
	// Payload is the body, or a bounded excerpt of it.
	Payload     []byte    `json:"payload,omitempty"`
	ProcessedAt time.Time `json:"processedAt,omitzero"`
}

// CallbackBatch is one scope's deliveries in InsertCallbackBatches, which
// sets IDs and Dup as InsertCallbacks returns them.
type CallbackBatch struct {
	Scope   Scope
	Records []CallbackRecord
	IDs     []int64
	Dup     []bool
}

// CallbackFilter selects callback log rows; zero fields select all.
type CallbackFilter struct {
	ExternalID string // a ticket's (or other record's) external ID
	Since      time.Time
	Until      time.Time
	FailedOnly bool   // rejected or failed
	Limit      int    // 0 means 100
	Result     string // exactly this result
	Entity     string // events of this entity: "ticket" selects ticket.created, ticket.updated…
	Before     Cursor // rows after this one in list order (the next page)
}

// CallbackStats summarises the callback log since a time.
type CallbackStats struct {
	ByResult     map[string]int `json:"byResult"`
	LastReceived time.Time      `json:"lastReceived,omitzero"`
}

// Outbox states.
const (
	OutboxPending  = "pending"
	OutboxInFlight = "inflight"
	OutboxDone     = "done"
	OutboxDead     = "dead"
)

// OutboxItem is one write to make to the PSA.
type OutboxItem struct {
	ID int64 `json:"id"`
	// Key de-duplicates enqueues (tenant, entity, op, content hash).
	Key         string          `json:"key"`
	Kind        string          `json:"kind"` // note, status, assign, timeEntry
	Payload     json.RawMessage `json:"payload"`
	Attempts    int             `json:"attempts"`
	NextAttempt time.Time       `json:"nextAttempt"`
	State       string          `json:"state"`
	LastError   string          `json:"lastError,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	// ClaimedUntil is when an in-flight claim expires and the item may be
	// claimed again.
	ClaimedUntil time.Time `json:"claimedUntil,omitzero"`
}

// OutboxStats is the outbox backlog.
type OutboxStats struct {
	Pending int       `json:"pending"`
	Oldest  time.Time `json:"oldest,omitzero"`
	Dead    int       `json:"dead"`
}

// UserMapping binds a helpdesk user to a Horizon user.
type UserMapping struct {
	HelpdeskUserID string    `json:"helpdeskUserId"` // member external ID
	HorizonUser    string    `json:"horizonUser"`    // email
	UpdatedAt      time.Time `json:"updatedAt"`
}

// WidgetCheck is the latest health check of one widget.
type WidgetCheck struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	Up          bool      `json:"up"`
	CheckedAt   time.Time `json:"checkedAt"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
}

// Lease is leadership of one name for a time. Epoch increases every time
// the lease changes holder, so a holder can tell a renewal from a
// take-over in between.
type Lease struct {
	Name      string    `json:"name"`
	Holder    string    `json:"holder"`
	Epoch     int64     `json:"epoch"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Store is Horizon's database. Every method is safe for concurrent use.
type Store interface {
	TokenStore
	WriteStore

	// Backend returns "sqlite" or "postgres".
	Backend() string
	// Close releases the database.
	Close() error

	// WriteBatch upserts one page of records and, if set, the entity's
	// watermark, in one transaction. A record never replaces a stored
	// one with a newer UpdatedAt (equal times update only if the content
	// differs), unless the batch is Authoritative. Records are keyed by (scope, entity, ExternalID).
	WriteBatch(ctx context.Context, s Scope, b Batch) (UpsertResult, error)
	// Watermark returns the entity's watermark (zero value when none).
	Watermark(ctx context.Context, s Scope, e helpdesk.Entity) (Watermark, error)
	// SetWatermark stores the entity's watermark.
	SetWatermark(ctx context.Context, s Scope, e helpdesk.Entity, w Watermark) error

	// Ticket returns one stored ticket; ErrNotFound when absent.
	Ticket(ctx context.Context, s Scope, externalID string) (helpdesk.Ticket, error)
	// Count returns how many records of an entity are stored.
	Count(ctx context.Context, s Scope, e helpdesk.Entity) (int, error)
	// Tickets iterates stored tickets in external-ID order (tests,
	// comparisons); the iterator holds no more than a page in memory.
	Tickets(ctx context.Context, s Scope) func(yield func(helpdesk.Ticket, error) bool)
	// Members returns every stored helpdesk user.
	Members(ctx context.Context, s Scope) ([]helpdesk.Member, error)

	// ReplacePicklists replaces the picklist database in one transaction.
	ReplacePicklists(ctx context.Context, s Scope, p []helpdesk.Picklist, at time.Time) error
	// Picklists returns the picklist database and when it was refreshed.
	Picklists(ctx context.Context, s Scope) ([]helpdesk.Picklist, time.Time, error)

	// UserMappings returns every mapping.
	UserMappings(ctx context.Context, s Scope) ([]UserMapping, error)
	// SetUserMapping creates or replaces the mapping of m.HelpdeskUserID.
	SetUserMapping(ctx context.Context, s Scope, m UserMapping) error
	// DeleteUserMapping removes a mapping; removing a missing one is not
	// an error.
	DeleteUserMapping(ctx context.Context, s Scope, helpdeskUserID string) error
	// UnmappedActiveMembers returns active helpdesk users with no mapping.
	UnmappedActiveMembers(ctx context.Context, s Scope) ([]helpdesk.Member, error)

	// StartSyncRun records a run as started and returns its ID.
	StartSyncRun(ctx context.Context, s Scope, r SyncRun) (int64, error)
	// FinishSyncRun records a run's end, counts and error.
	FinishSyncRun(ctx context.Context, s Scope, r SyncRun) error
	// SyncRuns lists runs newest first.
	SyncRuns(ctx context.Context, s Scope, f SyncRunFilter) ([]SyncRun, error)

	// InsertCallbacks durably logs deliveries in one transaction. For a
	// record whose DeliveryID was already logged, the returned flag is
	// true and the record is stored with result duplicate.
	InsertCallbacks(ctx context.Context, s Scope, recs []CallbackRecord) (ids []int64, dup []bool, err error)
	// InsertCallbackBatches logs the deliveries of several scopes (one
	// group commit of a process serving many accounts) in one
	// transaction, as InsertCallbacks does for one: every batch's IDs and
	// Dup are set, or none is logged.
	InsertCallbackBatches(ctx context.Context, bs []CallbackBatch) error
	// PendingCallbacks returns accepted, unprocessed callbacks, oldest
	// first.
	PendingCallbacks(ctx context.Context, s Scope, limit int) ([]CallbackRecord, error)
	// MarkCallbacks sets the result (processed or failed) of callbacks.
	MarkCallbacks(ctx context.Context, s Scope, ids []int64, result, reason string, at time.Time) error
	// Callbacks lists the callback log newest first.
	Callbacks(ctx context.Context, s Scope, f CallbackFilter) ([]CallbackRecord, error)
	// CallbackStats counts callbacks received since a time by result.
	CallbackStats(ctx context.Context, s Scope, since time.Time) (CallbackStats, error)

	// Enqueue adds a write to the outbox; an item whose Key is already
	// queued is not added again and its existing ID is returned.
	Enqueue(ctx context.Context, s Scope, it OutboxItem) (int64, error)
	// ClaimOutbox claims up to n due items for lease; two workers never
	// claim the same item while its claim is live.
	ClaimOutbox(ctx context.Context, s Scope, n int, lease time.Duration, now time.Time) ([]OutboxItem, error)
	// CompleteOutbox marks an item done.
	CompleteOutbox(ctx context.Context, s Scope, id int64) error
	// FailOutbox records a failed attempt; the item is retried at next,
	// or is dead when dead is true.
	FailOutbox(ctx context.Context, s Scope, id int64, reason string, next time.Time, dead bool) error
	// OutboxStats returns the backlog.
	OutboxStats(ctx context.Context, s Scope) (OutboxStats, error)

	// RecordWidgetCheck stores a widget health check result.
	RecordWidgetCheck(ctx context.Context, s Scope, c WidgetCheck) error
	// WidgetChecks returns the latest check of every widget.
	WidgetChecks(ctx context.Context, s Scope) ([]WidgetCheck, error)

	Browse
	SyncRunProgress
	SyncRunRecorder
	Retention
	FleetOutbox

	// AcquireLease takes or renews the named lease for holder. It returns
	// ErrLeaseHeld when another holder's lease is unexpired, with that
	// lease (its holder and expiry, when known) so the caller can try
	// again as it expires.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease up if holder still holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// Leases returns the unexpired leases whose name starts with prefix,
	// by name (replicas use it to see each other and share accounts).
	Leases(ctx context.Context, prefix string) ([]Lease, error)
}
