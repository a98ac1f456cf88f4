// Package query builds the filtered list queries both store backends run
// (sync runs, the callback log): the SQL is the same on both but for the
// placeholder style, which a Dialect supplies.
package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// Dialect is what differs between the backends' list queries.
type Dialect struct {
	// Placeholder returns the placeholder of the nth argument (from 1).
	Placeholder func(n int) string
	// Time encodes a time argument.
	Time func(time.Time) any
}

// Question is SQLite's placeholder: "?" whatever n.
func Question(int) string { return "?" }

// Dollar is PostgreSQL's placeholder: "$n".
func Dollar(n int) string { return "$" + strconv.Itoa(n) }

// Where accumulates AND-ed conditions and their arguments.
type Where struct {
	d     Dialect
	conds []string
	Args  []any
}

// Scoped returns the conditions selecting the rows of a scope.
func Scoped(d Dialect, sc store.Scope) *Where {
	w := &Where{d: d}
	w.Add("account = ?", sc.Account)
	w.Add("provider = ?", sc.Provider)
	return w
}

// Add adds a condition; each "?" in it becomes the placeholder of the
// next argument.
func (w *Where) Add(cond string, args ...any) {
	var b strings.Builder
	n := len(w.Args)
	for _, part := range strings.SplitAfter(cond, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			n++
			part = p + w.d.Placeholder(n)
		}
		b.WriteString(part)
	}
	w.conds = append(w.conds, b.String())
	w.Args = append(w.Args, args...)
}

// Next returns the placeholder of one more argument.
func (w *Where) Next(arg any) string {
	w.Args = append(w.Args, arg)
	return w.d.Placeholder(len(w.Args))
}

func (w *Where) String() string { return strings.Join(w.conds, " AND ") }

// Select returns the query of up to limit rows of table matching w, in
// order, and its arguments.
func (w *Where) Select(columns, table, order string, limit int) (string, []any) {
	q := "SELECT " + columns + " FROM " + table + " WHERE " + w.String() +
		" ORDER BY " + order + " LIMIT " + w.Next(limit)
	return q, w.Args
}

// SyncRunColumns are the columns record.SyncRun scans, in order.
const SyncRunColumns = `id, run_trigger, entity, ticket_id, started_at, finished_at,
  created, updated, unchanged, failed, error, outcome, skipped, skips, requests, paused_ms`

// SyncRuns returns the query of the runs f selects, newest first (by
// start, then ID), and its arguments.
func SyncRuns(d Dialect, sc store.Scope, f store.SyncRunFilter) (string, []any) {
	w := Scoped(d, sc)
	if f.Entity != "" {
		w.Add("entity = ?", string(f.Entity))
	}
	if f.Trigger != "" {
		w.Add("run_trigger = ?", f.Trigger)
	}
	if !f.Since.IsZero() {
		w.Add("started_at >= ?", d.Time(f.Since))
	}
	if f.FailedOnly {
		// A cancelled run (the process was stopping) is no failure; an
		// interrupted one (its process died) is.
		w.Add("(outcome IN (?, ?) OR outcome = '' AND error <> '' OR failed > 0)", store.RunFailed, store.RunInterrupted)
	}
	if f.TicketID != "" {
		w.Add("ticket_id = ?", f.TicketID)
	}
	w.before(d, "started_at", f.Before)
	return w.Select(SyncRunColumns, "sync_runs", "started_at DESC, id DESC", norm.Limit(f.Limit))
}

// PendingCallbacks returns the conditions of accepted, unprocessed
// callbacks. The result is a literal, as in the partial index of pending
// callbacks: a prepared statement whose plan used a bound value is
// planned again each time the value is bound.
func PendingCallbacks(d Dialect, sc store.Scope) *Where {
	w := Scoped(d, sc)
	w.Add("result = '" + store.CallbackAccepted + "'")
	return w
}

// Callbacks returns the conditions of the callbacks f selects.
// ExternalID matches exactly one of a record's external IDs; Since is
// inclusive, Until exclusive.
func Callbacks(d Dialect, sc store.Scope, f store.CallbackFilter) *Where {
	w := Scoped(d, sc)
	if f.ExternalID != "" {
		w.Add(`id IN (SELECT callback_id FROM callback_external_ids
  WHERE account = ? AND provider = ? AND external_id = ?)`, sc.Account, sc.Provider, f.ExternalID)
	}
	if !f.Since.IsZero() {
		w.Add("received_at >= ?", d.Time(f.Since))
	}
	if !f.Until.IsZero() {
		w.Add("received_at < ?", d.Time(f.Until))
	}
	if f.FailedOnly {
		w.Add("result IN (?, ?)", store.CallbackRejected, store.CallbackFailed)
	}
	if f.Result != "" {
		w.Add("result = ?", f.Result)
	}
	if f.Entity != "" {
		// Events are entity.action; the entity names hold no LIKE wildcards.
		w.Add("event LIKE ?", strings.NewReplacer("%", "", "_", "").Replace(f.Entity)+".%")
	}
	w.before(d, "received_at", f.Before)
	return w
}

// Outbox returns the query of the outbox items f selects, newest first
// (by creation, then ID). payloadTicket is the backend's expression of
// the payload's top-level "ticketId".
func Outbox(d Dialect, sc store.Scope, f store.OutboxFilter, columns, payloadTicket string) (string, []any) {
	w := Scoped(d, sc)
	if f.State != "" {
		w.Add("state = ?", f.State)
	}
	if f.Kind != "" {
		w.Add("kind = ?", f.Kind)
	}
	if f.TicketID != "" {
		w.Add(payloadTicket+" = ?", f.TicketID)
	}
	w.before(d, "created_at", f.Before)
	return w.Select(columns, "outbox", "created_at DESC, id DESC", norm.Limit(f.Limit))
}

// before keeps the rows after c in newest-first order of (column, id).
func (w *Where) before(d Dialect, column string, c store.Cursor) {
	if c.IsZero() {
		return
	}
	at := d.Time(c.At)
	w.Add("("+column+" < ? OR ("+column+" = ? AND id < ?))", at, at, c.ID)
}
