package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
)

// Write operations: what a write asks the PSA to do.
const (
	OpCreateTicket = "ticket.create"
	OpUpdateTicket = "ticket.update"
	OpAddNote      = "note.create"
	OpAddTime      = "timeEntry.create"
)

// Write states. A write is live while pending or in flight; the others
// are final. WriteUnknown is a write whose outcome the PSA could not tell
// (the answer was lost and the PSA cannot be searched for its marker): it
// is never sent again on its own, an admin decides.
const (
	WritePending  = OutboxPending
	WriteInFlight = OutboxInFlight
	WriteDone     = OutboxDone
	WriteFailed   = "failed" // the PSA refused it; Answer says why
	WriteDead     = OutboxDead
	WriteUnknown  = "unknown"
)

// ErrIdempotencyConflict means an idempotency key was used before for a
// different request.
var ErrIdempotencyConflict = errors.New("idempotency key already used for a different request")

// ErrClaimLost means a write's outcome was recorded by a worker whose
// claim had expired and been taken over: the newer attempt decides.
var ErrClaimLost = errors.New("write claim lost")

// Write is one write-back request in the outbox: what Horizon asked the
// PSA to do, for whom, and what became of it.
type Write struct {
	ID       int64  `json:"id"`
	Op       string `json:"op"`
	TicketID string `json:"ticketId,omitempty"` // "" for a ticket create
	// OrderKey serialises writes: writes with one key go out one at a
	// time in ID order. "" means unordered.
	OrderKey string `json:"-"`
	// Author is the Horizon user who asked for the write.
	Author string `json:"author"`
	// MemberID and MemberName are the helpdesk user the write is made as.
	MemberID   string          `json:"memberId,omitempty"`
	MemberName string          `json:"memberName,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	// IdempotencyKey is unique per account: a repeated key returns the
	// first write.
	IdempotencyKey string `json:"idempotencyKey"`
	// RequestHash tells a repeated request from a different one reusing
	// its key.
	RequestHash string `json:"-"`
	// Marker is stored in what the write creates, so that it can be found
	// when the PSA's answer is lost.
	Marker   string `json:"marker"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Answer is the PSA's answer in an admin's words: why it refused, the
	// last transient failure, or what it made.
	Answer string `json:"answer,omitempty"`
	// ResultID is the ID of what the write made or changed.
	ResultID string `json:"resultId,omitempty"`
	// Uncertain is true when an earlier attempt may have reached the PSA
	// without its answer being recorded: the next attempt looks for the
	// marker before sending.
	Uncertain    bool          `json:"uncertain,omitempty"`
	NextAttempt  time.Time     `json:"nextAttempt"`
	ClaimedUntil time.Time     `json:"claimedUntil,omitzero"`
	CreatedAt    time.Time     `json:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt"`
	FinishedAt   time.Time     `json:"finishedAt,omitzero"`
	LastDuration time.Duration `json:"lastDuration,omitempty"` // of the last attempt
}

// Live reports whether the write may still be delivered.
func (w Write) Live() bool { return w.State == WritePending || w.State == WriteInFlight }

// WriteOutcome is the result of one delivery attempt.
type WriteOutcome struct {
	// Attempt is the attempt count of the claim being finished; an
	// outcome from an older claim is refused with ErrClaimLost.
	Attempt int
	// State is pending (try again at Next) or a final state.
	State     string
	Next      time.Time
	Answer    string
	ResultID  string
	Uncertain bool
	Duration  time.Duration
	At        time.Time
}

// WriteFilter selects writes for the write log; zero fields select all.
type WriteFilter struct {
	TicketID string
	// IdempotencyKey selects the write of one key.
	IdempotencyKey string
	States         []string
	// FailedOnly selects failed, dead and unknown writes.
	FailedOnly bool
	// Since selects writes asked for at or after it.
	Since time.Time
	// FinishedSince selects writes finished at or after it.
	FinishedSince time.Time
	Limit         int // 0 means 100
}

// WriteStats counts writes by state, with the oldest live one.
type WriteStats struct {
	ByState    map[string]int `json:"byState"`
	OldestLive time.Time      `json:"oldestLive,omitzero"`
}

// WriteStore is the write-back outbox and the notes synced from the PSA.
type WriteStore interface {
	// EnqueueWrite stores w as pending and returns it with its ID and
	// created true. When w.IdempotencyKey was used before in the scope it
	// returns the first write and created false, or ErrIdempotencyConflict
	// when w.RequestHash differs from the first write's.
	EnqueueWrite(ctx context.Context, s Scope, w Write) (Write, bool, error)
	// ClaimWrites claims up to n writes due at now for lease: each becomes
	// in flight and its attempt count grows by one. Writes sharing an
	// OrderKey go out one at a time in ID order: a write is claimed only
	// when no earlier write with its key is live and none is in flight. A
	// claim taken over after expiry marks the write Uncertain.
	ClaimWrites(ctx context.Context, s Scope, n int, lease time.Duration, now time.Time) ([]Write, error)
	// FinishWrite records the outcome of the claim o.Attempt of write id.
	// ErrClaimLost when the write is no longer in flight under that claim;
	// ErrNotFound when id is unknown.
	FinishWrite(ctx context.Context, s Scope, id int64, o WriteOutcome) error
	// Write returns one write; ErrNotFound when absent.
	Write(ctx context.Context, s Scope, id int64) (Write, error)
	// Writes lists writes newest first.
	Writes(ctx context.Context, s Scope, f WriteFilter) ([]Write, error)
	// WriteStats counts writes by state.
	WriteStats(ctx context.Context, s Scope) (WriteStats, error)

	// UpsertNotes stores notes keyed by ExternalID, replacing stored ones.
	UpsertNotes(ctx context.Context, s Scope, notes []helpdesk.Note) (UpsertResult, error)
	// Notes returns a ticket's stored notes, oldest first.
	Notes(ctx context.Context, s Scope, ticketID string) ([]helpdesk.Note, error)
}
