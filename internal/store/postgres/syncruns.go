package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/horizon/reconciler/internal/helpdesk"
	"github.com/horizon/reconciler/internal/store"
	"github.com/horizon/reconciler/internal/store/internal/record"
)

// UpdateSyncRun records a running run's counts so far.
func (s *Store) UpdateSyncRun(ctx context.Context, sc store.Scope, r store.SyncRun) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sync_runs SET finished_at = NULL, created = $1, updated = $2, unchanged = $3,
  failed = $4, error = $5, outcome = $6, skipped = $7, skips = $8, requests = $9, paused_ms = $10 WHERE account = $11 AND provider = $12 AND id = $13`,
		record.ProgressSyncRunArgs(sc, r)...)
	if err == nil {
		err = oneRow(tag, fmt.Sprintf("sync run %d", r.ID))
	}
	if err != nil {
		return fmt.Errorf("postgres: update sync run: %w", err)
	}
	return nil
}

// InterruptSyncRuns marks unfinished runs of e started before before as
// interrupted.
func (s *Store) InterruptSyncRuns(ctx context.Context, sc store.Scope, e helpdesk.Entity, before, at time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sync_runs SET finished_at = $1, outcome = $2
WHERE account = $3 AND provider = $4 AND entity = $5 AND ticket_id = '' AND finished_at IS NULL AND started_at < $6`,
		times.Bind(at), store.RunInterrupted, sc.Account, sc.Provider, string(e), times.Bind(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: interrupt sync runs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// PruneCallbacks deletes processed, rejected, failed and duplicate
// callbacks received before before.
func (s *Store) PruneCallbacks(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "callback_log", `received_at < $1 AND result <> 'accepted'`, before, limit)
}

// PruneSyncRuns deletes sync runs started before before.
func (s *Store) PruneSyncRuns(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "sync_runs", `started_at < $1`, before, limit)
}

// PruneOutbox deletes done and dead outbox items created before before.
func (s *Store) PruneOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.prune(ctx, "outbox", `created_at < $1 AND state IN ('done', 'dead')`, before, limit)
}

func (s *Store) prune(ctx context.Context, table, where string, before time.Time, limit int) (int, error) {
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+table+` WHERE id IN (SELECT id FROM `+table+` WHERE `+where+` LIMIT $2)`,
		times.Bind(before), lim)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune %s: %w", table, err)
	}
	return int(tag.RowsAffected()), nil
}
