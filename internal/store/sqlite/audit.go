package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
)

// where accumulates AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func scoped(sc store.Scope) *where {
	return &where{conds: []string{"account = ?", "provider = ?"}, args: scope(sc)}
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// StartSyncRun records a run as started (now when StartedAt is zero) and
// returns its ID.
func (s *Store) StartSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO sync_runs (account, provider, run_trigger, entity, ticket_id, started_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		scope(sc, r.Trigger, string(r.Entity), r.TicketID, ts(norm.Or(r.StartedAt, s.now)))...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: start sync run: %w", err)
	}
	return id, nil
}

// FinishSyncRun records a run's end (now when FinishedAt is zero), counts
// and error; store.ErrNotFound when r.ID is not a run of the scope.
func (s *Store) FinishSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sync_runs SET finished_at = ?, created = ?, updated = ?, unchanged = ?,
  failed = ?, error = ? WHERE account = ? AND provider = ? AND id = ?`,
		ts(norm.Or(r.FinishedAt, s.now)), r.Created, r.Updated, r.Unchanged, r.Failed, r.Error,
		sc.Account, sc.Provider, r.ID)
	if err == nil {
		err = oneRow(res, fmt.Sprintf("sync run %d", r.ID))
	}
	if err != nil {
		return fmt.Errorf("sqlite: finish sync run: %w", err)
	}
	return nil
}

func oneRow(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
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
	rows, err := s.r.QueryContext(ctx, `SELECT id, run_trigger, entity, ticket_id, started_at, finished_at,
  created, updated, unchanged, failed, error FROM sync_runs WHERE `+w.String()+`
ORDER BY started_at DESC, id DESC LIMIT ?`, append(w.args, norm.Limit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync runs: %w", err)
	}
	defer rows.Close()
	var out []store.SyncRun
	for rows.Next() {
		var r store.SyncRun
		var started, finished tsScan
		if err := rows.Scan(&r.ID, &r.Trigger, &r.Entity, &r.TicketID, &started, &finished,
			&r.Created, &r.Updated, &r.Unchanged, &r.Failed, &r.Error); err != nil {
			return nil, fmt.Errorf("sqlite: sync runs: %w", err)
		}
		r.StartedAt, r.FinishedAt = started.t, finished.t
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sync runs: %w", err)
	}
	return out, nil
}
