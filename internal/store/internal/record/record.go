// Package record maps the rows of the store's own tables (sync runs, the
// callback log, the outbox, widget checks, user mappings, watermarks,
// picklists) to the store's types and back, once for both backends. A
// backend supplies, in Times, how it binds and scans times; the SQL
// around these values stays in the backend.
package record

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/entity"
)

// Row is one result row (database/sql and pgx rows both are).
type Row interface{ Scan(dest ...any) error }

// Rows is a result set (database/sql and pgx rows both are). Closing it
// stays with the caller.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// Collect scans every row of rows with scan.
func Collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Times is how a backend binds and scans time columns.
type Times struct {
	// Bind encodes a time for a NOT NULL column.
	Bind func(time.Time) any
	// New returns a scan destination for a time column; NULL scans as
	// the zero time.
	New func() entity.TimeScanner
}

// BindOpt encodes a time for a nullable column: NULL for the zero time.
func (t Times) BindOpt(x time.Time) any {
	if x.IsZero() {
		return nil
	}
	return t.Bind(x)
}

// scope returns the account and provider followed by args.
func scope(sc store.Scope, args ...any) []any {
	return append([]any{sc.Account, sc.Provider}, args...)
}

// JSON passes JSON text, or NULL when empty.
func JSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// WidgetCheckArgs returns the arguments of a widget check's upsert:
// account, provider, name, url, up, checked_at, last_success, last_error,
// last_error_at.
func (t Times) WidgetCheckArgs(sc store.Scope, c store.WidgetCheck, lastSuccess, lastErrorAt time.Time) []any {
	return scope(sc, c.Name, c.URL, c.Up, t.Bind(c.CheckedAt), t.BindOpt(lastSuccess), c.LastError, t.BindOpt(lastErrorAt))
}

// WidgetCheckColumns are the columns WidgetCheck scans, in order.
const WidgetCheckColumns = "name, url, up, checked_at, last_success, last_error, last_error_at"

// WidgetCheck scans a row of WidgetCheckColumns.
func (t Times) WidgetCheck(r Row) (store.WidgetCheck, error) {
	var c store.WidgetCheck
	checked, ok, failed := t.New(), t.New(), t.New()
	if err := r.Scan(&c.Name, &c.URL, &c.Up, checked, ok, &c.LastError, failed); err != nil {
		return c, err
	}
	c.CheckedAt, c.LastSuccess, c.LastErrorAt = checked.Time(), ok.Time(), failed.Time()
	return c, nil
}

// UserMappingArgs returns the arguments of a mapping's upsert: account,
// provider, helpdesk_user_id, horizon_user, updated_at.
func (t Times) UserMappingArgs(sc store.Scope, m store.UserMapping) []any {
	return scope(sc, m.HelpdeskUserID, m.HorizonUser, t.Bind(m.UpdatedAt))
}

// UserMappingColumns are the columns UserMapping scans, in order.
const UserMappingColumns = "helpdesk_user_id, horizon_user, updated_at"

// UserMapping scans a row of UserMappingColumns.
func (t Times) UserMapping(r Row) (store.UserMapping, error) {
	var m store.UserMapping
	at := t.New()
	if err := r.Scan(&m.HelpdeskUserID, &m.HorizonUser, at); err != nil {
		return m, err
	}
	m.UpdatedAt = at.Time()
	return m, nil
}

// PicklistArgs returns the arguments of the insert of the picklist at
// position i: account, provider, position, kind, scope, scope_id, items.
func PicklistArgs(sc store.Scope, i int, p helpdesk.Picklist) ([]any, error) {
	items, err := json.Marshal(p.Values)
	if err != nil {
		return nil, err
	}
	return scope(sc, i, string(p.Kind), p.Scope, p.ScopeID, string(items)), nil
}

// Picklist scans a row of kind, scope, scope_id and items (JSON text).
func Picklist(r Row) (helpdesk.Picklist, error) {
	var p helpdesk.Picklist
	var items []byte
	if err := r.Scan(&p.Kind, &p.Scope, &p.ScopeID, &items); err != nil {
		return p, err
	}
	if err := json.Unmarshal(items, &p.Values); err != nil {
		return p, fmt.Errorf("picklist %s values: %w", p.Kind, err)
	}
	return p, nil
}

// WatermarkArgs returns the arguments of a watermark's upsert: account,
// provider, entity, updated_through, backfilled_from, cursor.
func (t Times) WatermarkArgs(sc store.Scope, e helpdesk.Entity, w store.Watermark) []any {
	return scope(sc, string(e), t.Bind(w.UpdatedThrough), t.Bind(w.BackfilledFrom), w.Cursor)
}

// Watermark scans a row of updated_through, backfilled_from and cursor.
func (t Times) Watermark(r Row) (store.Watermark, error) {
	var w store.Watermark
	through, from := t.New(), t.New()
	if err := r.Scan(through, from, &w.Cursor); err != nil {
		return w, err
	}
	w.UpdatedThrough, w.BackfilledFrom = through.Time(), from.Time()
	return w, nil
}

// StartSyncRunArgs returns the arguments of a run's insert: account,
// provider, run_trigger, entity, ticket_id, started_at.
func (t Times) StartSyncRunArgs(sc store.Scope, r store.SyncRun) []any {
	return scope(sc, r.Trigger, string(r.Entity), r.TicketID, t.Bind(r.StartedAt))
}

// FinishSyncRunArgs returns the arguments of a run's end: finished_at,
// created, updated, unchanged, failed, error, outcome, skipped, skips
// (JSON text), requests, paused_ms, then the account, provider and id it is of.
func (t Times) FinishSyncRunArgs(sc store.Scope, r store.SyncRun) []any {
	return append([]any{t.Bind(r.FinishedAt)}, ProgressSyncRunArgs(sc, r)...)
}

// ProgressSyncRunArgs returns the arguments of a running run's counts:
// created, updated, unchanged, failed, error, outcome, skipped, skips
// (JSON text), requests, paused_ms, then the account, provider and id it is of.
func ProgressSyncRunArgs(sc store.Scope, r store.SyncRun) []any {
	skips, _ := json.Marshal(r.Skips) // a slice of string pairs always marshals
	if r.Skips == nil {
		skips = []byte("[]")
	}
	return []any{r.Created, r.Updated, r.Unchanged, r.Failed, r.Error, r.Outcome, r.Skipped, string(skips),
		r.Requests, r.Paused.Milliseconds(), sc.Account, sc.Provider, r.ID}
}

// SyncRun scans a row of query.SyncRunColumns.
func (t Times) SyncRun(row Row) (store.SyncRun, error) {
	var r store.SyncRun
	started, finished := t.New(), t.New()
	var skips string
	var pausedMS int64
	if err := row.Scan(&r.ID, &r.Trigger, &r.Entity, &r.TicketID, started, finished,
		&r.Created, &r.Updated, &r.Unchanged, &r.Failed, &r.Error, &r.Outcome, &r.Skipped, &skips,
		&r.Requests, &pausedMS); err != nil {
		return r, err
	}
	r.Paused = time.Duration(pausedMS) * time.Millisecond
	r.StartedAt, r.FinishedAt = started.Time(), finished.Time()
	if err := json.Unmarshal([]byte(skips), &r.Skips); err != nil {
		return r, fmt.Errorf("sync run %d: skips: %w", r.ID, err)
	}
	if len(r.Skips) == 0 {
		r.Skips = nil
	}
	return r, nil
}

// CallbackArgs returns the arguments of a callback's insert: account,
// provider, received_at, source_provider, event, delivery_id, dedupe_key,
// external_ids, verified, result, reason, payload, processed_at.
func (t Times) CallbackArgs(sc store.Scope, r store.CallbackRecord, key *string) ([]any, error) {
	xids, err := json.Marshal(r.ExternalIDs)
	if err != nil {
		return nil, err
	}
	return scope(sc, t.Bind(r.ReceivedAt), r.Provider, r.Event, r.DeliveryID, key, string(xids),
		r.Verified, r.Result, r.Reason, r.Payload, t.BindOpt(r.ProcessedAt)), nil
}

// Callback scans a row of id, received_at, source_provider, event,
// delivery_id, external_ids (JSON text), verified, result, reason,
// payload and processed_at.
func (t Times) Callback(row Row) (store.CallbackRecord, error) {
	var r store.CallbackRecord
	received, processed := t.New(), t.New()
	var xids []byte
	if err := row.Scan(&r.ID, received, &r.Provider, &r.Event, &r.DeliveryID, &xids, &r.Verified,
		&r.Result, &r.Reason, &r.Payload, processed); err != nil {
		return r, err
	}
	if err := json.Unmarshal(xids, &r.ExternalIDs); err != nil {
		return r, fmt.Errorf("callback %d external IDs: %w", r.ID, err)
	}
	r.ReceivedAt, r.ProcessedAt = received.Time(), processed.Time()
	return r, nil
}

// CountByResult adds the rows of result and count to byResult.
func CountByResult(rows Rows, byResult map[string]int) error {
	for rows.Next() {
		var result string
		var n int
		if err := rows.Scan(&result, &n); err != nil {
			return err
		}
		byResult[result] = n
	}
	return rows.Err()
}

// OutboxArgs returns the arguments of an item's insert: account,
// provider, key, kind, payload, next_attempt, state, created_at.
func (t Times) OutboxArgs(sc store.Scope, it store.OutboxItem) []any {
	return scope(sc, it.Key, it.Kind, JSON(it.Payload), t.Bind(it.NextAttempt), it.State, t.Bind(it.CreatedAt))
}

// OutboxItem scans a row of id, key, kind, payload (JSON text), attempts,
// next_attempt, state, last_error, created_at and claimed_until.
func (t Times) OutboxItem(r Row) (store.OutboxItem, error) {
	var it store.OutboxItem
	next, created, claimed := t.New(), t.New(), t.New()
	var payload []byte
	if err := r.Scan(&it.ID, &it.Key, &it.Kind, &payload, &it.Attempts, next, &it.State,
		&it.LastError, created, claimed); err != nil {
		return it, err
	}
	if len(payload) > 0 {
		it.Payload = payload
	}
	it.NextAttempt, it.CreatedAt, it.ClaimedUntil = next.Time(), created.Time(), claimed.Time()
	return it, nil
}

// SortClaimed sorts claimed items by next attempt, then ID.
func SortClaimed(items []store.OutboxItem) {
	slices.SortFunc(items, func(a, b store.OutboxItem) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

// Records returns a scanner of rows of sp's columns into what build
// makes of them.
func Records[T any](t Times, sp *entity.Spec, build func([]any) T) func(Row) (T, error) {
	return func(r Row) (T, error) {
		v, err := sp.Scan(r, t.New)
		if err != nil {
			var zero T
			return zero, err
		}
		return build(v), nil
	}
}

// TicketPage is how many tickets a Tickets iterator reads per query.
const TicketPage = 500

// Tickets iterates tickets in external-ID order, one page at a time:
// page returns up to TicketPage tickets after an external ID ("" for the
// first page). An error of page is yielded as it is, and ends the
// iteration.
func Tickets(page func(after string) ([]helpdesk.Ticket, error)) func(yield func(helpdesk.Ticket, error) bool) {
	return func(yield func(helpdesk.Ticket, error) bool) {
		after := ""
		for {
			p, err := page(after)
			if err != nil {
				yield(helpdesk.Ticket{}, err)
				return
			}
			for _, t := range p {
				if !yield(t, nil) {
					return
				}
			}
			if len(p) < TicketPage {
				return
			}
			after = p[len(p)-1].ExternalID
		}
	}
}
