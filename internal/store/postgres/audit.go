package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// where accumulates AND-ed conditions and their arguments; each "?" in a
// condition becomes the next $n placeholder.
type where struct {
	conds []string
	args  []any
}

func scoped(sc store.Scope) *where {
	w := &where{}
	w.add("account = ?", sc.Account)
	w.add("provider = ?", sc.Provider)
	return w
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	n := len(w.args)
	for _, part := range strings.SplitAfter(cond, "?") {
		if p, ok := strings.CutSuffix(part, "?"); ok {
			n++
			part = p + "$" + strconv.Itoa(n)
		}
		b.WriteString(part)
	}
	w.conds = append(w.conds, b.String())
	w.args = append(w.args, args...)
}

// next returns the placeholder of one more argument.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// StartSyncRun records a run as started (now when StartedAt is zero) and
// returns its ID.
func (s *Store) StartSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO sync_runs (account, provider, run_trigger, entity, ticket_id, started_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, sc.Account, sc.Provider, r.Trigger, string(r.Entity), r.TicketID,
		ts(norm.Or(r.StartedAt, s.now))).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: start sync run: %w", err)
	}
	return id, nil
}

// FinishSyncRun records a run's end (now when FinishedAt is zero), counts
// and error; store.ErrNotFound when r.ID is not a run of the scope.
func (s *Store) FinishSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sync_runs SET finished_at = $1, created = $2, updated = $3, unchanged = $4,
  failed = $5, error = $6 WHERE account = $7 AND provider = $8 AND id = $9`,
		ts(norm.Or(r.FinishedAt, s.now)), r.Created, r.Updated, r.Unchanged, r.Failed, r.Error,
		sc.Account, sc.Provider, r.ID)
	if err == nil {
		err = oneRow(tag, fmt.Sprintf("sync run %d", r.ID))
	}
	if err != nil {
		return fmt.Errorf("postgres: finish sync run: %w", err)
	}
	return nil
}

func oneRow(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// SyncRuns lists runs newest first (by start, then ID).
func (s *Store) SyncRuns(ctx context.Context, sc store.Scope, f store.SyncRunFilter) ([]store.SyncRun, error) {
	w := scoped(sc)
	if f.Entity != "" {
		w.add("entity = ?", string(f.Entity))
	}
	if f.Trigger != "" {
		w.add("run_trigger = ?", f.Trigger)
	}
	if !f.Since.IsZero() {
		w.add("started_at >= ?", ts(f.Since))
	}
	if f.FailedOnly {
		w.add("(error <> '' OR failed > 0)")
	}
	rows, err := s.pool.Query(ctx, `SELECT id, run_trigger, entity, ticket_id, started_at, finished_at,
  created, updated, unchanged, failed, error FROM sync_runs WHERE `+w.String()+`
ORDER BY started_at DESC, id DESC LIMIT `+w.next(norm.Limit(f.Limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: sync runs: %w", err)
	}
	defer rows.Close()
	var out []store.SyncRun
	for rows.Next() {
		var r store.SyncRun
		var started, finished tsScan
		if err := rows.Scan(&r.ID, &r.Trigger, &r.Entity, &r.TicketID, &started, &finished,
			&r.Created, &r.Updated, &r.Unchanged, &r.Failed, &r.Error); err != nil {
			return nil, fmt.Errorf("postgres: sync runs: %w", err)
		}
		r.StartedAt, r.FinishedAt = started.t, finished.t
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: sync runs: %w", err)
	}
	return out, nil
}
