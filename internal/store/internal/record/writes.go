package record

import (
	"cmp"
	"slices"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
)

// WriteColumns are the columns Write scans, in order.
const WriteColumns = `id, op, ticket_id, order_key, author, member_id, member_name, payload, idem_key, request_hash,
  marker, state, attempts, answer, result_id, uncertain, next_attempt, claimed_until, created_at, updated_at,
  finished_at, duration_us`

// WriteInsertColumns are the columns of a write's insert, in the order of
// WriteArgs.
const WriteInsertColumns = `account, provider, key, kind, op, ticket_id, order_key, author, member_id, member_name,
  payload, idem_key, request_hash, marker, state, next_attempt, created_at, updated_at`

// WriteArgs returns the arguments of a write's insert (WriteInsertColumns).
// The generic outbox key is the marker (unique); kind is the op.
func (t Times) WriteArgs(sc store.Scope, w store.Write) []any {
	return scope(sc, "write:"+w.Marker, w.Op, w.Op, w.TicketID, w.OrderKey, w.Author, w.MemberID, w.MemberName,
		JSON(w.Payload), w.IdempotencyKey, w.RequestHash, w.Marker, w.State, t.Bind(w.NextAttempt),
		t.Bind(w.CreatedAt), t.Bind(w.CreatedAt))
}

// Write scans a row of WriteColumns.
func (t Times) Write(r Row) (store.Write, error) {
	var w store.Write
	next, claimed, created, updated, finished := t.New(), t.New(), t.New(), t.New(), t.New()
	var payload []byte
	var durationUS int64
	if err := r.Scan(&w.ID, &w.Op, &w.TicketID, &w.OrderKey, &w.Author, &w.MemberID, &w.MemberName, &payload,
		&w.IdempotencyKey, &w.RequestHash, &w.Marker, &w.State, &w.Attempts, &w.Answer, &w.ResultID, &w.Uncertain,
		next, claimed, created, updated, finished, &durationUS); err != nil {
		return w, err
	}
	if len(payload) > 0 {
		w.Payload = payload
	}
	w.NextAttempt, w.ClaimedUntil, w.CreatedAt = next.Time(), claimed.Time(), created.Time()
	w.UpdatedAt, w.FinishedAt = updated.Time(), finished.Time()
	w.LastDuration = time.Duration(durationUS) * time.Microsecond
	return w, nil
}

// OutcomeArgs returns state, next_attempt, answer, result_id, uncertain,
// duration_us, updated_at and finished_at (NULL while live) of an
// outcome.
func (t Times) OutcomeArgs(o store.WriteOutcome) []any {
	finished := time.Time{}
	if o.State != store.WritePending {
		finished = o.At
	}
	next := o.Next
	if next.IsZero() {
		next = o.At
	}
	return []any{o.State, t.Bind(next), o.Answer, o.ResultID, o.Uncertain, o.Duration.Microseconds(),
		t.Bind(o.At), t.BindOpt(finished)}
}

// NoteColumns are the columns Note scans and NoteArgs binds after the
// scope, in order.
const NoteColumns = `external_id, ticket_id, text, internal, author_id, created_at, raw`

// NoteArgs returns the arguments of a note's upsert: account, provider,
// then NoteColumns.
func (t Times) NoteArgs(sc store.Scope, n helpdesk.Note) []any {
	return scope(sc, n.ExternalID, n.TicketID, n.Text, n.Internal, n.AuthorID, t.Bind(n.CreatedAt), JSON(n.Raw))
}

// Note scans a row of NoteColumns.
func (t Times) Note(r Row) (helpdesk.Note, error) {
	var n helpdesk.Note
	created := t.New()
	var raw []byte
	if err := r.Scan(&n.ExternalID, &n.TicketID, &n.Text, &n.Internal, &n.AuthorID, created, &raw); err != nil {
		return n, err
	}
	if len(raw) > 0 {
		n.Raw = raw
	}
	n.CreatedAt = created.Time()
	return n, nil
}

// SortWrites sorts claimed writes by ID (the order they were asked for).
func SortWrites(ws []store.Write) {
	slices.SortFunc(ws, func(a, b store.Write) int { return cmp.Compare(a.ID, b.ID) })
}

// OldestLive folds one state's oldest creation time into the oldest live
// write's.
func OldestLive(oldest time.Time, state string, created time.Time) time.Time {
	if state != store.WritePending && state != store.WriteInFlight || created.IsZero() {
		return oldest
	}
	if oldest.IsZero() || created.Before(oldest) {
		return created
	}
	return oldest
}

// Counted turns one conditional upsert that affected n rows into counts:
// a row that existed and was not touched is unchanged.
func Counted(existed bool, n int64) store.UpsertResult {
	switch {
	case !existed:
		return store.UpsertResult{Created: 1}
	case n > 0:
		return store.UpsertResult{Updated: 1}
	}
	return store.UpsertResult{Unchanged: 1}
}
