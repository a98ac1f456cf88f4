package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/norm"
	"github.com/horizon/reconciler/internal/store/internal/query"
)

// StartSyncRun records a run as started (now when StartedAt is zero) and
// returns its ID.
func (s *Store) StartSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) (int64, error) {
	var id int64
	r.StartedAt = norm.Or(r.StartedAt, s.now)
	err := s.pool.QueryRow(ctx, `INSERT INTO sync_runs (account, provider, run_trigger, entity, ticket_id, started_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, times.StartSyncRunArgs(sc, r)...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: start sync run: %w", err)
	}
	return id, nil
}

// FinishSyncRun records a run's end (now when FinishedAt is zero), counts
// and error; store.ErrNotFound when r.ID is not a run of the scope.
func (s *Store) FinishSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	r.FinishedAt = norm.Or(r.FinishedAt, s.now)
	tag, err := s.pool.Exec(ctx, `UPDATE sync_runs SET finished_at = $1, created = $2, updated = $3, unchanged = $4,
  failed = $5, error = $6, outcome = $7, skipped = $8, skips = $9, requests = $10, paused_ms = $11 WHERE account = $12 AND provider = $13 AND id = $14`, times.FinishSyncRunArgs(sc, r)...)
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
	q, args := query.SyncRuns(dialect, sc, f)
	out, err := queryAll(ctx, s.pool, times.SyncRun, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: sync runs: %w", err)
	}
	return out, nil
}
