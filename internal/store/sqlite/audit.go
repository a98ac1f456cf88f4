package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
)

// StartSyncRun records a run as started (now when StartedAt is zero) and
// returns its ID.
func (s *Store) StartSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) (int64, error) {
	var id int64
	r.StartedAt = norm.Or(r.StartedAt, s.now)
	err := s.wst.QueryRowContext(ctx, `INSERT INTO sync_runs (account, provider, run_trigger, entity, ticket_id, started_at)
VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, times.StartSyncRunArgs(sc, r)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: start sync run: %w", err)
	}
	return id, nil
}

// FinishSyncRun records a run's end (now when FinishedAt is zero), counts
// and error; store.ErrNotFound when r.ID is not a run of the scope.
func (s *Store) FinishSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	r.FinishedAt = norm.Or(r.FinishedAt, s.now)
	res, err := s.wst.ExecContext(ctx, `UPDATE sync_runs SET finished_at = ?, created = ?, updated = ?, unchanged = ?,
  failed = ?, error = ?, outcome = ?, skipped = ?, skips = ?, requests = ?, paused_ms = ? WHERE account = ? AND provider = ? AND id = ?`, times.FinishSyncRunArgs(sc, r)...)
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
	q, args := query.SyncRuns(dialect, sc, f)
	out, err := queryAll(ctx, s.r, times.SyncRun, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sync runs: %w", err)
	}
	return out, nil
}
